/** outputs/ -> artifacts, with the real agent and service as processes. */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import fs from 'fs';
import http from 'http';
import type { AddressInfo } from 'net';
import path from 'path';
import axios from 'axios';
import type { RunInfo } from '../../src/protocol';
import { startServerProcess } from '../service/server-process';
import { AgentProcess, agentEnv, FAST_CONFIG, outpost, serverForFile, sleep, startAgentProcess, until } from './agent-process';

const shared = serverForFile('outpost-outputs-');

function project(name: string): { dir: string; outputs: string } {
  const dir = path.join(shared.dir, name);
  const outputs = path.join(dir, 'outputs');
  fs.mkdirSync(outputs, { recursive: true });
  return { dir, outputs };
}

function agentFor(runId: string, dir: string): AgentProcess {
  return startAgentProcess(['--run', runId, '--dir', dir, '--server', shared.server.url]);
}

/** An agent whose reconciliation scan is 10 minutes away: whatever it finds, its watch found. */
function agentWithoutScans(runId: string, dir: string): AgentProcess {
  const config = JSON.parse(FAST_CONFIG) as { agent: Record<string, number> };
  config.agent.reconcileIntervalMs = 600_000;
  return startAgentProcess(['--run', runId, '--dir', dir, '--server', shared.server.url], agentEnv({ OUTPOST_CONFIG: JSON.stringify(config) }));
}

async function stop(agent: AgentProcess): Promise<void> {
  agent.child.kill('SIGTERM');
  const { code } = await agent.exited;
  expect({ code, output: agent.output() }).toMatchObject({ code: 0 });
}

async function info(runId: string): Promise<RunInfo> {
  return (await axios.get(`${shared.server.url}/api/v1/runs/${runId}`)).data as RunInfo;
}

