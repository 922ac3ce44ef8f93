/**
 * The agent of an in-process run (in-process-run.ts), in a worker thread: its watchers, timers and
 * sockets must not keep the program alive, and a worker can be unref'd as a whole. In local mode
 * the worker also serves the project's store on a loopback port, as `outpost run` does.
 */
import { parentPort, workerData } from 'worker_threads';
import { startAgent } from '../agent/agent';
import { finishRun } from '../agent/run-ending';
import { createLogger } from '../log/logger';
import type { RunStatus, RunUpsert } from '../protocol';
import { startLocalService } from '../service/local-service';
import type { RunningService } from '../service/server';
import { prepareRunFolder, writeExitRecord } from '../run-folder';

export interface InProcessAgentData {
  projectDir: string;
  runId: string;
  experiment: string;
  name: string;
  metricsFile: string;
  outputsDir: string;
  server?: string;
  token?: string;
  run: RunUpsert;
  /** Int32Array over it: [0] becomes 1 once the agent runs, 2 if it could not start (Atomics.notify). */
  startedFlag: SharedArrayBuffer;
}

export type ToWorker = { type: 'finish'; status: RunStatus; exitCode: number | null };
export type FromWorker = { type: 'started'; url: string } | { type: 'finished'; ok: boolean } | { type: 'failed'; message: string };

async function main(d: InProcessAgentData): Promise<void> {
  const log = createLogger('agent', process.env.OUTPOST_LOG_LEVEL ?? 'warn');
  const folder = await prepareRunFolder({
    projectDir: d.projectDir,
    runId: d.runId,
    experiment: d.experiment,
    name: d.name,
    server: d.server ?? null,
    metricsFile: d.metricsFile,
    outputsDir: d.outputsDir,
    // For a later `outpost sync`, should the service not be reached before the program ends.
    facts: { startTime: d.run.startTime, command: d.run.command, cwd: d.run.cwd, host: d.run.host },
  });
  let service: (RunningService & { token: string }) | undefined;
  if (!d.server) service = await startLocalService(d.projectDir, createLogger('service', process.env.OUTPOST_LOG_LEVEL ?? 'warn'));
  const url = d.server ?? service!.url;
  const agent = await startAgent({
    runId: folder.id,
    runDir: folder.runDir,
    metricsFile: folder.metricsFile,
    outputsDir: folder.outputsDir,
    outputsAllowedIn: folder.outputsAllowedIn,
    serverUrl: url,
    token: service?.token ?? d.token,
    localService: service !== undefined,
    log,
    run: d.run,
  });
  const started = new Date(d.run.startTime ?? Date.now());
  const onMessage = (m: ToWorker): void => {
    if (m.type !== 'finish') return;
    // Listening keeps the worker alive; once finishing, it may end by itself.
    parentPort!.off('message', onMessage);
    void (async () => {
      let ok = false;
      try {
        const end = { status: m.status, exitCode: m.exitCode, endTime: new Date().toISOString() };
        await writeExitRecord(folder.runDir, end);
        ok = await finishRun(agent, folder, end, started);
      } finally {
        await service?.close();
        parentPort!.postMessage({ type: 'finished', ok } satisfies FromWorker);
      }
    })();
  };
  parentPort!.on('message', onMessage);
  parentPort!.postMessage({ type: 'started', url } satisfies FromWorker);
  signal(d.startedFlag, 1);
}

function signal(flag: SharedArrayBuffer, value: number): void {
  const cell = new Int32Array(flag);
  Atomics.store(cell, 0, value);
  Atomics.notify(cell, 0);
}

const data = workerData as InProcessAgentData;
main(data).catch((err: Error) => {
  parentPort!.postMessage({ type: 'failed', message: err.message } satisfies FromWorker);
  signal(data.startedFlag, 2);
});
