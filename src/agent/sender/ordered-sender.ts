/**
 * The ordered sender: sealed batches of every source, one in flight at a time, so the service
 * sees each stream's lines in order. A batch's position is committed (checkpoint, watermark) only
 * after its acknowledgement, and in the order of the acknowledgements.
 */
import path from 'path';
import { promisify } from 'util';
import { gzip } from 'zlib';
import type { AxiosInstance } from 'axios';
import type { AgentSettings } from '../../../config/agent';
import { ApiError } from '../../http/api-client';
import { classify } from '../../http/classify';
import type { Logger } from '../../log/logger';
import { BATCH_HEADERS, BatchAck, MetricBatch, NDJSON_TYPE, NdjsonBatchAck, isLoopback } from '../../protocol';
import { GaveUp, untilDeadline, withRetry } from '../retry';
import { Batch, LineBudget, rejectBatch, splitBatch } from './batch';
import { WakeUp } from '../wake-up';

const gzipAsync = promisify(gzip);

/** The batch in hand was given up because its stream is being read again from an earlier line. */
class Rewound extends Error {}
/** The sender is woken by every sealed batch; this is only a safety net. */
const IDLE_SENDER_MS = 5_000;

export interface SenderDeps {
  api: AxiosInstance;
  runId: string;
  settings: AgentSettings;
  log: Logger;
  /** Resolves once the run exists on the service. */
  registerRun: () => Promise<void>;
  /** Something a person should know (logged and recorded on the run), about `file`. */
  onWarning: (message: string, file: string) => void;
  /** The service answered 404 for the run: register it again. */
  onUnknownRun: () => Promise<void>;
  /** Called after each acknowledgement is committed: readers waiting for room may read on. */
  onAcked: () => void;
}

export class OrderedSender {
  private queue: Batch[] = [];
  private stopped = false;
  /** No more batches will come (every reader has exited): send what is queued, then stop. */
  private closing = false;
  private readonly wake = new WakeUp();
  private done: Promise<void> | null = null;
  private giveUpAt = Infinity;
  exited = false;
  /** Lines read but not acknowledged, over every source. */
  readonly budget = new LineBudget();
  linesAcked = 0;
  /** Of those, lines the service (or a reader) rejected as invalid. */
  linesRejected = 0;

  /** A service on this machine: gzip would cost both ends CPU to save bandwidth there is plenty of. */
  private readonly loopback: boolean;

  constructor(private readonly d: SenderDeps) {
    this.loopback = isLoopback(new URL(d.api.defaults.baseURL ?? 'http://localhost').hostname);
  }

  start(): void {
    this.done = this.sendLoop().catch((err) => {
      // Never an unhandled rejection: a failure is logged and stops the sender.
      this.d.log.error(`metric sender failed: ${(err as Error)?.stack ?? err}`);
      this.stopped = true;
    });
  }

  /** Batches sealed and not yet acknowledged, the one in flight included. */
  get queued(): number {
    return this.queue.length;
  }

  enqueue(batch: Batch): void {
    this.queue.push(batch);
    this.poke();
  }

  /** Drops the queued batches `which` picks (their lines are read again, or cannot be); returns their line count. */
  dropQueued(which: (b: Batch) => boolean): number {
    const dropped = this.queue.filter(which);
    const lines = dropped.reduce((n, b) => n + b.count, 0);
    this.queue = this.queue.filter((b) => !which(b));
    this.budget.held -= lines;
    return lines;
  }

  /** Every reader has exited: what is queued is sent (until `deadline`), then the sender stops. */
  async close(deadline: number): Promise<void> {
    this.closing = true;
    this.giveUpAt = deadline;
    this.poke();
    await this.done;
  }

  /** Stops without sending what is queued (it stays in its files). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.giveUpAt = 0;
    this.poke();
    await this.done;
  }

  /** Gives up sending once `deadline` passes (the end of a run). */
  setDeadline(deadline: number): void {
    this.giveUpAt = deadline;
  }

  private poke(): void {
    this.wake.poke();
  }

  private async sendLoop(): Promise<void> {
    try {
      await this.sendUntilDone();
    } catch (err) {
      if (!(err instanceof GaveUp)) throw err;
    } finally {
      this.exited = true;
      this.d.onAcked(); // readers waiting for room see the sender gone
    }
  }

