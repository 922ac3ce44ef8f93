/** Describing, finding and tidying runs from the CLI, on the local store: the real binary, real runs. */
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import type { RunInfo } from '../../src/protocol';
import { agentEnv, outpost } from '../agent/agent-process';
import { BIN, startServerProcess, tempDir } from '../service/server-process';
import { repoRoot } from '../client/client-helpers';

let dir: string;
beforeAll(() => {
  dir = tempDir('outpost-run-meta-');
  // A small sweep: three runs of lr, each with its val_acc; the job logs its own params and tags too.
  const job = (acc: number) => `import json, os
with open(os.environ["OUTPOST_METRICS_FILE"], "a") as f:
    f.write(json.dumps({"params": {"optimizer": "adam", "model": {"depth": 4}}}) + "\\n")
    f.write(json.dumps({"tags": {"team": "vision"}}) + "\\n")
    f.write(json.dumps({"name": "val_acc", "value": ${acc}}) + "\\n")`;
  for (const [lr, acc] of [['0.01', 0.93], ['0.1', 0.81], ['0.001', 0.88]] as const) {
    const r = outpost(['run', '--experiment', 'sweep', '--name', `lr-${lr}`, '--param', `lr=${lr}`, '--tag', 'stage=dev', '--note', `lr ${lr}, **first** try`, '--', 'python3', '-c', job(acc)], { cwd: dir });
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], input?: string) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: agentEnv(), encoding: 'utf8', input, timeout: 60_000 });
const json = <T>(args: string[]): T => {
  const r = cli([...args, '--json']);
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  return JSON.parse(r.stdout) as T;
};
const idOf = (name: string) => json<{ id: string; name: string }[]>(['history', 'list']).find((r) => r.name === name)!.id;

test('outpost run --param --tag --note, and the job\'s own params and tags lines: history info shows them all', () => {
  const run = json<RunInfo>(['history', 'info', '-r', idOf('lr-0.01')]);
  expect(run).toMatchObject({ params: { lr: 0.01, optimizer: 'adam', 'model.depth': 4 }, tags: { stage: 'dev', team: 'vision' }, note: 'lr 0.01, **first** try', deleted: false });
  const human = cli(['history', 'info', '-r', run.id]).stdout;
  expect(human).toMatch(/params \(3\)\n {2}NAME +VALUE\n {2}lr +0\.01\n {2}model\.depth +4\n {2}optimizer +adam/);
  expect(human).toMatch(/tags \(2\)/);
  expect(human).toContain('note\n  lr 0.01, **first** try');
});

test('a --param or --tag the loggers would refuse is exit 2 before any run is made, naming what was wrong', () => {
  const before = json<unknown[]>(['history', 'list']).length;
  for (const [flag, value, said] of [
    ['--param', 'x=[{"a":1}]', /params\["x"\]\[0\] must be a finite number, a string or a boolean/],
    ['--tag', `${'k'.repeat(300)}=v`, /longer than/],
  ] as const) {
    const r = outpost(['run', flag, value, '--', 'true'], { cwd: dir });
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 2, stderr: expect.stringMatching(said) });
  }
  expect(json<unknown[]>(['history', 'list'])).toHaveLength(before);
});

test('history list --filter and --sort find and order runs by value; --json adds params and tags', () => {
  const list = json<{ name: string; params: Record<string, unknown>; tags: Record<string, string> }[]>(['history', 'list', '--filter', 'params.lr < 0.05 and metrics.val_acc > 0.85', '--sort', 'metrics.val_acc desc']);
  expect(list.map((r) => r.name)).toEqual(['lr-0.01', 'lr-0.001']);
  expect(list[0]).toMatchObject({ params: { lr: 0.01 }, tags: { team: 'vision' } });
  expect(Object.keys(list[0]).sort()).toEqual(['endTime', 'experiment', 'id', 'name', 'params', 'startTime', 'status', 'tags']);
  expect(json<{ name: string }[]>(['history', 'list', '--sort', 'params.lr']).map((r) => r.name)).toEqual(['lr-0.001', 'lr-0.01', 'lr-0.1']);
  expect(cli(['history', 'list', '--filter', "tags.team = 'audio'"]).stdout).toBe('no runs match\n');
});

test('a bad expression is exit 2, saying where it went wrong and what was expected there', () => {
  const r = cli(['history', 'list', '--filter', 'params.lr = 0.01 and and metrics.x > 1']);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('filter "params.lr = 0.01 and and metrics.x > 1": at character 22: expected "not", "(" or a key (params.NAME, metrics.NAME, tags.NAME or an attribute) but found "a"');
  const sort = cli(['history', 'list', '--sort', 'metrics.x sideways']);
  expect(sort.status).toBe(2);
  expect(sort.stderr).toContain('expected asc or desc');
});

test('tag, untag, rename and note (from stdin) change a run', () => {
  const id = idOf('lr-0.1');
  expect(cli(['history', 'tag', '-r', id, 'owner=ada', 'stage=prod']).stdout).toBe(`run ${id} tags: owner=ada stage=prod team=vision\n`);
  expect(cli(['history', 'untag', '-r', id, 'owner']).stdout).toBe(`run ${id} tags: stage=prod team=vision\n`);
  expect(cli(['history', 'rename', '-r', id, 'lr-0.1-final']).status).toBe(0);
  expect(cli(['history', 'note', '-r', id, '-'], '# Too fast\nlr 0.1 diverged\n').status).toBe(0);
  expect(json<RunInfo>(['history', 'info', '-r', id])).toMatchObject({ name: 'lr-0.1-final', tags: { stage: 'prod', team: 'vision' }, note: '# Too fast\nlr 0.1 diverged\n' });
  expect(cli(['history', 'note', '-r', id, '']).status).toBe(0);
  expect(json<RunInfo>(['history', 'info', '-r', id]).note).toBeNull();
  expect(cli(['history', 'tag', '-r', id, 'novalue']).status).toBe(2);
});

