/**
 * What a training script already writes, read as metrics with the real agent and service as
 * processes: TensorBoard event files, CSV logs (appended, and rewritten whole), trainer states,
 * hparams.yaml. Each record exactly once, also across SIGKILLs of the agent.
 */
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import { encodeEvent } from '../../src/agent/sources/tfevents/event-decoder';
import { frameRecord } from '../../src/agent/sources/tfevents/record-framing';
import type { RunInfo } from '../../src/protocol';
import { AgentProcess, agentEnv, FAST_CONFIG, serverForFile, sleep, startAgentProcess, until } from './agent-process';

const shared = serverForFile('outpost-sources-');

function project(name: string): { dir: string; outputs: string } {
  const dir = path.join(shared.dir, name);
  const outputs = path.join(dir, 'outputs');
  fs.mkdirSync(outputs, { recursive: true });
  return { dir, outputs };
}

function agentFor(runId: string, dir: string, agentSettings: Record<string, unknown> = {}): AgentProcess {
  const config = JSON.parse(FAST_CONFIG) as { agent: Record<string, unknown> };
  Object.assign(config.agent, agentSettings);
  return startAgentProcess(['--run', runId, '--dir', dir, '--server', shared.server.url], agentEnv({ OUTPOST_CONFIG: JSON.stringify(config) }));
}

async function started(dir: string, runId: string): Promise<void> {
  await until(() => fs.existsSync(path.join(dir, '.outpost/runs', runId, 'files.json')), 'agent started');
}

async function stop(agent: AgentProcess): Promise<void> {
  agent.child.kill('SIGTERM');
  const { code } = await agent.exited;
  expect({ code, output: agent.output() }).toMatchObject({ code: 0 });
}

async function info(runId: string): Promise<RunInfo> {
  return (await axios.get(`${shared.server.url}/api/v1/runs/${runId}`)).data as RunInfo;
}

async function series(runId: string, name: string): Promise<{ step: number | null; value: unknown; time: number }[]> {
  const res = await axios.get(`${shared.server.url}/api/v1/runs/${runId}/metrics/${encodeURIComponent(name)}`, { params: { limit: 100_000 }, validateStatus: (s) => s === 200 || s === 404 });
  return res.status === 404 ? [] : (res.data.points as { step: number | null; value: unknown; time: number }[]);
}

const event = (tag: string, value: number, step: number, wall = 1_700_000_000 + step) => frameRecord(encodeEvent({ wall_time: wall, step, summary: { value: [{ tag, simple_value: value }] } }));

test('a TensorBoard event file written live: each scalar with its step and wall time, a torn record waits for its end, NaN is a rejected line naming the tag, text is a string metric', async () => {
  const { dir, outputs } = project('tb');
  const agent = agentFor('tb', dir);
  await started(dir, 'tb');
  const file = path.join(outputs, 'runs', 'exp', 'events.out.tfevents.1700000000.host.1.0');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const head = frameRecord(encodeEvent({ wall_time: 1_700_000_000, step: 0, file_version: 'brain.Event:2' }));
  const e1 = event('loss', 0.5, 1);
  const e2 = event('loss', 0.25, 2);
  fs.writeFileSync(file, Buffer.concat([head, e1, e2.subarray(0, 10)]));
  await until(async () => (await series('tb', 'loss')).length === 1, 'the first scalar');
  await sleep(300);
  expect(await series('tb', 'loss')).toHaveLength(1); // the torn one waits
  const text = frameRecord(encodeEvent({ wall_time: 1_700_000_003, step: 3, summary: { value: [{ tag: 'note', tensor: { dtype: 7, tensor_shape: { dim: [{ size: 1 }] }, string_val: [Buffer.from('epoch done')] } }] } }));
  fs.appendFileSync(file, Buffer.concat([e2.subarray(10), event('loss', NaN, 3), text, event('loss', 0.125, 4)]));
  await until(async () => (await series('tb', 'loss')).length === 3, 'the rest');
  await stop(agent);
  expect((await series('tb', 'loss')).map((p) => [p.step, p.value, p.time])).toEqual([
    [1, 0.5, 1_700_000_001],
    [2, 0.25, 1_700_000_002],
    [4, 0.125, 1_700_000_004],
  ]);
  expect((await series('tb', 'note')).map((p) => [p.step, p.value])).toEqual([[3, 'epoch done']]);
  const run = await info('tb');
  expect(run.rejected).toEqual([expect.objectContaining({ file: 'outputs/runs/exp/events.out.tfevents.1700000000.host.1.0', reason: expect.stringMatching(/^"loss" at step 3 is NaN/) })]);
  // The file is still an artifact too.
  expect(run.artifacts.map((a) => a.path)).toContain('outputs/runs/exp/events.out.tfevents.1700000000.host.1.0');
});