async function download(runId: string, p: string, version?: number): Promise<Buffer> {
  const res = await axios.get(`${shared.server.url}/api/v1/runs/${runId}/artifacts/${p}`, { params: { version }, responseType: 'arraybuffer' });
  return Buffer.from(res.data);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

test('new and changed files are uploaded, files from before the run are not, deleted ones are marked deleted', async () => {
  const { dir, outputs } = project('basic');
  fs.writeFileSync(path.join(outputs, 'old.txt'), 'from an earlier run');
  const agent = agentFor('basic', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/basic/files.json')), 'agent started');
  fs.mkdirSync(path.join(outputs, 'sub'));
  fs.writeFileSync(path.join(outputs, 'sub', 'model.bin'), Buffer.alloc(100_000, 7));
  fs.writeFileSync(path.join(outputs, 'gone.txt'), 'short-lived');
  await until(async () => (await info('basic')).artifacts.length === 2, 'two uploads');
  fs.writeFileSync(path.join(outputs, 'sub', 'model.bin'), Buffer.alloc(100_000, 8));
  fs.rmSync(path.join(outputs, 'gone.txt'));
  await until(async () => (await info('basic')).deletedArtifacts.includes('outputs/gone.txt'), 'deletion recorded');
  await stop(agent);
  const run = await info('basic');
  expect(run.artifacts.map((a) => [a.path, a.versions])).toEqual([['outputs/sub/model.bin', 2]]);
  expect(sha(await download('basic', 'outputs/sub/model.bin'))).toBe(sha(Buffer.alloc(100_000, 8)));
  expect(sha(await download('basic', 'outputs/sub/model.bin', 1))).toBe(sha(Buffer.alloc(100_000, 7)));
});

test('with no reconciliation scan to fall back on, watch events alone find every change while the run goes on', async () => {
  const { dir, outputs } = project('events');
  const outside = path.join(shared.dir, 'events-outside');
  fs.mkdirSync(path.join(outside, 'moved-in', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'moved-in', 'a.txt'), 'moved in');
  fs.writeFileSync(path.join(outside, 'moved-in', 'deep', 'b.txt'), 'moved in, deeper');
  const agent = agentWithoutScans('events', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/events/files.json')), 'agent started');
  const has = async (paths: string[]) => {
    const run = await info('events');
    return paths.every((p) => run.artifacts.some((a) => a.path === p));
  };
  // Folders made and written at once: the files land before any watch on their folder exists.
  for (let i = 0; i < 20; i++) {
    fs.mkdirSync(path.join(outputs, `n${i}`, 'x', 'y'), { recursive: true });
    fs.writeFileSync(path.join(outputs, `n${i}`, 'x', 'y', 'f.txt'), `nested ${i}`);
  }
  fs.writeFileSync(path.join(outputs, 'log.txt'), 'line 1\n');
  fs.writeFileSync(path.join(outputs, 'doomed.txt'), 'to be deleted');
  const nested = Array.from({ length: 20 }, (_, i) => `outputs/n${i}/x/y/f.txt`);
  await until(() => has([...nested, 'outputs/log.txt', 'outputs/doomed.txt']), 'the new files', 20_000);
  // Appended to, replaced by rename, deleted, a folder moved in and one moved out.
  fs.appendFileSync(path.join(outputs, 'log.txt'), 'line 2\n');
  fs.writeFileSync(path.join(outputs, '.model.tmp'), 'the new model');
  fs.renameSync(path.join(outputs, '.model.tmp'), path.join(outputs, 'model.txt'));
  fs.rmSync(path.join(outputs, 'doomed.txt'));
  fs.renameSync(path.join(outside, 'moved-in'), path.join(outputs, 'moved-in'));
  fs.renameSync(path.join(outputs, 'n0'), path.join(outside, 'n0-moved-out'));
  await until(async () => {
    const run = await info('events');
    const log = run.artifacts.find((a) => a.path === 'outputs/log.txt');
    return (
      log?.sha256 === sha('line 1\nline 2\n') &&
      (await has(['outputs/model.txt', 'outputs/moved-in/a.txt', 'outputs/moved-in/deep/b.txt'])) &&
      run.deletedArtifacts.includes('outputs/doomed.txt') &&
      run.deletedArtifacts.includes('outputs/n0/x/y/f.txt')
    );
  }, 'every change seen', 20_000);
  await stop(agent);
  const run = await info('events');
  expect(sha(await download('events', 'outputs/model.txt'))).toBe(sha('the new model'));
  expect(run.artifacts.map((a) => a.path)).not.toContain('outputs/.model.tmp');
});

test('outputs/ removed and made again: the old files are marked deleted, the new ones arrive, with no scan to help', async () => {
  const { dir, outputs } = project('remade');
  const agent = agentWithoutScans('remade', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/remade/files.json')), 'agent started');
  fs.mkdirSync(path.join(outputs, 'sub'));
  fs.writeFileSync(path.join(outputs, 'sub', 'first.txt'), 'first');
  await until(async () => (await info('remade')).artifacts.length === 1, 'the first file');
  fs.rmSync(outputs, { recursive: true });
  fs.mkdirSync(path.join(outputs, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(outputs, 'sub', 'second.txt'), 'second');
  await until(async () => {
    const run = await info('remade');
    return run.deletedArtifacts.includes('outputs/sub/first.txt') && run.artifacts.some((a) => a.path === 'outputs/sub/second.txt');
  }, 'the deletion and the new file', 20_000);
  // Still watched after that: a later change is seen too.
  fs.writeFileSync(path.join(outputs, 'sub', 'second.txt'), 'second, changed');
  await until(async () => (await info('remade')).artifacts.find((a) => a.path === 'outputs/sub/second.txt')?.sha256 === sha('second, changed'), 'the change', 20_000);
  await stop(agent);
});

test('folders rotated, cleared while in use, and a file replaced by a folder: watch events alone get each right', async () => {
  const { dir, outputs } = project('rotate');
  const agent = agentWithoutScans('rotate', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/rotate/files.json')), 'agent started');
  const ck = path.join(outputs, 'ck');
  fs.mkdirSync(ck);
  fs.writeFileSync(path.join(outputs, 'x'), 'a file, to become a folder');
  // Some process works inside ck/ (a shell cd'd there): Linux then holds back ck's own removal event.
  const holder = spawn('sleep', ['60'], { cwd: ck, stdio: 'ignore' });
  try {
    fs.writeFileSync(path.join(ck, 'a.txt'), 'before the clearing');
    await until(async () => (await info('rotate')).artifacts.length === 2, 'the first files');
    fs.rmSync(ck, { recursive: true });
    fs.mkdirSync(ck);
    fs.writeFileSync(path.join(ck, 'model.bin'), 'after the clearing');
    fs.rmSync(path.join(outputs, 'x'));
    fs.mkdirSync(path.join(outputs, 'x'));
    fs.writeFileSync(path.join(outputs, 'x', 'f'), 'in the folder that replaced a file');
    // Keep-3 rotation: ck -> ck.1 -> ck.2, a fresh ck each time, then a write into each.
    for (let r = 0; r < 2; r++) {
      if (fs.existsSync(path.join(outputs, 'ck.1'))) fs.renameSync(path.join(outputs, 'ck.1'), path.join(outputs, 'ck.2'));
      fs.renameSync(ck, path.join(outputs, 'ck.1'));
      fs.mkdirSync(ck);
      await sleep(100);
    }
    for (const d of ['ck', 'ck.1', 'ck.2']) fs.writeFileSync(path.join(outputs, d, 'late.txt'), `late in ${d}`);
    const want = ['outputs/ck/late.txt', 'outputs/ck.1/late.txt', 'outputs/ck.2/late.txt', 'outputs/ck.2/model.bin', 'outputs/x/f'];
    await until(async () => {
      const run = await info('rotate');
      return (
        want.every((p) => run.artifacts.some((a) => a.path === p)) &&
        ['outputs/ck/a.txt', 'outputs/x'].every((p) => run.deletedArtifacts.includes(p))
      );
    }, 'every file in its place', 20_000);
    for (const d of ['ck', 'ck.1', 'ck.2']) expect((await download('rotate', `outputs/${d}/late.txt`)).toString()).toBe(`late in ${d}`);
  } finally {
    holder.kill();
  }
  await stop(agent);
});

test('a folder swapped for a symlink leading out, while its events wait, gets nothing outside read', async () => {
  const { dir, outputs } = project('swap');
  const secret = path.join(shared.dir, 'swap-secret');
  fs.mkdirSync(path.join(secret, 'c'), { recursive: true });
  fs.writeFileSync(path.join(secret, 'f'), 'outside outputs/');
  fs.writeFileSync(path.join(secret, 'c', 'g'), 'outside outputs/, deeper');
  const agent = agentWithoutScans('swap', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/swap/files.json')), 'agent started');
  fs.mkdirSync(path.join(outputs, 'a'));
  await sleep(300); // a/ watched
  // With the agent stopped, so that it sees the events only afterwards: a write and a folder in
  // a/, then a/ swapped for a link out.
  agent.child.kill('SIGSTOP');
  fs.writeFileSync(path.join(outputs, 'a', 'f'), 'inside');
  fs.mkdirSync(path.join(outputs, 'a', 'c'));
  fs.renameSync(path.join(outputs, 'a'), path.join(shared.dir, 'swap-moved-away'));
  fs.symlinkSync(secret, path.join(outputs, 'a'));
  agent.child.kill('SIGCONT');
  fs.writeFileSync(path.join(outputs, 'marker.txt'), 'the agent has looked by the time this is stored');
  await until(async () => (await info('swap')).artifacts.some((a) => a.path === 'outputs/marker.txt'), 'the marker');
  await sleep(500);
  await stop(agent);
  const run = await info('swap');
  // Not even a version since marked deleted: the bytes would be in the history.
  expect(run.artifacts.map((a) => a.path)).toEqual(['outputs/marker.txt']);
  expect(run.deletedArtifacts).toEqual([]);
  expect(agent.output()).toMatch(/ 1 file shipped/);
  expect(run.events.some((e) => e.kind === 'warning' && /outputs\/a .*lead(s|ing) out/.test(e.message))).toBe(true);
});

/** The inode numbers the process's inotify watches are on (Linux: /proc/PID/fdinfo). */
function watchedInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    let info = '';
    try {
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    for (const m of info.matchAll(/^inotify wd:\S+ ino:([0-9a-f]+)/gm)) inodes.add(parseInt(m[1], 16));
  }
  return inodes;
}

test('a folder made while the kernel dropped events (its queue overflowed) is watched after the next scan', async () => {
  const { dir, outputs } = project('overflow');
  const agent = agentFor('overflow', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/overflow/files.json')), 'agent started');
  fs.mkdirSync(path.join(outputs, 'hot'));
  const a = path.join(outputs, 'hot', 'a');
  const b = path.join(outputs, 'hot', 'b');
  fs.writeFileSync(a, 'a');
  fs.writeFileSync(b, 'b');
  await until(async () => (await info('overflow')).artifacts.length === 2, 'the first files');
  // With the agent stopped, twice the kernel's queue of events (alternating, so none merge),
  // then a new folder with a file: both events are lost.
  const queue = Number(fs.readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'));
  agent.child.kill('SIGSTOP');
  for (let i = 0; i < queue; i++) {
    fs.utimesSync(a, i, i);
    fs.utimesSync(b, i, i);
  }
  fs.mkdirSync(path.join(outputs, 'late'));
  fs.writeFileSync(path.join(outputs, 'late', 'x.txt'), 'made while events were dropped');
  agent.child.kill('SIGCONT');
  await until(async () => (await info('overflow')).artifacts.some((x) => x.path === 'outputs/late/x.txt'), 'the lost file, found by a scan');
  const late = fs.statSync(path.join(outputs, 'late')).ino;
  await until(() => watchedInodes(agent.child.pid!).has(late), 'a watch on late/');
  await stop(agent);
});

test('outputs/ as a link to a folder inside the project: watched through it, and followed when it is pointed elsewhere inside', async () => {
  const dir = path.join(shared.dir, 'linked');
  const [one, two] = [path.join(dir, 'data', 'one'), path.join(dir, 'data', 'two')];
  fs.mkdirSync(one, { recursive: true });
  fs.mkdirSync(two);
  fs.symlinkSync(one, path.join(dir, 'outputs'));
  const agent = agentFor('linked', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/linked/files.json')), 'agent started');
  fs.writeFileSync(path.join(one, 'f.txt'), 'in the first folder');
  await until(async () => (await info('linked')).artifacts.some((a) => a.path === 'outputs/f.txt'), 'f.txt');
  // Re-pointed (ln -sfn): what the link leads to now is outputs/.
  fs.symlinkSync(two, path.join(dir, 'outputs.new'));
  fs.renameSync(path.join(dir, 'outputs.new'), path.join(dir, 'outputs'));
  fs.writeFileSync(path.join(two, 'g.txt'), 'in the second folder');
  await until(async () => {
    const run = await info('linked');
    return run.artifacts.some((a) => a.path === 'outputs/g.txt') && run.deletedArtifacts.includes('outputs/f.txt');
  }, 'g.txt, and f.txt marked deleted');
  fs.writeFileSync(path.join(two, 'h.txt'), 'and watched there');
  await until(async () => (await info('linked')).artifacts.some((a) => a.path === 'outputs/h.txt'), 'h.txt');
  await stop(agent);
});

test('outputs/ replaced by a link out of the project (ln -s /etc outputs): nothing there is read, watched, scanned or synced at the end, and the run says why', async () => {
  const { dir, outputs } = project('link-out');
  const outside = path.join(shared.dir, 'link-out-etc');
  fs.mkdirSync(path.join(outside, 'deep'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'shadow'), 'secret');
  const agent = agentFor('link-out', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/link-out/files.json')), 'agent started');
  fs.writeFileSync(path.join(outputs, 'before.txt'), 'a file of the run');
  await until(async () => (await info('link-out')).artifacts.some((a) => a.path === 'outputs/before.txt'), 'before.txt');
  fs.rmSync(outputs, { recursive: true });
  fs.symlinkSync(outside, outputs);
  await until(async () => (await info('link-out')).events.some((e) => e.kind === 'warning' && e.path === 'outputs/'), 'the refusal recorded');
  // Written there after the swap: seen neither by a watch nor by the scans (one a second here).
  fs.writeFileSync(path.join(outside, 'deep', 'passwd'), 'more secrets');
  fs.writeFileSync(path.join(outside, 'shadow'), 'secret, changed');
  await sleep(1500);
  await stop(agent); // the final sync rescans outputs/ too
  const run = await info('link-out');
  expect(run.artifacts.map((a) => a.path)).toEqual([]);
  expect(run.deletedArtifacts).toEqual(['outputs/before.txt']);
  const refusal = run.events.find((e) => e.path === 'outputs/')!;
  expect(refusal.message).toContain(`leads to ${fs.realpathSync(outside)}, outside ${fs.realpathSync(dir)}; nothing in it is read`);
  expect(refusal.message).toContain('--outputs');
});

test('an agent started on an outputs/ that already links out of the project reads nothing there, even with uploadExisting; a link inside to .. is not followed', async () => {
  const dir = path.join(shared.dir, 'link-out-start');
  const outside = path.join(shared.dir, 'link-out-start-etc');
  fs.mkdirSync(outside, { recursive: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(outside, 'hosts'), 'outside');
  fs.symlinkSync(outside, path.join(dir, 'outputs'));
  const config = JSON.parse(FAST_CONFIG) as { agent: Record<string, unknown> };
  config.agent.uploadExisting = true;
  const agent = startAgentProcess(['--run', 'link-out-start', '--dir', dir, '--server', shared.server.url], agentEnv({ OUTPOST_CONFIG: JSON.stringify(config) }));
  await until(async () => (await info('link-out-start').catch(() => null))?.events.some((e) => e.path === 'outputs/'), 'the refusal recorded');
  await stop(agent);
  expect((await info('link-out-start')).artifacts).toEqual([]);

  // A real outputs/ now, with a link to its parent inside: the parent is not read through it.
  const { dir: dir2, outputs } = project('dotdot');
  fs.writeFileSync(path.join(dir2, 'project-file.txt'), 'outside outputs/');
  fs.symlinkSync('..', path.join(outputs, 'up'));
  fs.writeFileSync(path.join(outputs, 'own.txt'), 'inside');
  const second = startAgentProcess(['--run', 'dotdot', '--dir', dir2, '--server', shared.server.url], agentEnv({ OUTPOST_CONFIG: JSON.stringify(config) }));
  await until(async () => (await info('dotdot').catch(() => null))?.artifacts.some((a) => a.path === 'outputs/own.txt'), 'own.txt');
  await stop(second);
  expect((await info('dotdot')).artifacts.map((a) => a.path)).toEqual(['outputs/own.txt']);
});

test('files written after outputs/ goes from a link back to a real folder are uploaded, by the final sync too', async () => {
  const dir = path.join(shared.dir, 'link-back');
  const target = path.join(dir, 'data');
  fs.mkdirSync(target, { recursive: true });
  fs.symlinkSync(target, path.join(dir, 'outputs'));
  const agent = agentWithoutScans('link-back', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/link-back/files.json')), 'agent started');
  fs.writeFileSync(path.join(target, 'linked.txt'), 'through the link');
  await until(async () => (await info('link-back')).artifacts.some((a) => a.path === 'outputs/linked.txt'), 'linked.txt');
  fs.rmSync(path.join(dir, 'outputs'));
  fs.mkdirSync(path.join(dir, 'outputs'));
  fs.writeFileSync(path.join(dir, 'outputs', 'after.txt'), 'in the real folder');
  await stop(agent); // no scan ran meanwhile: the final sync finds it
  const run = await info('link-back');
  expect(run.artifacts.map((a) => a.path)).toContain('outputs/after.txt');
  expect((await download('link-back', 'outputs/after.txt')).toString()).toBe('in the real folder');
  expect(run.events.filter((e) => /leads out/.test(e.message))).toEqual([]);
});

test('a file made again while its deletion waits in line is not marked deleted after its new upload', async () => {
  const { dir, outputs } = project('redo');
  const agent = agentFor('redo', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/redo/files.json')), 'agent started');
  const names = Array.from({ length: 20 }, (_, i) => `f${i}.txt`);
  for (const n of names) fs.writeFileSync(path.join(outputs, n), `first ${n}`);
  await until(async () => (await info('redo')).artifacts.length === names.length, 'every file');
  // The service stopped: the first deletions hang in flight, the rest (f19 last) wait in line.
  shared.server.child.kill('SIGSTOP');
  try {
    for (const n of names) fs.rmSync(path.join(outputs, n));
    await sleep(300);
    fs.writeFileSync(path.join(outputs, 'f19.txt'), 'made again');
    await sleep(600); // stable, and its upload on the way
  } finally {
    shared.server.child.kill('SIGCONT');
  }
  await until(async () => {
    const run = await info('redo');
    return run.deletedArtifacts.length === names.length - 1 && run.artifacts.some((a) => a.path === 'outputs/f19.txt' && a.sha256 === sha('made again'));
  }, 'the deletions and the new f19');
  await stop(agent);
  const run = await info('redo');
  expect(run.deletedArtifacts).not.toContain('outputs/f19.txt');
  expect(run.artifacts.map((a) => a.path)).toEqual(['outputs/f19.txt']);
});

test('1,000 files created in a burst all arrive, byte for byte', async () => {
  const { dir, outputs } = project('burst');
  const agent = agentFor('burst', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/burst/files.json')), 'agent started');
  for (let i = 0; i < 1000; i++) {
    const sub = path.join(outputs, `d${i % 10}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}.txt`), `file ${i}\n`.repeat(i % 7 + 1));
  }
  await until(async () => (await info('burst')).artifacts.length === 1000, '1000 artifacts', 60_000);
  await stop(agent);
  const run = await info('burst');
  for (const a of run.artifacts) {
    const i = Number(/f(\d+)\.txt$/.exec(a.path)![1]);
    expect(a.sha256).toBe(sha(`file ${i}\n`.repeat(i % 7 + 1)));
  }
}, 90_000);

test('a file over the 512 MiB cap is refused before a byte is sent, named with its size; the others still go', async () => {
  const { dir, outputs } = project('cap');
  const agent = agentFor('cap', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/cap/files.json')), 'agent started');
  const big = path.join(outputs, 'huge.bin');
  fs.closeSync(fs.openSync(big, 'w'));
  fs.truncateSync(big, 512 * 1024 * 1024 + 1); // sparse: costs no disk
  fs.writeFileSync(path.join(outputs, 'small.txt'), 'fine');
  await until(async () => (await info('cap')).events.some((e) => e.kind === 'file-refused'), 'refusal recorded');
  await until(async () => (await info('cap')).artifacts.length === 1, 'small file uploaded');
  await stop(agent);
  const run = await info('cap');
  expect(run.artifacts.map((a) => a.path)).toEqual(['outputs/small.txt']);
  const refusal = run.events.find((e) => e.kind === 'file-refused')!;
  expect(refusal.path).toBe('outputs/huge.bin');
  expect(refusal.message).toContain('outputs/huge.bin is 536870913 bytes');
  expect(refusal.message).toContain('limits.maxFileBytes');
});

test('a symlink leading out of outputs/ is not followed; one that stays inside is', async () => {
  const { dir, outputs } = project('links');
  const secret = path.join(shared.dir, 'secret.txt');
  fs.writeFileSync(secret, 'not for upload');
  const agent = agentFor('links', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/links/files.json')), 'agent started');
  fs.writeFileSync(path.join(outputs, 'real.txt'), 'inside');
  fs.symlinkSync(secret, path.join(outputs, 'escape.txt'));
  fs.symlinkSync(path.join(outputs, 'real.txt'), path.join(outputs, 'alias.txt'));
  await until(async () => (await info('links')).events.some((e) => e.path === 'outputs/escape.txt'), 'warning recorded');
  await stop(agent);
  const run = await info('links');
  expect(run.artifacts.map((a) => a.path).sort()).toEqual(['outputs/alias.txt', 'outputs/real.txt']);
  expect(run.events.find((e) => e.path === 'outputs/escape.txt')!.message).toContain('symlink leading out of outputs/');
});

test('a file rewritten during its upload never gets a torn version stored; the final content arrives', async () => {
  const { dir, outputs } = project('torn');
  const size = 24 * 1024 * 1024;
  const file = path.join(outputs, 'weights.bin');
  const agent = agentFor('torn', dir);
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs/torn/files.json')), 'agent started');
  fs.writeFileSync(file, Buffer.alloc(size, 'A'));
  await sleep(50);
  const rewriter = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'rewriter.js'), file, String(size), '12', '180'], { stdio: 'ignore' });
  await new Promise((r) => rewriter.once('exit', r));
  await stop(agent);
  const run = await info('torn');
  const art = run.artifacts.find((a) => a.path === 'outputs/weights.bin')!;
  const allA = sha(Buffer.alloc(size, 'A'));
  const allB = sha(Buffer.alloc(size, 'B'));
  expect(art.sha256).toBe(allA);
  for (let v = 1; v <= art.versions; v++) {
    const res = await axios.head(`${shared.server.url}/api/v1/runs/torn/artifacts/outputs/weights.bin`, { params: { version: v } });
    expect([allA, allB]).toContain(res.headers['x-outpost-sha256']);
  }
}, 60_000);

test('behind a proxy that drops trailers, big files still arrive whole: the agent falls back to declaring the hash first', async () => {
  // A proxy that reads each body whole and forwards it without its trailers (the `trailer`
  // header announcing them still goes through), as proxies that buffer bodies do.
  const target = new URL(shared.server.url);
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (back) => {
        res.writeHead(back.statusCode!, back.headers);
        back.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  try {
    const { dir, outputs } = project('proxied');
    const agent = startAgentProcess(['--run', 'proxied', '--dir', dir, '--server', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`]);
    await until(() => fs.existsSync(path.join(dir, '.outpost/runs/proxied/files.json')), 'agent started');
    const first = Buffer.alloc(3 * 1024 * 1024, 'x');
    const second = Buffer.alloc(2 * 1024 * 1024 + 7, 'y');
    fs.writeFileSync(path.join(outputs, 'first.bin'), first);
    fs.writeFileSync(path.join(outputs, 'second.bin'), second);
    await until(async () => (await info('proxied')).artifacts.length === 2, 'both files stored');
    await stop(agent);
    expect((await download('proxied', 'outputs/first.bin')).equals(first)).toBe(true);
    expect((await download('proxied', 'outputs/second.bin')).equals(second)).toBe(true);
    expect(agent.output()).toMatch(/lost its sha256 trailer on the way .*big files are hashed before they are sent/);
  } finally {
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
  }
}, 60_000);

test('with HTTP_PROXY set, small and big files go through the proxy like every other request', async () => {
  const seen: string[] = [];
  // A forward proxy: absolute-form request targets, passed on as they are.
  const proxy = http.createServer((req, res) => {
    const to = new URL(req.url!);
    if (req.method === 'PUT' && to.pathname.includes('/artifacts/')) seen.push(to.pathname.split('/artifacts/')[1]);
    const out = http.request({ host: to.hostname, port: to.port, method: req.method, path: to.pathname + to.search, headers: req.headers }, (back) => {
      res.writeHead(back.statusCode!, back.headers);
      back.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  try {
    const { dir, outputs } = project('via-proxy');
    const env = { ...agentEnv(), HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
    const agent = startAgentProcess(['--run', 'via-proxy', '--dir', dir, '--server', shared.server.url], env);
    await until(() => fs.existsSync(path.join(dir, '.outpost/runs/via-proxy/files.json')), 'agent started');
    const small = Buffer.from('small file');
    const big = Buffer.alloc(2 * 1024 * 1024 + 3, 'z');
    fs.writeFileSync(path.join(outputs, 'small.txt'), small);
    fs.writeFileSync(path.join(outputs, 'big.bin'), big);
    await until(async () => (await info('via-proxy')).artifacts.length === 2, 'both files stored');
    await stop(agent);
    expect((await download('via-proxy', 'outputs/small.txt')).equals(small)).toBe(true);
    expect((await download('via-proxy', 'outputs/big.bin')).equals(big)).toBe(true);
    expect(seen.sort()).toEqual(['outputs/big.bin', 'outputs/small.txt']);
  } finally {
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
  }
}, 60_000);

test('a refused token loses no file: nothing is marked refused, and outpost sync with the right token ships it', async () => {
  const { dir, outputs } = project('token');
  const guarded = await startServerProcess({ dataDir: path.join(dir, 'guarded-data'), env: { OUTPOST_TOKEN: 'right-token-0123456789' } });
  try {
    const agent = startAgentProcess(['--run', 'tok', '--dir', dir, '--server', guarded.url], agentEnv({ OUTPOST_TOKEN: 'wrong-token-0123456789' }));
    await until(() => fs.existsSync(path.join(dir, '.outpost/runs/tok/files.json')), 'agent started');
    fs.writeFileSync(path.join(outputs, 'model.txt'), 'weights');
    await until(() => agent.output().includes('outputs/model.txt not uploaded'), 'the failed upload to be reported');
    agent.child.kill('SIGTERM');
    await agent.exited;
    expect(agent.output()).not.toContain('refused by the service');
    // The end line says why nothing went: a refusal, not an unreachable service.
    expect(agent.output()).toMatch(/but the service refused the run \(.*token.*\): 0 metric lines and 1 file are kept on disk/);
    expect(fs.readFileSync(path.join(dir, '.outpost/runs/tok/files.json'), 'utf8')).not.toContain('refused');

    const sync = outpost(['sync', '--server', guarded.url], { cwd: dir, env: agentEnv({ OUTPOST_TOKEN: 'right-token-0123456789' }) });
    expect({ status: sync.status, stderr: sync.stderr }).toMatchObject({ status: 0 });
    const res = await axios.get(`${guarded.url}/api/v1/runs/tok/artifacts/outputs/model.txt`, { headers: { authorization: 'Bearer right-token-0123456789' }, responseType: 'text' });
    expect(res.data).toBe('weights');
  } finally {
    await guarded.stop();
  }
});
