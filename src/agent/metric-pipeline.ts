/**
 * spool tailer -> batcher -> ordered sender. One batch is in flight at a time, so the service
 * sees lines in spool order; the checkpoint and watermark move only after its acknowledgement.
 */
import fs from 'fs';
import path from 'path';
import { promisify } from 'util';
import { gzip } from 'zlib';
import type { AgentSettings } from '../../config/agent';
import type { AxiosInstance } from 'axios';
import { ApiError } from '../http/api-client';
import type { Logger } from '../log/logger';
import type { BatchAck, MetricBatch, WireLine } from '../protocol';
import { GaveUp, withRetry } from './retry';
import type { SpoolCheckpoint } from './spool-checkpoint';
import { SpoolPosition, SpoolTailer, StreamReset } from './spool-tailer';

const gzipAsync = promisify(gzip);

interface Batch {
  stream: string;
  lines: WireLine[];
  /** Byte offset just past each line in `lines`. */
  ends: number[];
  bytes: number;
  end: SpoolPosition;
  firstAt: number;
}

export interface PipelineDeps {
  api: AxiosInstance;
  runId: string;
  spoolFile: string;
  checkpoint: SpoolCheckpoint;
  settings: AgentSettings;
  limits: { maxLineBytes: number; maxNameChars: number };
  log: Logger;
  /** Resolves once the run exists on the service. */
  runReady: () => Promise<void>;
  onReset: (reset: StreamReset) => void;
  /** The service answered 404 for the run: register it again. */
  onUnknownRun: () => Promise<void>;
}

export class MetricPipeline {
  private tailer!: SpoolTailer;
  private queue: Batch[] = [];
  private current: Batch | null = null;
  private finishing = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private watcher: fs.FSWatcher | null = null;
  private readerDone: Promise<void> | null = null;
  private senderDone: Promise<void> | null = null;
  private bufferedLines = 0;
  private readerExited = false;
  private giveUpAt = Infinity;
  acked: SpoolPosition | null = null;
  linesAcked = 0;

  constructor(private readonly d: PipelineDeps) {}

  async start(): Promise<void> {
    this.acked = await this.d.checkpoint.load();
    this.tailer = new SpoolTailer(
      this.d.spoolFile,
      this.acked,
      { maxLineBytes: this.d.limits.maxLineBytes, maxNameChars: this.d.limits.maxNameChars, readChunkBytes: this.d.settings.readChunkBytes },
      (reset) => this.d.onReset(reset),
    );
    fs.mkdirSync(path.dirname(this.d.spoolFile), { recursive: true });
    // The folder, not the file: the spool may not exist yet, or be replaced.
    this.watcher = fs.watch(path.dirname(this.d.spoolFile), (_event, name) => {
      if (!name || name === path.basename(this.d.spoolFile)) this.poke();
    });
    this.watcher.on('error', (err) => this.d.log.warn(`watching ${this.d.spoolFile} failed (${err.message}); polling only`));
    this.readerDone = this.readLoop();
    this.senderDone = this.sendLoop();
  }

  /** Lines read but not yet acknowledged. */
  get backlog(): number {
    return this.bufferedLines;
  }

  /** Reads to the end of the spool, ships everything, then stops. False if the deadline passed first. */
  async finish(deadline: number): Promise<boolean> {
    this.finishing = true;
    this.giveUpAt = deadline;
    this.poke();
    await this.readerDone;
    await this.senderDone;
    this.watcher?.close();
    await this.tailer.close();
    return this.queue.length === 0 && this.current === null;
  }