test("Lightning's CSVLogger rewriting metrics.csv whole when a column appears, and Keras' CSVLogger appending: every row once, none lost", async () => {
  const { dir, outputs } = project('csv');
  const agent = agentFor('csv', dir);
  await started(dir, 'csv');
  const lightning = path.join(outputs, 'csv_logs', 'version_0', 'metrics.csv');
  fs.mkdirSync(path.dirname(lightning), { recursive: true });
  fs.writeFileSync(lightning, 'epoch,step,train_loss\r\n0,9,0.9\r\n0,19,0.8\r\n');
  const keras = path.join(outputs, 'training.log');
  fs.writeFileSync(keras, 'epoch,accuracy,loss\n0,0.5,1.5\n');
  await until(async () => (await series('csv', 'train_loss')).length === 2 && (await series('csv', 'loss')).length === 1, 'the first rows');
  // A new column: the whole file again, wider, with the old rows; then an appended row, and a torn one.
  const tmp = 'epoch,step,train_loss,val_acc\r\n0,9,0.9,\r\n0,19,0.8,\r\n0,19,,0.6\r\n';
  fs.writeFileSync(lightning, tmp.slice(0, 25)); // caught mid-rewrite: fewer rows than shipped
  await sleep(200);
  fs.writeFileSync(lightning, tmp);
  fs.appendFileSync(lightning, '1,29,0.7,\r\n1,39,0.');
  fs.appendFileSync(keras, '1,0.75,1.25\n2,0.');
  await until(async () => (await series('csv', 'val_acc')).length === 1 && (await series('csv', 'loss')).length === 2, 'the new rows');
  fs.appendFileSync(lightning, '6,\r\n');
  fs.appendFileSync(keras, '8,1.0\n');
  await until(async () => (await series('csv', 'train_loss')).length === 4 && (await series('csv', 'loss')).length === 3, 'the last rows');
  await stop(agent);
  expect((await series('csv', 'train_loss')).map((p) => [p.step, p.value])).toEqual([
    [9, 0.9],
    [19, 0.8],
    [29, 0.7],
    [39, 0.6],
  ]);
  expect((await series('csv', 'val_acc')).map((p) => [p.step, p.value])).toEqual([[19, 0.6]]);
  expect((await series('csv', 'epoch')).map((p) => p.value)).toEqual([0, 0, 0, 1, 1]);
  // Keras' epoch column is the step.
  expect((await series('csv', 'loss')).map((p) => [p.step, p.value])).toEqual([
    [0, 1.5],
    [1, 1.25],
    [2, 1],
  ]);
  expect((await series('csv', 'accuracy')).map((p) => [p.step, p.value])).toEqual([
    [0, 0.5],
    [1, 0.75],
    [2, 0.8],
  ]);
});