  private async sendUntilDone(): Promise<void> {
    await this.d.registerRun();
    // The checkpoint of one batch is written while the next is on its way (two fsyncs off the
    // critical path); each waits for the one before, so they stay in order.
    let saved: Promise<void> = Promise.resolve();
    let failed = false;
    try {
      for (;;) {
        const batch = this.queue[0];
        if (!batch) {
          if (this.stopped || this.closing) return;
          await this.wake.sleep(IDLE_SENDER_MS); // enqueue() wakes it at once
          continue;
        }
        let ack: BatchAck;
        try {
          ack = await this.send(batch);
        } catch (err) {
          if (err instanceof Rewound) continue; // the queue holds what is read again
          throw err;
        }
        this.queue.shift();
        this.budget.held -= batch.count;
        this.linesAcked += batch.count;
        this.linesRejected += batch.kind === 'rejected' ? batch.rejected.length : ((ack as NdjsonBatchAck).rejected?.length ?? 0);
        batch.origin.onAck?.(batch);
        await saved;
        const end = batch.end;
        saved = (end === null ? Promise.resolve() : batch.origin.commit(end)).then(() => this.d.onAcked());
        saved.catch(() => undefined); // observed by the next await; not an unhandled rejection meanwhile
      }
    } catch (err) {
      failed = true; // this error is the one to report, not a checkpoint failure after it
      throw err;
    } finally {
      if (failed) await saved.catch(() => undefined);
      else await saved;
    }
  }

  /** Sends until acknowledged; repairs what a 4xx says can be repaired. */
  private async send(batch: Batch): Promise<BatchAck> {
    const retry = untilDeadline(
      this.d.settings,
      () => this.giveUpAt,
      (m) => this.d.log.warn(m),
      'metric batch not acknowledged',
    );
    for (;;) {
      try {
        return await withRetry(() => this.post(batch), retry);
      } catch (raw) {
        if (!(raw instanceof ApiError)) throw raw; // GaveUp (the deadline passed), or not the service's doing
        const err = raw;
        const verdict = classify(err);
        if (verdict === 'register') {
          await this.d.onUnknownRun();
          continue;
        }
        if (verdict === 'rewind') {
          // The service lacks lines this agent saw acknowledged (it lost them since, or is not the
          // service that acknowledged them): the stream is read again from its first line, and the
          // service skips what it has.
          this.d.onWarning(`${err.message}; ${batch.origin.file} is read again from its first line, and the service stores the lines it lacks`, batch.origin.file);
          await batch.origin.rewind(batch.stream);
          throw new Rewound();
        }
        if (batch.kind === 'lines' && (verdict === 'smaller' || (verdict === 'refuse' && err.code === 'OUTPOST_ERR_BAD_LINE'))) {
          // Too large, or a line the service refuses whatever we do: the lines must not wait for
          // ever behind it. Halve the batch down to one line, then record that line as rejected.
          if (batch.count > 1) this.queue.splice(1, 0, splitBatch(batch));
          else {
            rejectBatch(batch, err.message);
            this.d.log.warn(`rejected: ${batch.origin.file} line ${batch.firstSeq}: refused by the service: ${err.message}`);
          }
          continue;
        }
        this.d.log.error(`metric batch refused (${err.message}); retrying later`);
        await this.wake.sleep(this.d.settings.retryMaxMs);
        if (Date.now() >= this.giveUpAt) throw new GaveUp(err);
      }
    }
  }

  private async post(batch: Batch): Promise<BatchAck> {
    const url = `/runs/${encodeURIComponent(this.d.runId)}/metrics`;
    const file = batch.origin.file;
    const source = batch.origin.source;
    if (batch.kind === 'rejected') {
      const body: MetricBatch = { stream: batch.stream, file, lines: batch.rejected };
      if (source !== null) body.source = source;
      return (await this.d.api.post(url, JSON.stringify(body), { headers: { 'content-type': 'application/json' } })).data as BatchAck;
    }
    let body: Buffer = batch.chunks.length === 1 ? batch.chunks[0] : Buffer.concat(batch.chunks);
    batch.chunks = [body];
    const headers: Record<string, string> = {
      'content-type': NDJSON_TYPE,
      [BATCH_HEADERS.stream]: batch.stream,
      [BATCH_HEADERS.firstSeq]: String(batch.firstSeq),
      [BATCH_HEADERS.file]: file,
      [BATCH_HEADERS.time]: String(batch.readTime),
    };
    if (source !== null) headers[BATCH_HEADERS.source] = encodeURIComponent(source);
    const threshold = this.d.settings.compressBatchesOverBytes;
    const raw = body.length;
    if (threshold > 0 && raw > threshold && !this.loopback) {
      body = await gzipAsync(body, { level: 1 });
      headers['content-encoding'] = 'gzip';
    }
    this.d.log.debug(
      `sending ${path.basename(file)} lines ${batch.firstSeq}-${batch.firstSeq + batch.count - 1}: ${raw} bytes${headers['content-encoding'] ? `, gzipped to ${body.length}` : ''}`,
    );
    const ack = (await this.d.api.post(url, body, { headers })).data as NdjsonBatchAck;
    for (const r of ack.rejected ?? []) this.d.log.warn(`rejected: ${file} line ${r.seq}: ${r.reason}`);
    return ack;
  }
}
