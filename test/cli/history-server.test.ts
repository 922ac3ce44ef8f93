import fs from 'fs';
import path from 'path';
import { jsonRequest } from '../service/raw-http';
import { ServerProcess, startServerProcess, tempDir } from '../service/server-process';
import { LONG_POINTS, WEIGHTS, runCli, seedProject } from './cli-fixture';

describe('outpost history and assets against a server (--server / OUTPOST_SERVER)', () => {
  let dir: string;
  let server: ServerProcess;
  const cli = (...args: string[]) => runCli([...args, '--server', server.url], { cwd: dir });
  const json = async (...args: string[]) => {
    const r = await cli(...args, '--json');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    dir = tempDir('outpost-cli-server-');
    server = await startServerProcess({ dataDir: path.join(dir, 'server-data') });
    await seedProject(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('list --json is exactly the documented fields (docs/cli.md), newest first', async () => {
    const runs = await json('history', 'list');
    expect(runs.map((r: { id: string }) => r.id)).toEqual(['r-new', 'r-mid', 'r-old']);
    // params and tags were added by the run-metadata work; the first six fields are unchanged.
    expect(runs[2]).toEqual({ id: 'r-old', experiment: 'mnist', name: 'baseline', status: 'completed', startTime: '2025-01-01T10:00:00.000Z', endTime: '2025-01-01T11:02:03.000Z', params: {}, tags: {} });
    for (const r of runs) expect(Object.keys(r)).toEqual(['id', 'experiment', 'name', 'status', 'startTime', 'endTime', 'params', 'tags']);
  });

  test('list filters by experiment and status, and limits', async () => {
    const ids = (runs: { id: string }[]) => runs.map((r) => r.id);
    const [byExperiment, byStatus, limited] = await Promise.all([
      json('history', 'list', '--experiment', 'mnist'),
      json('history', 'list', '--status', 'failed'),
      json('history', 'list', '--limit', '1'),
    ]);
    expect([ids(byExperiment), ids(byStatus), ids(limited)]).toEqual([['r-mid', 'r-old'], ['r-new'], ['r-new']]);
  });

  test('list for people is an aligned table that says when runs were left out', async () => {
    const r = await cli('history', 'list', '--limit', '2');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+EXPERIMENT\s+NAME\s+STATUS\s+STARTED\s+DURATION$/);
    expect(lines[1]).toMatch(/^r-new\s+cifar\s+wide\s+failed\s+2025-01-0\d \d\d:\d\d:\d\d\s+5s$/);
    expect(lines[2]).toMatch(/^r-mid\s+mnist\s+longer\s+killed\s.*30m 00s$/);
    expect(lines[1].indexOf('cifar')).toBe(lines[0].indexOf('EXPERIMENT'));
    expect(lines[3]).toBe('(2 of 3 runs; use --limit)');
  });

  test('info --json is the run as the service returns it', async () => {
    const info = await json('history', 'info', '-r', 'r-old');
    expect(info).toEqual((await jsonRequest(server.url, 'GET', '/api/v1/runs/r-old')).json());
    expect(info).toMatchObject({ id: 'r-old', status: 'completed', exitCode: 0, rejectedLines: 1 });
    expect(info.metrics['simple integer value']).toEqual({ type: 'integer', count: 1, last: 7, lastStep: null });
    expect(info.metrics['chart data points']).toMatchObject({ type: 'list', last: [1, 3, 5, 10, 6, 4] });
    expect(info.artifacts.map((a: { path: string }) => a.path)).toEqual(['outputs/log.txt', 'outputs/model/config.json', 'outputs/model/weights.bin']);
  });

  test('info for people shows the facts, every metric, rejected lines, refused files and artifact sizes', async () => {
    const { code, stdout } = await cli('history', 'info', '-r', 'r-old');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^status\s+completed$/m);
    expect(stdout).toMatch(/^exit code\s+0$/m);
    expect(stdout).toMatch(/^duration\s+1h 02m 03s$/m);
    expect(stdout).toMatch(/^command\s+python train\.py --lr 0\.1$/m);
    expect(stdout).toMatch(/^host\s+gpu-01$/m);
    expect(stdout).toMatch(/^git\s+abc1234 \(uncommitted changes\)$/m);
    expect(stdout).toMatch(/^ {2}simple integer value\s+integer\s+1\s+-\s+7$/m);
    expect(stdout).toMatch(/^ {2}simple float value\s+float\s+1\s+10\s+3\.141592$/m);
    expect(stdout).toMatch(/^ {2}simple string value\s+string\s+1\s+-\s+this is a string metric$/m);
    expect(stdout).toMatch(/^ {2}chart data points\s+list\s+1\s+-\s+\[1, 3, 5, 10, 6, 4\]$/m);
    expect(stdout).toMatch(/^ {2}train\/loss\s+float\s+2\s+11\s+0\.125$/m);
    expect(stdout).toMatch(/^ {2}long\s+integer|float/m);
    expect(stdout).toContain('rejected lines (1)');
    expect(stdout).toMatch(/^ {2}metrics\.jsonl\s+5\s+not valid JSON/m);
    expect(stdout).toMatch(/file-refused\s+outputs\/huge\.bin\s+outputs\/huge\.bin is 600 MB/);
    expect(stdout).toContain('artifacts (3, 1.5 MiB)');
    expect(stdout).toMatch(/^ {2}outputs\/model\/weights\.bin\s+1\.5 MiB\s+1\s+[0-9a-f]{12}\s/m);
    expect(stdout).toMatch(/^ {2}outputs\/log\.txt\s+6 B\s+1\s/m);
  });

  test('last shows the newest run; --json gives the run object', async () => {
    const [last, r] = await Promise.all([json('history', 'last'), cli('history', 'last')]);
    expect(last.id).toBe('r-new');
    expect(r.stdout).toMatch(/^run\s+r-new$/m);
    expect(r.stdout).toMatch(/^exit code\s+3$/m);
  });

  test('metric --json is the whole series in spool order, paged through nextOffset', async () => {
    // A small page size on the CLI side makes it walk several pages.
    const r = await runCli(['history', 'metric', '-r', 'r-old', 'long', '--json', '--server', server.url], { cwd: dir, env: { OUTPOST_CONFIG: '{"limits":{"maxHistoryPageSize":1000}}' } });
    expect(r.code).toBe(0);
    const points = JSON.parse(r.stdout);
    expect(points).toHaveLength(LONG_POINTS);
    expect(points[0]).toEqual({ step: 0, time: 1735725700, value: 0 });
    expect(points[7]).toEqual({ step: 7, time: 1735725707, value: 3.5 });
    expect(points.map((p: { step: number }) => p.step)).toEqual(Array.from({ length: LONG_POINTS }, (_, i) => i));
    for (const p of points.slice(0, 5)) expect(Object.keys(p)).toEqual(['step', 'time', 'value']);
  });

  test('metric keeps names with slashes and spaces, and types', async () => {
    const [loss, chart] = await Promise.all([json('history', 'metric', '-r', 'r-old', 'train/loss'), json('history', 'metric', '-r', 'r-old', 'chart data points')]);
    expect(loss).toEqual([
      { step: 10, time: 1735725605, value: 0.25 },
      { step: 11, time: 1735725606, value: 0.125 },
    ]);
    expect(chart).toEqual([{ step: null, time: 1735725603, value: [1, 3, 5, 10, 6, 4] }]);
  });

  test('metric --csv quotes what needs quoting', async () => {
    const [r, list] = await Promise.all([cli('history', 'metric', '-r', 'r-old', 'note', '--csv'), cli('history', 'metric', '-r', 'r-old', 'chart data points', '--csv')]);
    expect(r.stdout).toBe('step,time,value\n11,1735725606,"has ""quotes"", commas"\n');
    expect(list.stdout).toBe('step,time,value\n,1735725603,"[1,3,5,10,6,4]"\n');
  });

  test('metric for people is a table headed by the type and count', async () => {
    const r = await cli('history', 'metric', '-r', 'r-old', 'train/loss');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('train/loss: float, 2 points');
    expect(lines[1]).toMatch(/^\s+STEP\s+TIME\s+VALUE$/);
    expect(lines[2]).toMatch(/^\s+10\s+2025-01-0\d \d\d:\d\d:\d\d\s+0\.25$/);
  });

  test('info -a downloads the artifact, verified, with the same bytes', async () => {
    const r = await cli('history', 'info', '-r', 'r-old', '-a', 'outputs/model/weights.bin');
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'weights.bin')).equals(WEIGHTS)).toBe(true);
    expect(r.stdout).toMatch(/outputs\/model\/weights\.bin \(version 1, 1\.5 MiB, sha256 [0-9a-f]{64}\) -> .*weights\.bin/);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  test('info -a -o writes to a file or into a folder; --json describes the download', async () => {
    fs.mkdirSync(path.join(dir, 'into'));
    const got = await json('history', 'info', '-r', 'r-old', '-a', 'outputs/model/config.json', '-o', 'into');
    expect(got).toMatchObject({ run: 'r-old', path: 'outputs/model/config.json', dest: path.join(dir, 'into', 'config.json'), size: 14, version: 1 });
    expect(fs.readFileSync(path.join(dir, 'into', 'config.json'), 'utf8')).toBe('{"layers": 3}\n');
    const r = await cli('history', 'info', '-r', 'r-old', '-a', 'outputs/log.txt', '-o', path.join(dir, 'renamed.txt'));
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'renamed.txt'), 'utf8')).toBe('hello\n');
  });

  test('a download to a folder that does not exist is refused clearly (exit 1)', async () => {
    const r = await cli('history', 'info', '-r', 'r-old', '-a', 'outputs/log.txt', '-o', 'no/such/dir/x.txt');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/-o no\/such\/dir\/x\.txt: folder .*no\/such\/dir does not exist/);
  });

  test('an unknown artifact or run is exit 1; a path escaping the run is exit 2', async () => {
    const [missing, run, metric, escape] = await Promise.all([
      cli('history', 'info', '-r', 'r-old', '-a', 'outputs/none.txt'),
      cli('history', 'info', '-r', 'zzz'),
      cli('history', 'metric', '-r', 'r-old', 'nothing'),
      cli('history', 'info', '-r', 'r-old', '-a', '../secret'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no artifact "outputs\/none\.txt".*OUTPOST_ERR_ARTIFACT_NOT_FOUND/);
    expect(fs.existsSync(path.join(dir, 'none.txt'))).toBe(false);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/unknown run "zzz"/);
    expect(metric.code).toBe(1);
    expect(escape.code).toBe(2);
    expect(escape.stderr).toMatch(/escapes the run/);
  });

  test('usage errors, from commander or our own checks, read the same: "outpost: <message>", then the --help hint, exit 2', async () => {
    const [option, clash, ours] = await Promise.all([
      cli('history', 'list', '--bogus'),
      cli('history', 'metric', '-r', 'r-old', 'loss', '--csv', '--json'),
      cli('history', 'info', '-r', 'r-old', '-o', path.join(dir, 'x')),
    ]);
    expect([option.code, clash.code, ours.code]).toEqual([2, 2, 2]);
    expect(option.stderr).toBe("outpost: unknown option '--bogus'\n(add --help for usage)\n");
    expect(clash.stderr).toBe("outpost: option '--csv' cannot be used with option '--json'\n(add --help for usage)\n");
    expect(ours.stderr).toBe('outpost: -o/--output needs -a/--artifact PATH\n(add --help for usage)\n');
    expect(option.stdout + clash.stdout + ours.stdout).toBe('');
  });

  test('promote -ap prints the asset and its version; promoting again makes the next version', async () => {
    const r = await cli('history', 'promote', '-r', 'r-old', '-ap', 'outputs/model', '-n', 'mnist-model');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^promoted run r-old prefix "outputs\/model" to asset mnist-model version 1 \(2 files, 1\.5 MiB\)$/m);
    expect(r.stdout).toMatch(/outputs\/model\/weights\.bin\s+1\.5 MiB/);
    const again = await json('history', 'promote', '-r', 'r-old', '--artifact-prefix', 'outputs/log.txt', '-n', 'mnist-model');
    expect(again).toMatchObject({ name: 'mnist-model', version: 2, sourceRun: 'r-old', prefix: 'outputs/log.txt', files: [{ path: 'outputs/log.txt', size: 6 }] });
  });

  test('promote refuses missing options (exit 2) and an empty prefix match or unknown run (exit 1)', async () => {
    const [noName, none, noRun] = await Promise.all([
      cli('history', 'promote', '-r', 'r-old', '-ap', 'outputs'),
      cli('history', 'promote', '-r', 'r-old', '-ap', 'nothing/here', '-n', 'x'),
      cli('history', 'promote', '-r', 'zzz', '-ap', 'outputs', '-n', 'x'),
    ]);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(/--name/);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no artifact under "nothing\/here"/);
    expect(noRun.code).toBe(1);
  });

  test('assets list and show, for people and as JSON', async () => {
    await cli('history', 'promote', '-r', 'r-old', '-ap', 'outputs', '-n', 'everything');
    const [list, table, show, human, missing] = await Promise.all([
      json('assets', 'list'),
      cli('assets', 'list'),
      json('assets', 'show', 'everything'),
      cli('assets', 'show', 'everything'),
      cli('assets', 'show', 'nothing'),
    ]);
    expect(list).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'everything', latestVersion: 1, versions: 1 })]));
    expect(table.stdout).toMatch(/^NAME\s+LATEST\s+VERSIONS\s+UPDATED$/m);
    expect(table.stdout).toMatch(/^everything\s+1\s+1\s/m);
    expect(show.name).toBe('everything');
    expect(show.versions[0].files).toHaveLength(3);
    expect(human.stdout).toMatch(/^version 1 {2}from run r-old, prefix "outputs"/m);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/unknown asset "nothing"/);
  });

  test('OUTPOST_SERVER works like --server', async () => {
    const r = await runCli(['history', 'list', '--json'], { cwd: dir, env: { OUTPOST_SERVER: server.url } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(3);
  });

  test('usage mistakes exit 2', async () => {
    const results = await Promise.all([
      cli('history', 'list', '--status', 'done'),
      cli('history', 'list', '--limit', '0'),
      cli('history', 'info'),
      cli('history', 'info', '-r', 'r-old', '-o', 'x'),
      cli('history', 'metric', '-r', 'r-old', 'long', '--csv', '--json'),
      cli('history', 'frobnicate'),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(results[3].stderr).toMatch(/-o\/--output needs -a\/--artifact/);
  });

  test('an unreachable server is exit 1 with a message naming it', async () => {
    const r = await runCli(['history', 'list', '--server', 'http://127.0.0.1:9'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the service at http:\/\/127\.0\.0\.1:9/);
  });
});