test('trainer_state.json copies in checkpoint folders, and one rewritten whole: each log_history entry once, whichever copy holds it; hparams.yaml becomes params, a changed value a rejected line', async () => {
  const { dir, outputs } = project('hf');
  const agent = agentFor('hf', dir);
  await started(dir, 'hf');
  const entries = [
    { epoch: 0.5, learning_rate: 0.001, loss: 2.5, step: 10 },
    { epoch: 1, eval_loss: NaN, step: 20 },
    { epoch: 1.5, learning_rate: 0.0005, loss: 1.5, step: 30 },
    { epoch: 2, learning_rate: 0.0001, loss: 1.25, step: 40 },
  ];
  const state = (n: number) => JSON.stringify({ global_step: entries[n - 1].step, log_history: entries.slice(0, n) }, null, 2).replace('null', 'NaN');
  for (const n of [1, 2]) {
    fs.mkdirSync(path.join(outputs, 'out', `checkpoint-${n * 10}`), { recursive: true });
    fs.writeFileSync(path.join(outputs, 'out', `checkpoint-${n * 10}`, 'trainer_state.json'), state(n));
  }
  const hparams = path.join(outputs, 'lightning_logs', 'version_0', 'hparams.yaml');
  fs.mkdirSync(path.dirname(hparams), { recursive: true });
  fs.writeFileSync(hparams, 'lr: 0.01\nmodel:\n  depth: 4\n  layers: [64, 32]\nckpt_path: null\nname: mnist\n');
  await until(async () => (await series('hf', 'loss')).length === 1 && Object.keys((await info('hf')).params).length > 0, 'the first entries and params');
  fs.writeFileSync(path.join(outputs, 'out', 'trainer_state.json'), state(3));
  fs.writeFileSync(path.join(outputs, 'out', 'checkpoint-10', 'trainer_state.json'), state(1)); // an old copy, touched
  fs.writeFileSync(hparams, 'lr: 0.02\n');
  await until(async () => (await series('hf', 'loss')).length === 2 && (await info('hf')).rejectedLines === 1, 'the third entry');
  // The same file rewritten whole (save_state again), with one entry more.
  fs.writeFileSync(path.join(outputs, 'out', 'trainer_state.json'), state(4));
  await until(async () => (await series('hf', 'loss')).length === 3, 'the last entry');
  await stop(agent);
  expect((await series('hf', 'loss')).map((p) => [p.step, p.value])).toEqual([
    [10, 2.5],
    [30, 1.5],
    [40, 1.25],
  ]);
  expect((await series('hf', 'epoch')).map((p) => p.value)).toEqual([0.5, 1, 1.5, 2]);
  expect(await series('hf', 'eval_loss')).toEqual([]);
  const run = await info('hf');
  expect(run.params).toEqual({ lr: 0.01, 'model.depth': 4, 'model.layers': [64, 32], ckpt_path: 'null', name: 'mnist' });
  expect(run.rejected).toEqual([expect.objectContaining({ file: 'outputs/lightning_logs/version_0/hparams.yaml', reason: 'param "lr" is 0.01 already; this line says 0.02: a param keeps its first value' })]);
});

test('TensorBoard and CSV both writing val/acc (Lightning with both loggers): two series, never one mixed, and a warning on the run', async () => {
  const { dir, outputs } = project('both');
  const agent = agentFor('both', dir);
  await started(dir, 'both');
  const tb = path.join(outputs, 'lightning_logs', 'version_0', 'events.out.tfevents.1.h.1.0');
  fs.mkdirSync(path.dirname(tb), { recursive: true });
  fs.writeFileSync(tb, Buffer.concat([event('val/acc', 0.5, 1), event('val/acc', 0.75, 2)]));
  await until(async () => (await series('both', 'val/acc')).length === 2, 'the TensorBoard values');
  const csv = path.join(outputs, 'csv_logs', 'version_0', 'metrics.csv');
  fs.mkdirSync(path.dirname(csv), { recursive: true });
  fs.writeFileSync(csv, 'epoch,step,val/acc\n0,1,0.5\n1,2,0.75\n');
  const own = 'val/acc (csv outputs/csv_logs/version_0/metrics.csv)';
  await until(async () => (await series('both', own)).length === 2, 'the CSV values');
  await stop(agent);
  expect((await series('both', 'val/acc')).map((p) => [p.step, p.value])).toEqual([
    [1, 0.5],
    [2, 0.75],
  ]);
  const run = await info('both');
  expect(run.events.filter((e) => e.kind === 'warning').map((e) => e.message)).toEqual([
    `metric "val/acc" is written by "tensorboard outputs/lightning_logs/version_0" and by "csv outputs/csv_logs/version_0/metrics.csv": the latter's values are stored as "${own}"`,
  ]);
});

