/**
 * The sync agent: the spool and outputs/ of one run, shipped to the service, as two chains:
 *   sources/ (the spool) -> batcher -> sender/ (the ordered sender, checkpoint after each ack)
 *   outputs/: watch -> stability -> upload queue (and deletions)
 */
import path from 'path';
import type { AxiosInstance } from 'axios';
import { Settings, settings } from '../../config';
import { createApiClient } from '../http/api-client';
import type { Logger } from '../log/logger';
import { RecordEvent, RunUpsert } from '../protocol';
import { MetricPipeline } from './sender/metric-pipeline';
import { FolderShipper } from './outputs/folder-shipper';
import { GaveUp, untilDeadline, withRetry } from './retry';
import { AgentPresence, removePresence, type RunFolder, SourcesCheckpoint, SpoolCheckpoint, writePresence } from '../run-folder';

export interface AgentOptions {
  runId: string;
  runDir: string;
  metricsFile: string;
  outputsDir: string;
  /** The folder outputsDir must resolve inside, however it is linked (see RunFolderInfo); null: anywhere. */
  outputsAllowedIn: string | null;
  serverUrl: string;
  token?: string;
  /** serverUrl is this process's own local service (local mode): its token goes into agent.json. */
  localService?: boolean;
  log: Logger;
  /** What to register the run with (experiment, name, command...). */
  run?: RunUpsert;
  /** Extra folder synced as artifacts under `logs/` (the run's own log). */
  logsDir?: string;
  /** false: only the spool (a finished run's outputs/ may hold a later run's files). */
  shipOutputs?: boolean;
  /** Files in outputs/ changed after this time (ms) belong to a later run: not uploaded. */
  outputsModifiedBefore?: number;
  /** What finishes the work left when the final sync's deadline passes (default: `outpost sync`). */
  laterHint?: string;
  /** Sample the machine's load into system/... metrics (agent.systemMetricsIntervalMs); default false. */
  systemMetrics?: boolean;
}

export interface AgentProgress {
  linesAcked: number;
  linesRejected: number;
  /** 1 if the spool's last line had no newline at the end of the run (counted in linesRejected). */
  linesUnterminated: number;
  backlog: number;
  pendingFiles: number;
  uploads: number;
}

export interface FinishResult {
  synced: boolean;
  pendingLines: number;
  pendingFiles: number;
  /** Why the service refused the run, when it did (a bad token, a field it does not accept). */
  refused: string | null;
}

export class Agent {
  readonly api: AxiosInstance;
  private readonly settings: Settings;
  private readonly metrics: MetricPipeline;
  private readonly outputs: FolderShipper | null;
  private readonly logs: FolderShipper | null;
  private registered: Promise<void> | null = null;
  private deadline = Infinity;
  private events: Promise<unknown> = Promise.resolve();
  private refused: string | null = null;

  constructor(private readonly o: AgentOptions) {
    // The process's settings (config/, read once); the agent hands each stage its part.
    this.settings = settings;
    const s = this.settings;
    this.api = createApiClient({ baseUrl: o.serverUrl, token: o.token, timeoutMs: s.agent.requestTimeoutMs });
    const registerRun = () => this.registerRun();
    const recordEvent = (e: RecordEvent) => this.recordEvent(e);
    const common = { api: this.api, runId: o.runId, runDir: o.runDir, settings: s.agent, maxFileBytes: s.limits.maxFileBytes, log: o.log, registerRun, recordEvent, laterHint: o.laterHint };
    this.outputs =
      o.shipOutputs === false
        ? null
        : new FolderShipper({
            ...common,
            outputsDir: o.outputsDir,
            allowedIn: o.outputsAllowedIn,
            prefix: 'outputs/',
            modifiedBefore: o.outputsModifiedBefore,
            // outputs/ -> the metric sources: every change, as it is seen.
            onFileChanged: (rel) => this.metrics.files?.changed(rel),
          });
    const outputs = this.outputs;
    this.metrics = new MetricPipeline({
      api: this.api,
      runId: o.runId,
      spoolFile: o.metricsFile,
      checkpoint: new SpoolCheckpoint(o.runDir, o.metricsFile),
      settings: s.agent,
      limits: s.limits,
      log: o.log,
      registerRun,
      onReset: (reset) => {
        o.log.warn(reset.message);
        recordEvent({ kind: 'stream-reset', path: path.basename(o.metricsFile), message: reset.message });
      },
      onWarning: (message, file) => {
        o.log.warn(message);
        recordEvent({ kind: 'warning', path: file, message });
      },
      onUnknownRun: async () => {
        this.registered = null;
        await this.registerRun();
      },
      files: outputs
        ? {
            outputsDir: o.outputsDir,
            realRoot: () => outputs.realRoot,
            prefix: 'outputs/',
            maxEntriesPerLine: s.limits.maxMetricsPerLine,
            checkpoint: new SourcesCheckpoint(o.runDir),
            notThisRuns: (rel) => outputs.notThisRuns(rel),
          }
        : undefined,
      system: o.systemMetrics ? { outputsDir: o.outputsDir } : undefined,
    });
    this.logs = o.logsDir
      ? new FolderShipper({ ...common, outputsDir: o.logsDir, allowedIn: o.runDir, prefix: 'logs/', stateFileName: 'log-files.json', settings: { ...s.agent, uploadExisting: true } })
      : null;
  }

