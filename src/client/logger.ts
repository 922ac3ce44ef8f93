/** The logger: log() buffers a line and returns a handle; wait() resolves once the service has stored it. */
import fs from 'fs';
import path from 'path';
import { findProjectDir, MetricValue, OUTPOST_DIR, RUNS_DIR } from '../protocol';
import { AckWatch } from './ack-watch';
import { AckTimeoutError } from './ack-timeout-error';
import { agentStatus } from './agent-status';
import { clientDefaults, ClientSettings } from './client-defaults';
import { encodeMetric, encodeMetrics, LogOptions } from './encode-metric-line';
import { FlushedBatch, SpoolAppender } from './spool-appender';
import { writeOutput } from './write-output';

export interface LoggerTarget {
  runId: string;
  metricsFile: string;
  outputsDir: string;
}

export interface WaitOptions {
  /** ms; default 60 s. Infinity waits for ever. */
  timeoutMs?: number;
}

export class LogHandle {
  constructor(
    private readonly logger: Logger,
    private readonly batch: FlushedBatch,
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

  constructor(target: LoggerTarget, settings: Partial<ClientSettings> = {}) {
    this.settings = { ...clientDefaults, ...settings };
    this.runId = target.runId;
    this.metricsFile = path.resolve(target.metricsFile);
    this.outputsDir = path.resolve(target.outputsDir);
    this.runDir = path.dirname(this.metricsFile);
    this.spool = new SpoolAppender(this.metricsFile, this.settings.flushIntervalMs, this.settings.flushMaxBytes, this.settings.maxHeldBytes);
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

  /** Writes a string or Buffer to outputs/PATH (atomically); the agent uploads it. Returns the file written. */
  upload(artifactPath: string, content: string | Uint8Array): string {
    return writeOutput(this.outputsDir, artifactPath, content);
  }

  /** Appends every buffered line to the spool now. */
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
  async waitFor(batch: FlushedBatch, what: string, opts: WaitOptions): Promise<void> {
    if (batch.end < 0) this.flush();
    const timeoutMs = opts.timeoutMs ?? this.settings.waitTimeoutMs;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
    });
    try {
      const outcome = await Promise.race([this.acks.until(batch.ino, batch.end, abort.signal), timedOut]);
      if (outcome === 'timeout') {
        throw new AckTimeoutError({ what, timeoutMs, spoolFile: this.metricsFile, end: batch.end, ino: batch.ino, watermark: this.acks.read(), agent: agentStatus(this.agentDirs()), runId: this.runId });
      }
    } finally {
      if (timer) clearTimeout(timer);
      abort.abort();
    }
  }
}