test('a source turned off is not read (its files are still uploaded), and an event file from before the run is not read either', async () => {
  const { dir, outputs } = project('off');
  fs.writeFileSync(path.join(outputs, 'events.out.tfevents.old'), event('old', 1, 1));
  const agent = agentFor('off', dir, { csvFiles: '' });
  await started(dir, 'off');
  fs.writeFileSync(path.join(outputs, 'metrics.csv'), 'epoch,loss\n0,1\n');
  fs.writeFileSync(path.join(outputs, 'events.out.tfevents.new'), event('new', 2, 1));
  await until(async () => (await series('off', 'new')).length === 1 && (await info('off')).artifacts.length === 2, 'the new file');
  await stop(agent);
  const run = await info('off');
  expect(Object.keys(run.metrics)).toEqual(['new']);
  expect(run.artifacts.map((a) => a.path).sort()).toEqual(['outputs/events.out.tfevents.new', 'outputs/metrics.csv']);
});

test('a file its reader cannot take (a malformed CSV row, an hparams.yaml that refers to itself) is said once, and the other files and sources go on', async () => {
  const { dir, outputs } = project('bad-file');
  const agent = agentFor('bad-file', dir);
  await started(dir, 'bad-file');
  fs.writeFileSync(path.join(outputs, 'metrics.csv'), 'epoch,loss\n0,1\n');
  await until(async () => (await series('bad-file', 'loss')).length === 1, 'the first row');
  fs.appendFileSync(path.join(outputs, 'metrics.csv'), '1,"x"y\n');
  fs.writeFileSync(path.join(outputs, 'hparams.yaml'), 'a: &x {b: *x}\n');
  await sleep(500);
  fs.writeFileSync(path.join(outputs, 'events.out.tfevents.1'), Buffer.concat([event('acc', 0.5, 1), event('acc', 0.75, 2)]));
  await until(async () => (await series('bad-file', 'acc')).length === 2, 'the event file read after the bad ones');
  await stop(agent);
  const run = await info('bad-file');
  expect((await series('bad-file', 'acc')).map((p) => p.value)).toEqual([0.5, 0.75]);
  const said = run.events.filter((e) => e.kind === 'warning' && /could not be read as metrics/.test(e.message));
  expect(said.map((e) => e.path).sort()).toEqual(['outputs/hparams.yaml', 'outputs/metrics.csv']);
});

test('an agent restarted over a sources.json it cannot read says so and reads every file from its start, nothing stored twice', async () => {
  const { dir, outputs } = project('bad-checkpoint');
  let agent = agentFor('bad-checkpoint', dir);
  await started(dir, 'bad-checkpoint');
  fs.writeFileSync(path.join(outputs, 'events.out.tfevents.1'), Buffer.concat([event('acc', 0.5, 1), event('acc', 0.75, 2)]));
  const checkpoint = path.join(dir, '.outpost/runs/bad-checkpoint/sources.json');
  await until(async () => (await series('bad-checkpoint', 'acc')).length === 2 && fs.existsSync(checkpoint), 'the first scalars');
  agent.child.kill('SIGKILL');
  await agent.exited;
  fs.writeFileSync(checkpoint, '{"version": 1, "positions": ');
  agent = agentFor('bad-checkpoint', dir);
  await started(dir, 'bad-checkpoint');
  fs.appendFileSync(path.join(outputs, 'events.out.tfevents.1'), event('acc', 0.25, 3));
  await until(async () => (await series('bad-checkpoint', 'acc')).length >= 3, 'the scalar written after the restart');
  await stop(agent);
  expect((await series('bad-checkpoint', 'acc')).map((p) => p.value)).toEqual([0.5, 0.75, 0.25]);
  const said = (await info('bad-checkpoint')).events.filter((e) => e.kind === 'warning' && /sources\.json cannot be read/.test(e.message));
  expect(said).toHaveLength(1);
});

