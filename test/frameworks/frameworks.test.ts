/**
 * Real frameworks, unmodified, under `outpost run`: PyTorch's SummaryWriter, Lightning with
 * TensorBoardLogger and CSVLogger, Keras' CSVLogger. Every scalar they wrote arrives with its
 * step and value, checked against TensorBoard's own reader (EventAccumulator) and Python's csv
 * module; with the agent SIGKILLed and restarted mid-run, nothing is lost or doubled.
 */
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import axios from 'axios';
import type { RunInfo, RunSummary } from '../../src/protocol';
import { agentEnv, outpost, serverForFile, sleep, startAgentProcess, until } from '../agent/agent-process';
import { describeWithFrameworks, Oracle, readOracle } from './framework-venv';

const shared = serverForFile('outpost-frameworks-');
const SCRIPTS = path.join(__dirname, 'scripts');

type Point = { step: number | null; value: unknown; time: number };

async function series(runId: string, name: string): Promise<Point[] | null> {
  const res = await axios.get(`${shared.server.url}/api/v1/runs/${runId}/metrics/${encodeURIComponent(name)}`, { params: { limit: 100_000 }, validateStatus: (s) => s === 200 || s === 404 });
  return res.status === 404 ? null : (res.data.points as Point[]);
}

async function info(runId: string): Promise<RunInfo> {
  return (await axios.get(`${shared.server.url}/api/v1/runs/${runId}`)).data as RunInfo;
}