test('delete hides runs, --deleted lists them, restore brings one back, purge removes the rest for good', () => {
  const [a, b] = [idOf('lr-0.001'), idOf('lr-0.01')];
  expect(cli(['history', 'delete', '-r', a, '-r', b]).stdout).toBe(`run ${a} deleted\nrun ${b} deleted\n`);
  expect(json<{ id: string }[]>(['history', 'list']).map((r) => r.id)).not.toContain(a);
  expect(json<{ id: string }[]>(['history', 'list', '--deleted']).map((r) => r.id).sort()).toEqual([a, b].sort());
  expect(cli(['history', 'info', '-r', a]).stdout).toMatch(/deleted +\d{4}-.*outpost history restore -r/);
  expect(cli(['history', 'restore', '-r', b]).stdout).toBe(`run ${b} restored\n`);
  // Not at a terminal and without --yes: it says what would go, and removes nothing.
  const ask = cli(['history', 'purge']);
  expect(ask.status).toBe(2);
  expect(ask.stdout).toContain(`would remove for good: 1 run (${a})`);
  expect(cli(['history', 'purge', '--older-than', '7d', '--yes']).stdout).toBe('no deleted runs to purge\n');
  const done = cli(['history', 'purge', '--yes']);
  expect(done.stdout).toMatch(new RegExp(`^removed for good: 1 run \\(${a}\\) and \\d+ files? `));
  expect(cli(['history', 'info', '-r', a]).status).toBe(1);
  expect(json<{ id: string }[]>(['history', 'list']).map((r) => r.id)).toContain(b);
});

test('the TypeScript logger: logParams flattens and keeps the first value, setTags sets and removes', () => {
  const script = path.join(dir, 'meta.js');
  fs.writeFileSync(
    script,
    `const { getLogger } = require(${JSON.stringify(repoRoot)});
const logger = getLogger();
logger.logParams({ lr: 0.3, model: { depth: 2 } });
logger.logParams({ lr: 0.4 });
logger.setTags({ team: 'nlp', gone: 'x' });
logger.setTags({ gone: null, epoch: 3 });
try { logger.logParams({ bad: null }); } catch (e) { console.log(e.code); }
logger.wait().then(() => console.log('waited'));`,
  );
  const r = outpost(['run', '--name', 'ts-meta', '--', process.execPath, script], { cwd: dir });
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  expect(r.stdout).toBe('OUTPOST_ERR_BAD_LINE\nwaited\n');
  const run = json<RunInfo>(['history', 'info', '-r', idOf('ts-meta')]);
  expect(run).toMatchObject({ params: { lr: 0.3, 'model.depth': 2 }, tags: { team: 'nlp', epoch: '3' }, rejectedLines: 1 });
  expect(run.rejected[0].reason).toBe('param "lr" is 0.3 already; this line says 0.4: a param keeps its first value');
});

test('the same against outpost server: run --param, list --filter and --sort, tag, delete and restore over HTTP with a token', async () => {
  const token = 'meta-token-0123456789';
  const server = await startServerProcess({ dataDir: path.join(dir, 'server-data'), env: { OUTPOST_TOKEN: token } });
  try {
    const env = agentEnv({ OUTPOST_SERVER: server.url, OUTPOST_TOKEN: token });
    const at = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    for (const lr of ['0.2', '0.02']) {
      const r = at(['run', '--experiment', 'remote', '--name', `remote-${lr}`, '--param', `lr=${lr}`, '--', 'python3', '-c', `import json, os; open(os.environ["OUTPOST_METRICS_FILE"], "a").write(json.dumps({"name": "val_acc", "value": ${lr} * 4}) + "\\n")`]);
      expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
    }
    const list = (args: string[]) => JSON.parse(at(['history', 'list', '--json', ...args]).stdout) as { id: string; name: string }[];
    expect(list(['--filter', 'params.lr < 0.1']).map((r) => r.name)).toEqual(['remote-0.02']);
    expect(list(['--sort', 'metrics.val_acc desc']).map((r) => r.name)).toEqual(['remote-0.2', 'remote-0.02']);
    const [first] = list(['--filter', "name = 'remote-0.2'"]);
    expect(at(['history', 'tag', '-r', first.id, 'stage=prod']).stdout).toBe(`run ${first.id} tags: stage=prod\n`);
    expect(list(['--filter', "tags.stage = 'prod'"]).map((r) => r.id)).toEqual([first.id]);
    expect(at(['history', 'delete', '-r', first.id]).status).toBe(0);
    expect(list([]).map((r) => r.name)).toEqual(['remote-0.02']);
    expect(at(['history', 'restore', '-r', first.id]).status).toBe(0);
    expect(list([]).map((r) => r.name).sort()).toEqual(['remote-0.02', 'remote-0.2']);
    // The local store of the folder was not touched by any of it.
    expect(json<{ name: string }[]>(['history', 'list', '--filter', "experiment = 'remote'"])).toEqual([]);
  } finally {
    await server.stop();
  }
});