/**
 * Runs the fixture `writer` (args) while agents for `runId` are started and SIGKILLed 8 times,
 * then lets a last agent ship the rest of what `stored()` counts up to `n`, and stops it.
 */
async function underKills(runId: string, dir: string, writer: string[], stored: () => Promise<number>, n: number): Promise<void> {
  const first = agentFor(runId, dir);
  await started(dir, runId);
  first.child.kill('SIGKILL');
  await first.exited;
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', writer[0]), ...writer.slice(1)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const writerDone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let finished = false;
  void writerDone.then(() => (finished = true));
  for (let kills = 0; kills < 8; kills++) {
    const agent = agentFor(runId, dir);
    // Every third agent first ships something, however slowly a loaded machine starts Node: the
    // later ones must resume from a checkpoint, not just from the start.
    const shipped = await stored();
    if (kills % 3 === 2) await until(async () => (await stored()) > shipped || (finished && shipped >= n), 'this agent to ship something', 20_000);
    await sleep(300 + Math.random() * 700);
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
  await writerDone;
  expect(finished).toBe(true);
  expect(await stored()).toBeGreaterThan(0);
  const last = agentFor(runId, dir);
  // Once it is up (agent.json written); a SIGTERM before Node has even loaded the CLI is a plain kill.
  const presence = path.join(dir, '.outpost/runs', runId, 'agent.json');
  await until(() => fs.existsSync(presence) && JSON.parse(fs.readFileSync(presence, 'utf8')).pid === last.child.pid, 'the last agent to start');
  await until(async () => (await stored()) >= n, 'everything', 60_000);
  await stop(last);
}

test('an event file written live while the agent is SIGKILLed and restarted 8 times: every scalar stored once, in order', async () => {
  const { dir, outputs } = project('kill');
  const N = 20_000;
  const file = path.join(outputs, 'tb', 'events.out.tfevents.1.h.1.0');
  await underKills('kill', dir, ['tfevents-writer.js', file, String(N), '2500'], async () => (await series('kill', 'x')).length, N);
  const values = (await series('kill', 'x')).map((p) => p.value);
  expect(values.length).toBe(N);
  expect(values.findIndex((v, i) => v !== i)).toBe(-1);
}, 90_000);

test('a CSV log rewritten whole under a wider header again and again (Lightning) while the agent is SIGKILLed and restarted 8 times: every row stored once, in order', async () => {
  const { dir, outputs } = project('kill-csv');
  const N = 3_000;
  const EVERY = 150;
  const file = path.join(outputs, 'csv_logs', 'version_0', 'metrics.csv');
  await underKills('kill-csv', dir, ['csv-rewriter.js', file, String(N), '600', String(EVERY)], async () => (await series('kill-csv', 'x')).length, N);
  const points = await series('kill-csv', 'x');
  expect(points.length).toBe(N);
  expect(points.findIndex((p, i) => p.value !== i || p.step !== i)).toBe(-1);
  // Each new column's one value, once.
  const run = await info('kill-csv');
  const columns = Object.keys(run.metrics).filter((m) => /^m\d+$/.test(m));
  expect(columns).toHaveLength(N / EVERY - 1);
  for (const m of columns) expect((await series('kill-csv', m)).map((p) => p.value)).toEqual([Number(m.slice(1)) * EVERY]);
  expect(run.rejectedLines).toBe(0);
  // Never read as another file: no "no longer holds the rows already shipped".
  expect(run.events.filter((e) => e.kind === 'warning')).toEqual([]);
}, 90_000);