function project(name: string): string {
  const dir = path.join(shared.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const env = (extra: NodeJS.ProcessEnv = {}) => agentEnv({ KERAS_BACKEND: 'torch', PYTHONUNBUFFERED: '1', TF_CPP_MIN_LOG_LEVEL: '3', ...extra });

/** Runs `script` with the virtualenv's python under `outpost run`; returns the run's id. */
function runUnderOutpost(python: string, dir: string, script: string, experiment: string): string {
  const r = outpost(['run', '--experiment', experiment, '--server', shared.server.url, '--dir', dir, '--', python, path.join(SCRIPTS, script)], { cwd: dir, env: env(), timeout: 240_000 });
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  expect(r.stdout).toContain('done');
  return /run (\S+) started/.exec(r.stderr)![1];
}

/** The stored series of a source's `name`: its own series when another source has the name, else the plain one. */
async function seriesOf(runId: string, name: string, source: string): Promise<Point[]> {
  return (await series(runId, `${name} (${source})`)) ?? (await series(runId, name)) ?? [];
}

/** Every scalar of every event file, as EventAccumulator reads it, is stored with the same step, value and time. */
async function expectEventsStored(runId: string, oracle: Oracle): Promise<number> {
  let checked = 0;
  for (const [file, tags] of Object.entries(oracle.events)) {
    const dir = path.posix.dirname(file);
    const source = `tensorboard outputs/${dir === '.' ? '' : dir}`.replace(/\/$/, '');
    for (const [tag, points] of Object.entries(tags)) {
      const stored = await seriesOf(runId, tag, source);
      expect([file, tag, stored.length]).toEqual([file, tag, points.length]);
      for (let i = 0; i < points.length; i++) {
        const [step, value, wallTime] = points[i];
        const got = stored[i];
        // Bit for bit: a float32 is stored as the value it is, as EventAccumulator returns it.
        if (got.value !== value || got.step !== step || got.time !== wallTime) throw new Error(`${file} ${tag}[${i}]: stored ${JSON.stringify(got)}, TensorBoard reads ${JSON.stringify(points[i])}`);
        checked++;
      }
    }
  }
  return checked;
}

/** Every non-empty cell of every CSV log, as Python's csv module reads it, is stored in its column's series, with the row's step. */
async function expectCsvStored(runId: string, oracle: Oracle, stepColumn: string): Promise<number> {
  let checked = 0;
  for (const [file, { header, rows }] of Object.entries(oracle.csv)) {
    const s = header.indexOf(stepColumn);
    for (let c = 0; c < header.length; c++) {
      if (c === s) continue;
      const want = rows.filter((r) => (r[c] ?? '') !== '').map((r) => [Number(r[s]), Number(r[c])]);
      const stored = (await seriesOf(runId, header[c], `csv outputs/${file}`)).map((p) => [p.step, p.value]);
      expect([file, header[c], stored]).toEqual([file, header[c], want]);
      checked += want.length;
    }
  }
  return checked;
}

describeWithFrameworks('real frameworks', (python) => {
  test("PyTorch's SummaryWriter: every scalar, new_style tensor and text as TensorBoard reads them; add_scalars' folders each a series; histograms are no metrics", async () => {
    const dir = project('pytorch');
    const runId = runUnderOutpost(python, dir, 'pytorch_summarywriter.py', 'pytorch');
    const oracle = readOracle(python, path.join(dir, 'outputs'));
    expect(Object.keys(oracle.events)).toHaveLength(3); // runs/exp, and add_scalars' acc_train and acc_val
    const checked = await expectEventsStored(runId, oracle);
    expect(checked).toBeGreaterThanOrEqual(300 * 2 + 12 * 3);
    const run = await info(runId);
    expect(run.metrics.weights).toBeUndefined();
    expect(run.metrics['note/text_summary']).toMatchObject({ type: 'string', count: 12, last: 'step 275: ok' });
    expect(run.rejectedLines).toBe(0);
  }, 240_000);

  test('Lightning with TensorBoardLogger and CSVLogger: both files stored in full, val/acc twice as two series (with a warning), hparams.yaml as params', async () => {
    const dir = project('lightning');
    const runId = runUnderOutpost(python, dir, 'lightning_two_loggers.py', 'lightning');
    const oracle = readOracle(python, path.join(dir, 'outputs'));
    expect(await expectEventsStored(runId, oracle)).toBeGreaterThan(4 * 16);
    expect(await expectCsvStored(runId, oracle, 'step')).toBeGreaterThan(4 * 16);
    const run = await info(runId);
    expect(run.params).toMatchObject({ lr: 0.05, hidden: 8, optimizer: 'sgd' });
    const csv = 'csv outputs/csv_logs/version_0/metrics.csv';
    expect(run.metrics[`val/acc (${csv})`]).toMatchObject({ count: 4 });
    expect(run.events.map((e) => e.message)).toContain(
      `metric "val/acc" is written by "tensorboard outputs/lightning_logs/version_0" and by "${csv}": the latter's values are stored as "val/acc (${csv})"`,
    );
    expect(run.rejectedLines).toBe(0);
  }, 240_000);

  test("Keras 3's CSVLogger: a row per epoch, the epoch as the step", async () => {
    const dir = project('keras');
    const runId = runUnderOutpost(python, dir, 'keras_csvlogger.py', 'keras');
    const oracle = readOracle(python, path.join(dir, 'outputs'));
    expect(oracle.csv['training.log'].rows).toHaveLength(6);
    expect(await expectCsvStored(runId, oracle, 'epoch')).toBe(6 * 4);
    // Only the log's columns (and the agent's own system/... samples, once a run lasts 10 s).
    expect(Object.keys((await info(runId)).metrics).filter((n) => !n.startsWith('system/')).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
  }, 240_000);

  test('Lightning with both loggers while the agent beside it is SIGKILLed and restarted: nothing lost, nothing doubled', async () => {
    const dir = project('lightning-kill');
    const runId = 'lightning-kill';
    const agentArgs = ['--run', runId, '--dir', dir, '--server', shared.server.url];
    const first = startAgentProcess(agentArgs, env());
    await until(() => fs.existsSync(path.join(dir, '.outpost/runs', runId, 'files.json')), 'the agent to start');
    const job = spawn(python, [path.join(SCRIPTS, 'lightning_two_loggers.py')], { cwd: dir, env: env({ EPOCHS: '6', SLOW_STEP_S: '0.06' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let jobOut = '';
    job.stdout!.on('data', (d: Buffer) => (jobOut += d.toString()));
    job.stderr!.on('data', (d: Buffer) => (jobOut += d.toString()));
    const jobDone = new Promise<number | null>((resolve) => job.once('exit', (code) => resolve(code)));
    let done = false;
    void jobDone.then(() => (done = true));
    let agent = first;
    let kills = 0;
    const stored = async () => (await series(runId, 'train_loss'))?.length ?? 0;
    while (!done) {
      // Each agent first ships something new (or the job ends), then dies at a random moment.
      const before = await stored();
      await until(async () => done || (await stored()) > before, 'this agent to ship something', 60_000);
      await sleep(Math.random() * 800);
      agent.child.kill('SIGKILL');
      await agent.exited;
      kills++;
      agent = startAgentProcess(agentArgs, env());
    }
    expect({ code: await jobDone, out: jobOut }).toMatchObject({ code: 0 });
    // The last agent ships the rest and ends the run.
    const presence = path.join(dir, '.outpost/runs', runId, 'agent.json');
    await until(() => fs.existsSync(presence) && JSON.parse(fs.readFileSync(presence, 'utf8')).pid === agent.child.pid, 'the last agent to start');
    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(2);
    const oracle = readOracle(python, path.join(dir, 'outputs'));
    expect(await expectEventsStored(runId, oracle)).toBeGreaterThan(6 * 16);
    expect(await expectCsvStored(runId, oracle, 'step')).toBeGreaterThan(6 * 16);
    expect((await info(runId)).rejectedLines).toBe(0);
    const list = (await axios.get(`${shared.server.url}/api/v1/runs`)).data as RunSummary[];
    expect(list.find((r) => r.id === runId)).toBeDefined();
  }, 300_000);
});
