/** `outpost run` and `outpost sync` end to end, on the embedded local store. */
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import type { RunInfo } from '../../src/protocol';
import { BIN, startServerProcess, tempDir } from '../service/server-process';
import { agentEnv, outpost, sleep, until } from '../agent/agent-process';

let dir: string;

beforeEach(() => {
  dir = tempDir('outpost-run-');
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function lastRun(): RunInfo {
  const r = outpost(['history', 'last', '--json'], { cwd: dir });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as RunInfo;
}

function artifact(runId: string, p: string): string {
  const dest = path.join(dir, `download-${path.basename(p)}`);
  const r = outpost(['history', 'info', '-r', runId, '-a', p, '-o', dest], { cwd: dir });
  expect(r.status).toBe(0);
  return fs.readFileSync(dest, 'utf8');
}

/**
 * `outpost run -- python3 -c CODE` in its own process group, once the job has printed "written";
 * kill() SIGKILLs the whole group at once (outpost, its agent and the job) and waits for it.
 */
async function runUntilWritten(code: string, args: string[] = []): Promise<{ kill(): Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'run', ...args, '--', 'python3', '-c', code], { cwd: dir, env: agentEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await until(() => out.includes('written'), 'the job to write');
  return {
    async kill() {
      process.kill(-child.pid!, 'SIGKILL');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

test('a command that exits 0 gives a completed run; its stdout and stderr are the log artifact; OUTPOST_* are set', async () => {
  const code = `import os, sys
print("hello from", os.environ["OUTPOST_RUN_ID"])
print("to stderr", file=sys.stderr)
with open(os.environ["OUTPOST_METRICS_FILE"], "a") as f:
    f.write('{"name": "answer", "value": 42}\\n')
with open(os.path.join(os.environ["OUTPOST_OUTPUTS_DIR"], "note.txt"), "w") as f:
    f.write("written by the job")
assert "OUTPOST_SERVER" not in os.environ`;
  const r = outpost(['run', '--experiment', 'exp', '--name', 'first', '--', 'python3', '-c', code], { cwd: dir });
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  expect(r.stdout).toContain('hello from exp_');
  const run = lastRun();
  expect(run).toMatchObject({ experiment: 'exp', name: 'first', status: 'completed', exitCode: 0, cwd: fs.realpathSync(dir) });
  expect(run.command).toContain('python3 -c');
  expect(run.host).toBeTruthy();
  expect(run.metrics.answer).toMatchObject({ type: 'integer', count: 1, last: 42 });
  expect(artifact(run.id, 'outputs/note.txt')).toBe('written by the job');
  const log = artifact(run.id, 'logs/run.log');
  expect(log).toContain(`hello from ${run.id}`);
  expect(log).toContain('to stderr');
});

test('exit code 3 gives a failed run with exit code 3, and outpost exits 3', () => {
  const r = outpost(['run', '--', 'python3', '-c', 'import sys; print("failing"); sys.exit(3)'], { cwd: dir });
  expect(r.status).toBe(3);
  expect(lastRun()).toMatchObject({ status: 'failed', exitCode: 3 });
});

test('a command killed by a signal gives a killed run, and outpost exits 128 + the signal number', () => {
  const r = outpost(['run', '--', 'python3', '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'], { cwd: dir });
  expect(r.status).toBe(137);
  expect(lastRun()).toMatchObject({ status: 'killed', exitCode: null });
});

test('SIGTERM sent to outpost run is forwarded to the command', async () => {
  const child = spawn(process.execPath, [BIN, 'run', '--', 'python3', '-c', 'import time\nprint("ready", flush=True)\ntime.sleep(60)'], {
    cwd: dir,
    env: agentEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await until(() => out.includes('ready'), 'the command to start');
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  expect(code).toBe(143);
  expect(lastRun()).toMatchObject({ status: 'killed' });
});

test('in a git repository the commit and whether the tree is dirty are recorded', () => {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  fs.writeFileSync(path.join(dir, 'train.py'), 'print("train")\n');
  git('add', '.');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'first');
  const head = git('rev-parse', 'HEAD').stdout.trim();
  expect(outpost(['run', '--', 'python3', 'train.py'], { cwd: dir }).status).toBe(0);
  expect(lastRun()).toMatchObject({ gitCommit: head, gitDirty: false });
  fs.appendFileSync(path.join(dir, 'train.py'), '# edited\n');
  expect(outpost(['run', '--', 'python3', 'train.py'], { cwd: dir }).status).toBe(0);
  expect(lastRun()).toMatchObject({ gitCommit: head, gitDirty: true });
});

test('after outpost run is SIGKILLed, outpost sync ships what was left and marks the run killed; a second sync changes nothing', async () => {
  const code = `import os, time
with open(os.environ["OUTPOST_METRICS_FILE"], "a") as f:
    for i in range(50):
        f.write('{"name": "n", "value": %d}\\n' % i)
with open(os.path.join(os.environ["OUTPOST_OUTPUTS_DIR"], "partial.txt"), "w") as f:
    f.write("left behind")
print("written", flush=True)
time.sleep(60)`;
  const job = await runUntilWritten(code);
  await job.kill(); // before the file is stable
  await sleep(100);

  const first = outpost(['sync'], { cwd: dir });
  expect({ status: first.status, stderr: first.stderr }).toMatchObject({ status: 0 });
  const run = lastRun();
  expect(run.status).toBe('killed');
  expect(run.metrics.n).toMatchObject({ count: 50, last: 49 });
  expect(run.artifacts.map((a) => a.path)).toContain('outputs/partial.txt');

  const second = outpost(['sync'], { cwd: dir });
  expect(second.status).toBe(0);
  expect(second.stderr).toContain('up to date');
  const again = lastRun();
  expect(again).toEqual(run);
});

test('outpost sync never gives a finished run the files a later run wrote into the shared outputs/', () => {
  const write = (name: string) => `import os\nopen(os.path.join(os.environ["OUTPOST_OUTPUTS_DIR"], "${name}"), "w").write("${name}")`;
  expect(outpost(['run', '--name', 'first', '--', 'python3', '-c', write('a.txt')], { cwd: dir }).status).toBe(0);
  expect(outpost(['run', '--name', 'second', '--', 'python3', '-c', write('b.txt')], { cwd: dir }).status).toBe(0);
  const sync = outpost(['sync'], { cwd: dir });
  expect(sync.status).toBe(0);
  const runs = JSON.parse(outpost(['history', 'list', '--json'], { cwd: dir }).stdout) as { id: string; name: string }[];
  const files = (name: string) => {
    const id = runs.find((r) => r.name === name)!.id;
    const info = JSON.parse(outpost(['history', 'info', '-r', id, '--json'], { cwd: dir }).stdout) as RunInfo;
    return info.artifacts.map((a) => a.path).filter((p) => p.startsWith('outputs/'));
  };
  expect(files('first')).toEqual(['outputs/a.txt']);
  expect(files('second')).toEqual(['outputs/b.txt']);
});

test('outpost sync of a killed run does not mark deleted a file that a later run deleted', async () => {
  const code = `import os, time
open(os.path.join(os.environ["OUTPOST_OUTPUTS_DIR"], "kept.txt"), "w").write("kept")
print("written", flush=True)
time.sleep(60)`;
  const job = await runUntilWritten(code, ['--name', 'killed']);
  const runs = path.join(dir, '.outpost', 'runs');
  const uploaded = () => {
    for (const id of fs.readdirSync(runs)) {
      const state = path.join(runs, id, 'files.json');
      if (fs.existsSync(state) && fs.readFileSync(state, 'utf8').includes('"uploaded"')) return true;
    }
    return false;
  };
  await until(uploaded, 'kept.txt to be uploaded');
  await job.kill();

  const remove = `import os\nos.remove(os.path.join(os.environ["OUTPOST_OUTPUTS_DIR"], "kept.txt"))`;
  expect(outpost(['run', '--name', 'later', '--', 'python3', '-c', remove], { cwd: dir }).status).toBe(0);
  const sync = outpost(['sync'], { cwd: dir });
  expect({ status: sync.status, stderr: sync.stderr }).toMatchObject({ status: 0 });
  const list = JSON.parse(outpost(['history', 'list', '--json'], { cwd: dir }).stdout) as { id: string; name: string }[];
  const killed = list.find((r) => r.name === 'killed')!;
  const info = JSON.parse(outpost(['history', 'info', '-r', killed.id, '--json'], { cwd: dir }).stdout) as RunInfo;
  expect(info.status).toBe('killed');
  expect(info.artifacts.find((a) => a.path === 'outputs/kept.txt')).toMatchObject({ size: 4 });
  expect(info.deletedArtifacts).not.toContain('outputs/kept.txt');
});

test('outpost sync skips what in .outpost/runs is not a readable run folder, says so, and syncs the rest', () => {
  expect(outpost(['run', '--name', 'good', '--', 'python3', '-c', 'print(1)'], { cwd: dir }).status).toBe(0);
  const runs = path.join(dir, '.outpost', 'runs');
  fs.writeFileSync(path.join(runs, 'stray-file'), 'not a run');
  fs.mkdirSync(path.join(runs, 'broken'));
  fs.writeFileSync(path.join(runs, 'broken', 'run.json'), '{ not json');
  const sync = outpost(['sync'], { cwd: dir });
  expect(sync.status).toBe(1);
  expect(sync.stderr).toMatch(/run broken: cannot read .*run\.json.*; skipped/);
  expect(sync.stderr).toContain('up to date');
  expect(sync.stderr).not.toContain('stray-file');
  expect(sync.stderr).not.toMatch(/\n\s+at /); // one line, no stack
  const one = outpost(['sync', '--run', 'broken'], { cwd: dir });
  expect(one.status).toBe(1);
  expect(one.stderr).toContain('no readable run folder');
  expect(one.stderr).not.toMatch(/\n\s+at /);
});

test('with the service unreachable and a backlog over the read-ahead limit, outpost run still ends after its grace period with the command\'s code', () => {
  const code = `import os\nwith open(os.environ["OUTPOST_METRICS_FILE"], "a") as f:\n    f.write("".join('{"name": "x", "value": %d}\\n' % i for i in range(3000)))\nraise SystemExit(4)`;
  const env = agentEnv({
    OUTPOST_CONFIG: JSON.stringify({ agent: { maxBufferedLines: 500, batchMaxLines: 200, finalSyncGraceMs: 1500, retryInitialMs: 50, retryMaxMs: 200 } }),
  });
  const r = outpost(['run', '--server', 'http://127.0.0.1:1', '--', 'python3', '-c', code], { cwd: dir, env, timeout: 30_000 });
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 4, signal: null });
  expect(r.stderr).toMatch(/could not be reached: \d+ metric lines and \d+ files? are kept on disk; `outpost sync` ships them later/);
});

test('a command that cannot start gives a failed run with exit code 127, as a shell would', () => {
  const r = outpost(['run', '--', 'no-such-command-for-outpost'], { cwd: dir });
  expect(r.status).toBe(127);
  expect(r.stderr).toContain('cannot start no-such-command-for-outpost: command not found');
  expect(lastRun()).toMatchObject({ status: 'failed', exitCode: 127 });
});

test('ids and settings that cannot be right are refused up front, by name', () => {
  const agent = outpost(['agent', '--run', '../escape', '--dir', dir], { cwd: dir });
  expect([agent.status, agent.stderr]).toEqual([2, expect.stringContaining("option '--run <id>' argument '../escape' is invalid. a run id is 1 to 128 characters")]);
  const long = outpost(['history', 'info', '-r', 'a'.repeat(129)], { cwd: dir });
  expect([long.status, long.stderr]).toEqual([2, expect.stringContaining('a run id is 1 to 128 characters')]);
  const sync = outpost(['sync', '--run', '../../etc'], { cwd: dir });
  expect(sync.status).toBe(2);
  const config = outpost(['history', 'list'], { cwd: dir, env: agentEnv({ OUTPOST_CONFIG: '{"limits":{"maxFileBytes":-1}}' }) });
  expect(config.status).not.toBe(0);
  expect(config.stderr).toContain('"limits.maxFileBytes" must be a number >= 0');
  const inline = outpost(['history', 'list'], { cwd: dir, env: agentEnv({ OUTPOST_CONFIG: '{"service":{"inlineBlobBytes":1073741824}}' }) });
  expect(inline.status).not.toBe(0);
  expect(inline.stderr).toContain('"service.inlineBlobBytes" must be at most 1048576, got 1073741824');
  // A misspelt log level would make winston drop everything, errors included.
  const level = outpost(['run', '--', 'python3', '-c', 'print(1)'], { cwd: dir, env: agentEnv({ OUTPOST_LOG_LEVEL: 'verbos' }) });
  expect(level.status).toBe(0);
  expect(level.stderr).toContain('OUTPOST_LOG_LEVEL "verbos" is not one of error, warn, info, http, verbose, debug, silly; using info');
});

test('a run made while its service was down, synced later: it starts when it started, ends after, and keeps its command, folder and host; files are counted alike at the end, in the sync and in info', async () => {
  const server = await startServerProcess({ dataDir: path.join(dir, 'service-data') });
  try {
    const code = `import os\nopen(os.path.join(os.environ["OUTPOST_OUTPUTS_DIR"], "a.txt"), "w").write("a")\nopen(os.path.join(os.environ["OUTPOST_OUTPUTS_DIR"], "b.txt"), "w").write("b")\nprint("done")`;
    const env = agentEnv({ OUTPOST_CONFIG: JSON.stringify({ agent: { finalSyncGraceMs: 1000, retryInitialMs: 50, retryMaxMs: 200 } }) });
    const before = Date.now();
    const r = outpost(['run', '--server', 'http://127.0.0.1:1', '--name', 'offline', '--', 'python3', '-c', code], { cwd: dir, env });
    expect(r.status).toBe(0);
    // outputs/a.txt, outputs/b.txt and logs/run.log
    expect(r.stderr).toContain('0 metric lines and 3 files are kept on disk');
    // Each file left over is said once, and only a sync of its own says to sync again.
    expect(r.stderr.split('outputs/a.txt not uploaded before the deadline; `outpost sync` will finish it')).toHaveLength(2);
    const down = outpost(['sync', '--server', 'http://127.0.0.1:1'], { cwd: dir, env });
    expect(down.status).toBe(1);
    expect(down.stderr).not.toContain('`outpost sync` will finish it');
    expect(down.stderr).toContain('3 files are kept on disk; running `outpost sync` again once the service can be reached ships them');
    await sleep(1100); // the sync happens clearly later than the run
    const sync = outpost(['sync', '--server', server.url], { cwd: dir });
    expect({ status: sync.status, stderr: sync.stderr }).toMatchObject({ status: 0 });
    expect(sync.stderr).toContain('0 metric lines and 3 files shipped');
    const run = JSON.parse(outpost(['history', 'last', '--json', '--server', server.url], { cwd: dir }).stdout) as RunInfo;
    expect(run.artifacts).toHaveLength(3);
    expect(Date.parse(run.startTime)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(run.startTime)).toBeLessThanOrEqual(Date.parse(run.endTime!));
    expect(Date.parse(run.endTime!)).toBeLessThan(Date.now() - 1000);
    expect(run).toMatchObject({ name: 'offline', status: 'completed', cwd: fs.realpathSync(dir), host: expect.any(String), command: expect.stringContaining('python3 -c') });
  } finally {
    await server.stop();
  }
});

test('outpost sync reads nothing through an outputs/ that a killed run left linking out of the project', async () => {
  const outside = path.join(dir, '..', `${path.basename(dir)}-etc`);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'shadow'), 'secret');
  try {
    const code = `import os, time
out = os.environ["OUTPOST_OUTPUTS_DIR"]
open(os.path.join(out, "mine.txt"), "w").write("mine")
print("written", flush=True)
time.sleep(60)`;
    const job = await runUntilWritten(code);
    await job.kill();
    fs.rmSync(path.join(dir, 'outputs'), { recursive: true });
    fs.symlinkSync(outside, path.join(dir, 'outputs'));
    const sync = outpost(['sync'], { cwd: dir });
    expect(sync.status).toBe(0);
    const run = lastRun();
    expect(run.artifacts.map((a) => a.path).filter((p) => p.startsWith('outputs/'))).toEqual([]);
    expect(run.events.some((e) => e.path === 'outputs/' && /nothing in it is read/.test(e.message))).toBe(true);
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('two runs at once on one outputs/ folder: the second is warned, naming the first; --outputs gives a run a folder of its own', async () => {
  const job = (name: string) => `import os, time\nopen(os.path.join(os.environ["OUTPOST_OUTPUTS_DIR"], "${name}"), "w").write("${name}")\nprint("written", flush=True)\ntime.sleep(float(os.environ.get("HOLD", "0")))`;
  const first = spawn(process.execPath, [BIN, 'run', '--name', 'first', '--', 'python3', '-c', job('first.txt')], { cwd: dir, env: { ...agentEnv(), HOLD: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  first.stdout!.on('data', (d) => (out += d));
  await until(() => out.includes('written'), 'the first run to write');
  const firstId = fs.readdirSync(path.join(dir, '.outpost', 'runs'))[0];
  const second = outpost(['run', '--name', 'second', '--', 'python3', '-c', job('second.txt')], { cwd: dir });
  expect(second.status).toBe(0);
  expect(second.stderr).toMatch(new RegExp(`warning: run ${firstId} \\(pid \\d+\\) is running with the same outputs folder .*outpost run --outputs DIR`));
  const own = path.join(dir, 'own-outputs');
  const third = outpost(['run', '--name', 'third', '--outputs', own, '--', 'python3', '-c', `${job('third.txt')}\nassert os.environ["OUTPOST_OUTPUTS_DIR"] == ${JSON.stringify(own)}`], { cwd: dir });
  expect({ status: third.status, stderr: third.stderr }).toMatchObject({ status: 0 });
  expect(third.stderr).not.toContain('warning');
  await new Promise((r) => first.once('exit', r));
  const runs = JSON.parse(outpost(['history', 'list', '--json'], { cwd: dir }).stdout) as { id: string; name: string }[];
  const files = (name: string) => {
    const info = JSON.parse(outpost(['history', 'info', '-r', runs.find((r) => r.name === name)!.id, '--json'], { cwd: dir }).stdout) as RunInfo;
    return info.artifacts.map((a) => a.path).filter((p) => p.startsWith('outputs/'));
  };
  expect(files('third')).toEqual(['outputs/third.txt']);
  expect(fs.readFileSync(path.join(own, 'third.txt'), 'utf8')).toBe('third.txt');
});

test('outpost agent --detach returns once the agent runs, with the run\'s environment to eval; --stop ends the run and waits for its final sync', () => {
  const script = `set -e
eval "$("${process.execPath}" "${BIN}" agent --detach --experiment nightly)"
test -n "$OUTPOST_RUN_ID"
echo '{"name":"x","value":1}' >> "$OUTPOST_METRICS_FILE"
echo hello > "$OUTPOST_OUTPUTS_DIR/f.txt"
"${process.execPath}" "${BIN}" agent --stop
echo "run=$OUTPOST_RUN_ID"`;
  const r = spawnSync('bash', ['-c', script], { cwd: dir, env: agentEnv(), encoding: 'utf8', timeout: 60_000 });
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  expect(r.stderr).toMatch(/syncing run nightly_\d+_[0-9a-f]+ in the background/);
  expect(r.stderr).toMatch(/run nightly_\S+ completed in [\d.]+ s; 1 metric line and 1 file shipped/);
  const id = /run=(\S+)/.exec(r.stdout)![1];
  const run = lastRun();
  expect(run).toMatchObject({ id, experiment: 'nightly', status: 'completed' });
  expect(run.metrics.x).toMatchObject({ count: 1, last: 1 });
  expect(run.artifacts.map((a) => a.path)).toEqual(['outputs/f.txt']);
  const again = outpost(['agent', '--stop', '--run', id], { cwd: dir });
  expect(again.status).toBe(1);
  expect(again.stderr).toContain(`run ${id} has ended already`);
});

test('outpost sync warns about a spool that no run folder owns (one written with an empty run id)', () => {
  expect(outpost(['run', '--', 'python3', '-c', 'print(1)'], { cwd: dir }).status).toBe(0);
  fs.writeFileSync(path.join(dir, '.outpost', 'runs', 'metrics.jsonl'), '{"name":"lost","value":1}\n');
  const sync = outpost(['sync'], { cwd: dir });
  expect(sync.status).toBe(0);
  expect(sync.stderr).toMatch(/warning: .*\.outpost\/runs\/metrics\.jsonl is a spool that no run folder owns.*outpost agent --run NEW_ID --metrics/);
});

test('in local mode the in-process service wants a token of its own: another process on the machine is refused, the run folder holds it for its owner only', () => {
  const code = `import json, os, stat, urllib.request, urllib.error
presence_file = os.path.join(".outpost", "runs", os.environ["OUTPOST_RUN_ID"], "agent.json")
presence = json.load(open(presence_file))
print("mode", oct(stat.S_IMODE(os.stat(presence_file).st_mode)))
url = presence["server"] + "/api/v1/runs"
def status(headers):
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers)).status
    except urllib.error.HTTPError as e:
        return e.code
print("without", status({}))
print("wrong", status({"Authorization": "Bearer " + "x" * len(presence["token"])}))
print("with", status({"Authorization": "Bearer " + presence["token"]}))
req = urllib.request.Request(url.replace("/runs", "/runs/intruder"), data=b"{}", method="PUT", headers={"content-type": "application/json"})
try:
    urllib.request.urlopen(req)
    print("created")
except urllib.error.HTTPError as e:
    print("create", e.code)`;
  const r = outpost(['run', '--', 'python3', '-c', code], { cwd: dir });
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  expect(r.stdout).toContain('mode 0o600');
  expect(r.stdout).toContain('without 401');
  expect(r.stdout).toContain('wrong 401');
  expect(r.stdout).toContain('with 200');
  expect(r.stdout).toContain('create 401');
  const list = JSON.parse(outpost(['history', 'list', '--json'], { cwd: dir }).stdout) as { id: string }[];
  expect(list.map((x) => x.id)).not.toContain('intruder');
});
