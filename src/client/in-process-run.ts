/**
 * A program that calls getLogger() outside `outpost run` is still tracked: a run is created in
 * the project's local store (.outpost/; or on OUTPOST_SERVER if set), and its agent runs in a
 * worker thread of this process. When the event loop empties ('beforeExit') the lines are
 * flushed, the agent does the final sync and the run is marked completed (or failed, after
 * process.exitCode = N). If the process ends otherwise (process.exit, an uncaught exception, a
 * signal) the lines are flushed and exit.json records how it ended; `outpost sync` ships the rest.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Worker } from 'worker_threads';
import { flushAllLoggers } from './exit-flush';
import type { FromWorker, InProcessAgentData } from './in-process-agent-worker';
import type { LoggerTarget } from './logger';
import { commandLine } from '../agent/run-facts';
import { DEFAULT_EXPERIMENT, ENV, findProjectDir, newRunId, OUTPOST_DIR, RUNS_DIR, SPOOL_FILE, writeExitRecordNow } from '../run-folder';

const EXPERIMENT = DEFAULT_EXPERIMENT;
const START_TIMEOUT_MS = 30_000; // ms getLogger() waits for the agent (and local service) to start

export function startInProcessRun(env: NodeJS.ProcessEnv): LoggerTarget {
  const projectDir = findProjectDir(process.cwd());
  const runId = newRunId(EXPERIMENT);
  const runDir = path.join(projectDir, OUTPOST_DIR, RUNS_DIR, runId);
  // The spool is usable at once; the agent catches up when it has started.
  fs.mkdirSync(runDir, { recursive: true });
  const target: LoggerTarget = { runId, metricsFile: path.join(runDir, SPOOL_FILE), outputsDir: path.resolve('outputs') };
  fs.mkdirSync(target.outputsDir, { recursive: true });
  // Child processes (workers, spawned programs) log into the same run.
  env[ENV.runId] = runId;
  env[ENV.metricsFile] = target.metricsFile;
  env[ENV.outputsDir] = target.outputsDir;
  const server = env[ENV.server] || undefined;
  const script = process.argv[1] ? path.basename(process.argv[1]) : 'node';
  const data: InProcessAgentData = {
    projectDir,
    runId,
    experiment: EXPERIMENT,
    name: script,
    metricsFile: target.metricsFile,
    outputsDir: target.outputsDir,
    server,
    token: env[ENV.token]?.trim() || undefined,
    startedFlag: new SharedArrayBuffer(4),
    run: { experiment: EXPERIMENT, name: script, status: 'running', startTime: new Date().toISOString(), command: commandLine([path.basename(process.execPath), ...process.argv.slice(1)]), cwd: process.cwd(), host: os.hostname() },
  };
  process.stderr.write(`outpost: not under \`outpost run\`: tracking this program as run ${runId} (${server ?? `local store ${path.join(projectDir, OUTPOST_DIR)}`})\n`);
  runWorker(data, runDir);
  // Block until the agent runs: it takes what is in outputs/ at its start for an earlier run's, so
  // an upload() made before would be skipped. Once, at getLogger(); about a second.
  const started = Atomics.wait(new Int32Array(data.startedFlag), 0, 0, START_TIMEOUT_MS);
  if (started === 'timed-out') process.emitWarning(`outpost: the in-process agent of run ${runId} has not started after ${START_TIMEOUT_MS} ms; going on without waiting`);
  return target;
}

function runWorker(data: InProcessAgentData, runDir: string): void {
  const worker = new Worker(workerFile(), { workerData: data });
  let state: 'starting' | 'running' | 'finishing' | 'done' = 'starting';
  let finished: (() => void) | undefined;
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'started') state = state === 'starting' ? 'running' : state;
    else if (m.type === 'failed') {
      state = 'done';
      process.emitWarning(`outpost: cannot track run ${data.runId} in-process (${m.message}); its metrics stay in ${data.metricsFile} for \`outpost sync\``);
      void worker.terminate();
    } else if (m.type === 'finished') {
      state = 'done';
      finished?.();
    }
  });
  worker.on('error', (err) => {
    state = 'done';
    process.emitWarning(`outpost: the in-process agent of run ${data.runId} failed (${err.message}); \`outpost sync\` ships what is left`);
  });

  // The agent's watchers and sockets must not keep the program alive: it ends when the program's work does.
  // (After the listeners: adding a 'message' listener refs the worker's port again.)
  worker.unref();

  process.on('beforeExit', () => {
    if (state !== 'running' && state !== 'starting') return;
    const wasStarting = state === 'starting';
    state = 'finishing';
    flushAllLoggers();
    const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
    worker.ref();
    const finish = () => worker.postMessage({ type: 'finish', status: code === 0 ? 'completed' : 'failed', exitCode: code });
    if (wasStarting) worker.once('message', (m: FromWorker) => m.type === 'started' && finish());
    else finish();
    // The worker normally ends by itself (its stderr then reaches ours); terminate it if it lingers.
    finished = () => setTimeout(() => void worker.terminate(), 2000).unref();
  });

  // Any other ending: say how it ended, for `outpost sync`.
  process.on('exit', (code) => {
    if (state === 'done') return;
    try {
      writeExitRecordNow(runDir, { status: code === 0 ? 'completed' : 'failed', exitCode: code, endTime: new Date().toISOString() });
    } catch {
      // the run stays "running" until `outpost sync` marks it killed
    }
  });
}

/** The compiled worker; under ts-jest (src/*.ts) the one in dist/. */
function workerFile(): string {
  const js = path.join(__dirname, 'in-process-agent-worker.js');
  if (fs.existsSync(js)) return js;
  return path.resolve(__dirname, '../../dist/src/client/in-process-agent-worker.js');
}
