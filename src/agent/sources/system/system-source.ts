/**
 * The machine's load as a metric source: every agent.systemMetricsIntervalMs a line
 *   {"metrics": {"system/cpu_percent": ..., "system/process/rss_bytes": ..., "system/gpu/0/...": ...}, "time"}
 * into a stream of this agent's own. A sample cannot be taken again later: one not acknowledged
 * when the agent dies is lost (the files' records are not), and one taken while the agent already
 * holds agent.maxBufferedLines unsent lines is not kept.
 */
import os from 'os';
import type { AgentSettings } from '../../../../config/agent';
import type { Logger } from '../../../log/logger';
import { BatchOrigin, Batcher } from '../../sender/batch';
import type { OrderedSender } from '../../sender/ordered-sender';
import { streamName } from '../file-source';
import { NvidiaSmi } from './gpu';
import { MachineLoad } from './machine';
import { ProcessTree } from './process-tree';

export interface SystemSourceDeps {
  settings: AgentSettings;
  log: Logger;
  sender: OrderedSender;
  outputsDir: string;
  warn: (message: string, file: string) => void;
}

/** What the service names the source of these lines (a series of its own for a name a job logs too). */
export const SYSTEM_SOURCE = 'system';

export class SystemSource implements BatchOrigin<null> {
  readonly file = 'system';
  readonly source = SYSTEM_SOURCE;
  private readonly batcher: Batcher<null>;
  private readonly machine: MachineLoad;
  private readonly gpus: NvidiaSmi;
  private tree: ProcessTree | null = null;
  private timer: NodeJS.Timeout | null = null;
  private generation = 1;
  private stream: string;
  private seq = 0;
  private sampling: Promise<void> = Promise.resolve();
  private skipped = 0;

  constructor(private readonly d: SystemSourceDeps) {
    this.batcher = new Batcher<null>(this, d.settings, d.sender.budget, (b) => d.sender.enqueue(b));
    this.machine = new MachineLoad(d.outputsDir);
    this.gpus = new NvidiaSmi(d.settings.systemMetricsIntervalMs, d.log);
    // The agent's own: no other agent, and no later start of this one, counts in it.
    this.stream = this.streamOf(1);
  }

  private streamOf(generation: number): string {
    return streamName('system', `${os.hostname()}:${process.pid}:${Date.now()}`, generation);
  }

  start(): void {
    const every = this.d.settings.systemMetricsIntervalMs;
    this.machine.prime();
    this.gpus.start();
    this.timer = setInterval(() => {
      this.sampling = this.sampling
        .then(() => this.sampleOnce())
        .catch((err) => {
          this.d.log.warn(`system metrics: ${(err as Error).message}`);
        });
    }, every);
    this.timer.unref();
  }

  /** The job's process (and its children) from now on. */
  watchProcess(pid: number): void {
    this.tree = new ProcessTree(pid);
    void this.tree.sample(); // the first sample's CPU % is measured from here
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.gpus.stop();
    await this.sampling;
    this.batcher.seal();
  }

  private async sampleOnce(): Promise<void> {
    const metrics: Record<string, number> = { ...(await this.machine.sample()) };
    const tree = this.tree ? await this.tree.sample() : null;
    if (tree) {
      if (tree.cpuPercent !== null) metrics['system/process/cpu_percent'] = tree.cpuPercent;
      metrics['system/process/rss_bytes'] = tree.rssBytes;
      metrics['system/process/count'] = tree.processes;
    }
    Object.assign(metrics, this.gpus.sample());
    if (Object.keys(metrics).length === 0) return;
    if (this.d.sender.budget.held >= this.d.settings.maxBufferedLines) {
      if (this.skipped++ === 0) this.d.log.warn('system metrics: samples are not kept while the service is away and the agent holds its most unsent lines (agent.maxBufferedLines)');
      return;
    }
    this.skipped = 0;
    // A rate or a percentage has no use for 17 digits; counts and bytes stay exact.
    for (const k in metrics) if (!Number.isInteger(metrics[k])) metrics[k] = Number(metrics[k].toPrecision(6));
    const line = `${JSON.stringify({ metrics, time: Date.now() / 1000 })}\n`;
    this.batcher.addLines(this.stream, ++this.seq, 1, Buffer.from(line), () => null);
    this.batcher.seal();
  }

  commit(): Promise<void> {
    return Promise.resolve(); // nothing to read again: no position to keep
  }

  /** The service lacks earlier samples: they cannot be taken again, so the samples go on in a new stream. */
  rewind(stream: string): Promise<void> {
    this.d.sender.dropQueued((b) => b.origin === this && b.stream === stream);
    if (this.batcher.current?.stream === stream) this.batcher.drop();
    if (stream === this.stream) {
      this.generation++;
      this.stream = this.streamOf(this.generation);
      this.seq = 0;
      this.d.warn('the service lacks earlier system samples of this agent; the samples go on in a new stream', this.file);
    }
    return Promise.resolve();
  }
}
