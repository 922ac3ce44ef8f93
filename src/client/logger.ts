/**
 * The logger: log() appends a line to the spool and returns a handle; wait() resolves once the
 * service has stored it, or (not strict) once the line is durable in the spool while a live agent
 * owns the run and the service stays silent: a training job must not die because the tracker is away.
 */
import fs from 'fs';
import path from 'path';
import { MetricValue } from '../protocol';
import { AckWatch } from './ack-watch';
import { AckTimeoutDetails, AckTimeoutError, warnNotAcknowledged } from './ack-timeout-error';
import { settings as processSettings } from '../../config';
import type { ClientSettings } from '../../config/client';
import { encodeMetric, encodeMetrics, encodeParams, encodeTags, LogOptions } from './encode-metric-line';
import { SpoolAppender, SpoolBatch } from './spool-appender';
import { writeOutput } from './write-output';
import { AckWatermark, findProjectDir, OUTPOST_DIR, RUNS_DIR, agentStatus } from '../run-folder';

export interface LoggerTarget {
  runId: string;
  metricsFile: string;
  outputsDir: string;
}

export interface WaitOptions {
  /** ms; default 60 s. Infinity waits for ever. */
  timeoutMs?: number;
  /**
   * Reject on timeout even while a live agent owns the run (default: the setting strictWait).
   * Not strict, a timeout with a live agent fsyncs the spool, warns once and resolves.
   */
  strict?: boolean;
}

export class LogHandle {
  constructor(
    private readonly logger: Logger,
    private readonly batch: SpoolBatch,
    readonly what: string,
  ) {}

  /** Resolves once the ack watermark covers this line, that is once the service has stored it. */
  wait(opts: WaitOptions = {}): Promise<void> {
    return this.logger.waitFor(this.batch, this.what, opts);
  }
}

export class Logger {
  readonly runId: string;
  readonly metricsFile: string;
  readonly outputsDir: string;
  readonly runDir: string;
  private readonly spool: SpoolAppender;
  private readonly acks: AckWatch;
  private readonly settings: ClientSettings;
  /**
   * Set when a wait() timed out while an agent owned the run: the watermark as it stood then.
   * Until it moves, waits do not sit out their timeout again (a loop waiting each epoch must not
   * stall a minute each time).
   */
  private silentAt: string | undefined;

  constructor(target: LoggerTarget, settings: Partial<ClientSettings> = {}) {
    // The process's (config/, OUTPOST_CONFIG's "client" section), then this logger's own.
    this.settings = { ...processSettings.client, ...settings };
    this.runId = target.runId;
    this.metricsFile = path.resolve(target.metricsFile);
    this.outputsDir = path.resolve(target.outputsDir);
    this.runDir = path.dirname(this.metricsFile);
    this.spool = new SpoolAppender(this.metricsFile, this.settings.flushIntervalMs, this.settings.flushMaxBytes, this.settings.maxHeldBytes, this.settings.spoolCheckMs);
    this.acks = new AckWatch(this.metricsFile, this.settings.ackPollMs);
  }

  /** Logs one value: a finite number, a string, a boolean or a list of finite numbers. Throws on anything else. */
  log(name: string, value: MetricValue, opts?: LogOptions): LogHandle {
    return new LogHandle(this, this.spool.push(encodeMetric(name, value, opts)), `metric "${name}"`);
  }

  /** Logs several values as one line (one step), e.g. logMetrics({ loss, acc }, { step }). */
  logMetrics(metrics: Record<string, MetricValue>, opts?: LogOptions): LogHandle {
    return new LogHandle(this, this.spool.push(encodeMetrics(metrics, opts)), `metrics ${Object.keys(metrics).join(', ')}`);
  }

  /**
   * The run's hyperparameters, e.g. logParams({ lr: 0.01, model: { depth: 4 } }): nested objects are
   * flattened (model.depth); a param keeps its first value, so logging another one later is a
   * rejected line (named by `history info`), not a change.
   */
  logParams(params: Record<string, unknown>): LogHandle {
    return new LogHandle(this, this.spool.push(encodeParams(params)), 'params');
  }

  /** Sets tags of the run (strings, numbers, booleans, kept as text); null removes one. */
  setTags(tags: Record<string, string | number | boolean | null>): LogHandle {
    return new LogHandle(this, this.spool.push(encodeTags(tags)), 'tags');
  }

  /** Writes a string or Buffer to outputs/PATH (atomically); the agent uploads it. Returns the file written. */
  upload(artifactPath: string, content: string | Uint8Array): string {
    return writeOutput(this.outputsDir, artifactPath, content);
  }

  /** Appends now the lines held because the spool could not be written (log() appends every other line itself). */
  flush(): void {
    this.spool.flush();
  }

  /** Flushes, then waits until everything logged so far (by any process, up to now) is acknowledged. */
  async wait(opts: WaitOptions = {}): Promise<void> {
    this.flush();
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.metricsFile);
    } catch {
      return; // no spool: nothing was ever logged
    }
    return this.waitFor({ end: stat.size, ino: stat.ino }, 'everything logged so far', opts);
  }

  private agentDirs(): string[] {
    const byId = path.join(findProjectDir(process.cwd()), OUTPOST_DIR, RUNS_DIR, this.runId);
    return byId === this.runDir ? [this.runDir] : [this.runDir, byId];
  }

  /** @internal */
  async waitFor(lines: SpoolBatch, what: string, opts: WaitOptions): Promise<void> {
    const batch = this.spool.resolve(lines);
    const strict = opts.strict ?? this.settings.strictWait;
    if (!strict && this.silentAt !== undefined && this.stillSilent(batch)) return;
    const timeoutMs = opts.timeoutMs ?? this.settings.waitTimeoutMs;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
    });
    try {
      const outcome = await Promise.race([this.acks.until(batch.ino, batch.end, abort.signal), timedOut]);
      if (outcome !== 'timeout') return;
    } finally {
      if (timer) clearTimeout(timer);
      abort.abort();
    }
    const watermark = this.acks.read();
    const agent = agentStatus(this.agentDirs());
    const details: AckTimeoutDetails = { what, timeoutMs, runId: this.runId, spoolFile: this.metricsFile, end: batch.end, ino: batch.ino, watermark, agent };
    // No agent: a set-up mistake, said with how to fix it. Strict: the caller asked to know.
    if (strict || !agent.running) throw new AckTimeoutError(details);
    this.spool.sync();
    this.silentAt = watermarkKey(watermark);
    warnNotAcknowledged({ ...details, agent });
  }

  /**
   * After a wait() gave up on a silent service: true (the line made durable) while the watermark
   * stands where it stood then and the agent lives; otherwise waits are normal again.
   */
  private stillSilent(batch: SpoolBatch): boolean {
    const w = this.acks.read();
    if (this.acks.covers(batch.ino, batch.end, w)) return true;
    if (watermarkKey(w) === this.silentAt && agentStatus(this.agentDirs()).running) {
      this.spool.sync();
      return true;
    }
    this.silentAt = undefined;
    return false;
  }
}

function watermarkKey(w: AckWatermark | undefined): string {
  return w ? `${w.ino}:${w.offset}` : '';
}
