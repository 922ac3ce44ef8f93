/**
 * The metric pipeline: each source's reader -> its batcher -> the one ordered sender -> the
 * service; after each acknowledgement the source commits its position. Here the pieces are
 * started, finished and stopped together.
 */
import type { AxiosInstance } from 'axios';
import type { AgentSettings } from '../../../config/agent';
import type { Logger } from '../../log/logger';
import type { SpoolCheckpoint } from '../../run-folder';
import { SpoolSource } from '../sources/spool/spool-source';
import type { StreamReset } from '../sources/spool/spool-tailer';
import { OrderedSender } from './ordered-sender';

export interface PipelineDeps {
  api: AxiosInstance;
  runId: string;
  spoolFile: string;
  checkpoint: SpoolCheckpoint;
  settings: AgentSettings;
  limits: { maxLineBytes: number };
  log: Logger;
  /** Resolves once the run exists on the service. */
  registerRun: () => Promise<void>;
  onReset: (reset: StreamReset) => void;
  /** Something about a source a person should know (logged and recorded on the run, about `file`). */
  onWarning: (message: string, file: string) => void;
  /** The service answered 404 for the run: register it again. */
  onUnknownRun: () => Promise<void>;
}

export class MetricPipeline {
  readonly sender: OrderedSender;
  readonly spool: SpoolSource;

  constructor(d: PipelineDeps) {
    this.sender = new OrderedSender({
      api: d.api,
      runId: d.runId,
      settings: d.settings,
      log: d.log,
      registerRun: d.registerRun,
      onWarning: d.onWarning,
      onUnknownRun: d.onUnknownRun,
      // Room in the budget, or the sender gone: readers waiting on it look again.
      onAcked: () => this.spool.poke(),
    });
    this.spool = new SpoolSource({
      spoolFile: d.spoolFile,
      checkpoint: d.checkpoint,
      settings: d.settings,
      limits: d.limits,
      log: d.log,
      sender: this.sender,
      onReset: d.onReset,
      onWarning: (message) => d.onWarning(message, this.spool.file),
    });
  }

  async start(): Promise<void> {
    await this.spool.start();
    this.sender.start();
  }

  get linesAcked(): number {
    return this.sender.linesAcked;
  }

  get linesRejected(): number {
    return this.sender.linesRejected;
  }

  get linesUnterminated(): number {
    return this.spool.linesUnterminated;
  }

  /** Lines read but not yet acknowledged. */
  get backlog(): number {
    return this.sender.budget.held;
  }

  /** Reads every source to its end, ships everything, then stops. False if the deadline passed first. */
  async finish(deadline: number): Promise<boolean> {
    this.sender.setDeadline(deadline);
    await this.spool.finish();
    await this.sender.close(deadline);
    return this.sender.queued === 0 && this.spool.idle;
  }

  /** Stops without a final sync (what is not acknowledged stays in its files). */
  async stop(): Promise<void> {
    await Promise.all([this.spool.stop(), this.sender.stop()]);
  }
}