  /** Stops without a final sync (what is not acknowledged stays in the spool). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.giveUpAt = 0;
    this.poke();
    await this.readerDone;
    await this.senderDone;
    this.watcher?.close();
    await this.tailer.close();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async readLoop(): Promise<void> {
    try {
      await this.readUntilDone();
    } finally {
      this.readerExited = true;
      this.poke();
    }
  }

  private async readUntilDone(): Promise<void> {
    const s = this.d.settings;
    while (!this.stopped) {
      if (this.bufferedLines >= s.maxBufferedLines) {
        await this.sleep(s.spoolPollMs); // backpressure: memory stays bounded whatever the backlog
        continue;
      }
      const room = Math.min(s.batchMaxLines, s.maxBufferedLines - this.bufferedLines);
      const lines = await this.tailer.read(room);
      for (const l of lines) this.add(l.wire, l.endOffset);
      const atEnd = lines.length < room;
      const c = this.current;
      if (c) {
        const full = c.lines.length >= s.batchMaxLines || c.bytes >= s.batchMaxBytes;
        const aged = Date.now() - c.firstAt >= s.batchWindowMs;
        if (full || this.finishing || (atEnd && aged && this.queue.length === 0)) this.seal();
      }
      if (this.finishing && atEnd && !this.current) break;
      if (!atEnd) continue;
      const c2 = this.current;
      await this.sleep(c2 ? Math.max(1, s.batchWindowMs - (Date.now() - c2.firstAt)) : s.spoolPollMs);
    }
  }

  private add(wire: WireLine | null, endOffset: number): void {
    const end = this.tailer.position!;
    let c = this.current;
    if (c && c.stream !== end.stream) {
      this.seal();
      c = null;
    }
    if (!c) c = this.current = { stream: end.stream, lines: [], ends: [], bytes: 0, end, firstAt: Date.now() };
    if (wire) {
      c.lines.push(wire);
      c.ends.push(endOffset);
      c.bytes += estimateBytes(wire);
      this.bufferedLines++;
    }
    c.end = end;
  }

  private seal(): void {
    if (!this.current) return;
    this.queue.push(this.current);
    this.current = null;
    this.poke();
  }

  private async sendLoop(): Promise<void> {
    await this.waitForRun();
    for (;;) {
      const batch = this.queue[0];
      if (!batch) {
        if (this.stopped || (this.finishing && this.readerExited && !this.current)) return;
        await this.sleep(this.d.settings.spoolPollMs);
        continue;
      }
      try {
        await this.send(batch);
      } catch (err) {
        if (err instanceof GaveUp) return;
        throw err;
      }
      this.queue.shift();
      this.bufferedLines -= batch.lines.length;
      this.linesAcked += batch.lines.length;
      await this.d.checkpoint.save(batch.end);
      this.acked = batch.end;
      this.poke();
    }
  }

  private async waitForRun(): Promise<void> {
    await this.d.runReady();
  }

  /** Sends until acknowledged; repairs what a 4xx says can be repaired. */
  private async send(batch: Batch): Promise<BatchAck> {
    const retry = {
      settings: this.d.settings,
      shouldStop: () => Date.now() >= this.giveUpAt,
      onRetry: (err: ApiError, attempt: number, wait: number) => {
        if (attempt === 0 || attempt % 10 === 0) this.d.log.warn(`metric batch not acknowledged (${err.message}); retrying in ${Math.round(wait)} ms`);
      },
    };
    for (;;) {
      try {
        return await withRetry(() => this.post(batch), retry);
      } catch (raw) {
        if (raw instanceof GaveUp) throw raw;
        const err = raw as ApiError;
        if (err.status === 404 && err.code === 'OUTPOST_ERR_RUN_NOT_FOUND') {
          await this.d.onUnknownRun();
          continue;
        }
        const m = /^lines\[(\d+)\]/.exec(err.field ?? '');
        if (err.status === 400 && m) {
          // The service refuses a line this agent accepted (other limits): record it as rejected.
          const i = Number(m[1]);
          const line = batch.lines[i];
          batch.lines[i] = { seq: line.seq, time: line.time, error: `${path.basename(this.d.spoolFile)} line ${line.seq}: refused by the service: ${err.message}` };
          continue;
        }
        if (err.status === 413 && batch.lines.length > 1) {
          this.split(batch);
          continue;
        }
        this.d.log.error(`metric batch refused (${err.message}); retrying later`);
        await this.sleep(this.d.settings.retryMaxMs);
        if (Date.now() >= this.giveUpAt) throw new GaveUp(err);
      }
    }
  }

  /** Too large for the service: the first half goes now, the rest becomes the next batch. */
  private split(batch: Batch): void {
    const half = Math.ceil(batch.lines.length / 2);
    const restBatch: Batch = { ...batch, lines: batch.lines.splice(half), ends: batch.ends.splice(half), bytes: batch.bytes / 2 };
    batch.bytes /= 2;
    // The first half's checkpoint ends just past its last line.
    batch.end = { ...batch.end, line: batch.lines[half - 1].seq, offset: batch.ends[half - 1] };
    this.queue.splice(1, 0, restBatch);
  }

  private async post(batch: Batch): Promise<BatchAck> {
    const body: MetricBatch = { stream: batch.stream, file: path.basename(this.d.spoolFile), lines: batch.lines };
    const json = JSON.stringify(body);
    const threshold = this.d.settings.compressBatchesOverBytes;
    if (threshold > 0 && json.length > threshold) {
      const gz = await gzipAsync(json, { level: 1 });
      const res = await this.d.api.post(`/runs/${encodeURIComponent(this.d.runId)}/metrics`, gz, {
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      });
      return res.data as BatchAck;
    }
    const res = await this.d.api.post(`/runs/${encodeURIComponent(this.d.runId)}/metrics`, json, { headers: { 'content-type': 'application/json' } });
    return res.data as BatchAck;
  }
}

function estimateBytes(w: WireLine): number {
  return 'error' in w ? 64 + w.error.length : 48 + JSON.stringify(w.metrics).length;
}

