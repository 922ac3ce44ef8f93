/**
 * The metric pipeline: each source's reader -> its batcher -> the one ordered sender -> the
 * service; after each acknowledgement the source commits its position. Here the pieces are
 * started, finished and stopped together.
 */
import type { AxiosInstance } from 'axios';
import type { AgentSettings } from '../../../config/agent';
import type { Logger } from '../../log/logger';
import type { SpoolCheckpoint } from '../../run-folder';
import { FileSources, FileSourcesDeps } from '../sources/file-sources';
import { SpoolSource } from '../sources/spool/spool-source';
import { SystemSource } from '../sources/system/system-source';
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
  /** The metric sources of outputs/ (event files, CSV logs...); none when outputs/ is not this run's. */
  files?: Omit<FileSourcesDeps, 'sender' | 'settings' | 'log' | 'warn'>;
  /** Sample the machine's load (system/...), with free space on the disk of this folder. */
  system?: { outputsDir: string };
}

export class MetricPipeline {
  readonly sender: OrderedSender;
  readonly spool: SpoolSource;
  readonly files: FileSources | null;
  readonly system: SystemSource | null;

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
      onAcked: () => {
        this.spool.poke();
        this.files?.poke();
      },
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
    const files = d.files ? new FileSources({ ...d.files, sender: this.sender, settings: d.settings, log: d.log, warn: d.onWarning }) : null;
    this.files = files?.enabled ? files : null;
    const sampled = d.system && d.settings.systemMetricsIntervalMs > 0;
    this.system = sampled ? new SystemSource({ settings: d.settings, log: d.log, sender: this.sender, outputsDir: d.system!.outputsDir, warn: d.onWarning }) : null;
  }

  async start(): Promise<void> {
    await this.spool.start();
    this.sender.start();
    this.system?.start();
  }

  /** Starts reading the sources of outputs/ (once the outputs watcher knows which files are this run's). */
  async startFiles(): Promise<void> {
    await this.files?.start();
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
    await Promise.all([this.spool.finish(), this.files?.finish(), this.system?.stop()]);
    await this.sender.close(deadline);
    return this.sender.queued === 0 && this.spool.idle && (this.files?.idle ?? true);
  }

  /** Stops without a final sync (what is not acknowledged stays in its files). */
  async stop(): Promise<void> {
    await Promise.all([this.spool.stop(), this.files?.stop(), this.system?.stop(), this.sender.stop()]);
  }
}