  async start(): Promise<void> {
    const presence: AgentPresence = { pid: process.pid, server: this.o.serverUrl, startedTime: new Date().toISOString() };
    // The token of this process's own local service (never a server's): for who may read the run folder.
    if (this.o.localService && this.o.token) presence.token = this.o.token;
    await writePresence(this.o.runDir, presence);
    // Retryable failures wait in the background; a refusal (a bad token, say) is said at once.
    this.registerRun().catch((err) => {
      if (err instanceof GaveUp) return;
      this.refused = (err as Error).message;
      this.o.log.error(`the service refused run ${this.o.runId}: ${this.refused}; nothing will be shipped`);
    });
    await this.metrics.start();
    await this.outputs?.start();
    await this.metrics.startFiles();
    await this.logs?.start();
  }

  /** The job's process: its tree's CPU and memory are sampled from now on (with system metrics on). */
  watchProcess(pid: number): void {
    this.metrics.system?.watchProcess(pid);
  }

  /** Registers the run (idempotent PUT), retried in the background while the service is away. */
  registerRun(): Promise<void> {
    this.registered ??= withRetry(
      () => this.api.put(`/runs/${encodeURIComponent(this.o.runId)}`, this.o.run ?? {}),
      this.retryOptions((m) => this.o.log.warn(m), `cannot register run ${this.o.runId}`),
    ).then(() => undefined);
    return this.registered;
  }

  private retryOptions(warn?: (message: string) => void, what?: string) {
    return untilDeadline(this.settings.agent, () => this.deadline, warn, what);
  }

  /** Events are best effort but ordered; they wait for the run like everything else. */
  recordEvent(e: RecordEvent): void {
    this.events = this.events.then(() =>
      this.registerRun()
        .then(() =>
          withRetry(() => this.api.post(`/runs/${encodeURIComponent(this.o.runId)}/events`, e), this.retryOptions()),
        )
        .catch((err) => this.o.log.warn(`event not recorded (${(err as Error).message}): ${e.message}`)),
    );
  }

  /** What was shipped and what is still owed. Files are counted once each, outputs/ and logs/ alike, as `history info` lists them. */
  get progress(): AgentProgress {
    return {
      linesAcked: this.metrics.linesAcked,
      linesRejected: this.metrics.linesRejected,
      linesUnterminated: this.metrics.linesUnterminated,
      backlog: this.metrics.backlog,
      pendingFiles: (this.outputs?.pendingFiles ?? 0) + (this.logs?.pendingFiles ?? 0),
      uploads: (this.outputs?.uploads ?? 0) + (this.logs?.uploads ?? 0),
    };
  }

  /** Final sync: everything in the spool and outputs/ now, waiting at most `graceMs` for an unreachable service. */
  async finish(graceMs = this.settings.agent.finalSyncGraceMs): Promise<FinishResult> {
    this.deadline = Date.now() + graceMs;
    const [metricsDone, outputsDone, logsDone] = await Promise.all([
      this.metrics.finish(this.deadline),
      this.outputs ? this.outputs.finish(this.deadline) : Promise.resolve(true),
      this.logs ? this.logs.finish(this.deadline) : Promise.resolve(true),
    ]);
    await this.events;
    await this.leave();
    return {
      synced: metricsDone && outputsDone && logsDone,
      pendingLines: this.metrics.backlog,
      pendingFiles: this.progress.pendingFiles,
      refused: this.refused,
    };
  }

  /** Final status of the run, retried until the deadline. */
  async markRun(patch: RunUpsert, graceMs = this.settings.agent.finalSyncGraceMs): Promise<boolean> {
    this.deadline = Math.max(this.deadline, Date.now() + graceMs);
    try {
      await withRetry(() => this.api.put(`/runs/${encodeURIComponent(this.o.runId)}`, patch), this.retryOptions());
      return true;
    } catch (err) {
      this.o.log.warn(`run ${this.o.runId} not marked ${patch.status ?? ''}: ${(err as Error).message}`);
      return false;
    }
  }

  /** Stops at once: nothing more is sent; the spool and outputs/ keep what is left. */
  async stop(): Promise<void> {
    this.deadline = 0;
    await Promise.all([this.metrics.stop(), this.outputs?.stop(), this.logs?.stop()]);
    await this.leave();
  }

  private async leave(): Promise<void> {
    await removePresence(this.o.runDir);
    (this.api.defaults.httpAgent as { destroy?: () => void } | undefined)?.destroy?.();
  }
}

export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const agent = new Agent(opts);
  await agent.start();
  return agent;
}

/** The agent of a run folder: how `run`, `agent` and `sync` all start one. */
export function startFolderAgent(
  folder: RunFolder,
  target: { url: string; token?: string; local?: unknown },
  log: Logger,
  run: RunUpsert,
  opts: { logs?: boolean; outputs?: boolean; outputsModifiedBefore?: number; laterHint?: string; systemMetrics?: boolean } = {},
): Promise<Agent> {
  return startAgent({
    runId: folder.id,
    runDir: folder.runDir,
    metricsFile: folder.metricsFile,
    outputsDir: folder.outputsDir,
    outputsAllowedIn: folder.outputsAllowedIn,
    logsDir: opts.logs === false ? undefined : folder.logsDir,
    shipOutputs: opts.outputs,
    outputsModifiedBefore: opts.outputsModifiedBefore,
    laterHint: opts.laterHint,
    systemMetrics: opts.systemMetrics,
    serverUrl: target.url,
    token: target.token,
    localService: target.local !== undefined,
    log,
    run,
  });
}
