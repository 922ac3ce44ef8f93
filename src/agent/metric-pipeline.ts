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
import { classify } from '../http/classify';
import type { Logger } from '../log/logger';
import { BATCH_HEADERS, BatchAck, MetricBatch, NDJSON_TYPE, NdjsonBatchAck, WireLine, isLoopback } from '../protocol';
import { GaveUp, untilDeadline, withRetry } from './retry';
import { SpoolPosition, SpoolSegment, SpoolTailer, StreamReset } from './spool-tailer';
import type { SpoolCheckpoint } from '../run-folder';

const gzipAsync = promisify(gzip);

/** The batch in hand was given up because the spool is being read again from an earlier line. */
class Rewound extends Error {}
/** The sender is woken by every sealed batch; this is only a safety net. */
const IDLE_SENDER_MS = 5_000;

/** Raw lines (sent as NDJSON, parsed by the service) or lines rejected here (sent as JSON). */
interface Batch {
  kind: 'lines' | 'rejected';
  stream: string;
  firstSeq: number;
  count: number;
  chunks: Buffer[];
  rejected: WireLine[];
  bytes: number;
  end: SpoolPosition;
  firstAt: number;
  readTime: number;
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
  registerRun: () => Promise<void>;
  onReset: (reset: StreamReset) => void;
  /** Something about the spool a person should know (logged and recorded on the run). */
  onWarning: (message: string) => void;
  /** The service answered 404 for the run: register it again. */
  onUnknownRun: () => Promise<void>;
}

export class MetricPipeline {
  private tailer!: SpoolTailer;
  private queue: Batch[] = [];
  private current: Batch | null = null;
  private finishing = false;
  private stopped = false;
  /** Wakers of the reader and the sender, each sleeping on its own. */
  private wakers: Record<'reader' | 'sender', (() => void) | null> = { reader: null, sender: null };
  private watcher: fs.FSWatcher | null = null;
  private readerDone: Promise<void> | null = null;
  private senderDone: Promise<void> | null = null;
  private bufferedLines = 0;
  private readerExited = false;
  private senderExited = false;
  private giveUpAt = Infinity;
  /** The last read failure said, while reads keep failing. */
  private readFailure: string | null = null;
  /** The sender's request that the reader start a stream over (the service lacks lines of it). */
  private rewindRequest: { stream: string; done: () => void } | null = null;
  acked: SpoolPosition | null = null;
  linesAcked = 0;
  /** Of those, lines the service (or the tailer) rejected as invalid. */
  linesRejected = 0;
  /** Of those, 1 if the spool's last line had no newline when the run ended (it is rejected). */
  linesUnterminated = 0;
  private unterminated: { stream: string; seq: number } | null = null;

  /** A service on this machine: gzip would cost both ends CPU to save bandwidth there is plenty of. */
  private readonly loopback: boolean;

  constructor(private readonly d: PipelineDeps) {
    this.loopback = isLoopback(new URL(d.api.defaults.baseURL ?? 'http://localhost').hostname);
  }

  async start(): Promise<void> {
    this.acked = await this.d.checkpoint.load();
    this.tailer = new SpoolTailer(
      this.d.spoolFile,
      this.acked,
      { maxLineBytes: this.d.limits.maxLineBytes, readChunkBytes: this.d.settings.readChunkBytes },
      (reset) => this.d.onReset(reset),
      (message) => this.d.onWarning(message),
    );
    fs.mkdirSync(path.dirname(this.d.spoolFile), { recursive: true });
    // The folder, not the file: the spool may not exist yet, or be replaced.
    this.watcher = fs.watch(path.dirname(this.d.spoolFile), (_event, name) => {
      if (!name || name === path.basename(this.d.spoolFile)) this.poke('reader');
    });
    this.watcher.on('error', (err) => this.d.log.warn(`watching ${this.d.spoolFile} failed (${err.message}); polling only`));
    // Neither loop may end in an unhandled rejection: a failure is logged and stops the pipeline.
    const failed = (what: string) => (err: unknown) => {
      this.d.log.error(`metric ${what} failed: ${(err as Error)?.stack ?? err}`);
      this.stopped = true;
      this.poke();
    };
    this.readerDone = this.readLoop().catch(failed('reader'));
    this.senderDone = this.sendLoop().catch(failed('sender'));
  }

  /** Lines read but not yet acknowledged. */
  get backlog(): number {
    return this.bufferedLines;
  }

  /** Reads to the end of the spool, ships everything, then stops. False if the deadline passed first. */
  async finish(deadline: number): Promise<boolean> {
    this.finishing = true;
    this.giveUpAt = deadline;
    await this.shutdown();
    return this.queue.length === 0 && this.current === null && this.readFailure === null;
  }

  /** Stops without a final sync (what is not acknowledged stays in the spool). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.giveUpAt = 0;
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.poke();
    try {
      await this.readerDone;
      await this.senderDone;
    } finally {
      this.watcher?.close();
      await this.tailer.close();
    }
  }

  private poke(who: 'reader' | 'sender' | 'both' = 'both'): void {
    for (const k of who === 'both' ? (['reader', 'sender'] as const) : [who]) {
      const w = this.wakers[k];
      this.wakers[k] = null;
      w?.();
    }
  }

  private sleep(who: 'reader' | 'sender', ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakers[who] = null;
        resolve();
      }, ms);
      this.wakers[who] = () => {
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
      this.takeRewindRequest();
      this.poke();
    }
  }

  /** Done by the reader, between two reads, so that no read in flight adds lines from before it. */
  private takeRewindRequest(): void {
    const r = this.rewindRequest;
    if (!r) return;
    this.rewindRequest = null;
    this.rewind(r.stream);
    r.done();
  }

  private async readUntilDone(): Promise<void> {
    const s = this.d.settings;
    while (!this.stopped) {
      // The sender gave up (deadline passed): nothing read now could be sent.
      if (this.senderExited) break;
      this.takeRewindRequest();
      if (this.bufferedLines >= s.maxBufferedLines) {
        this.seal(); // what waits unsealed must be sendable, or backpressure never lifts
        await this.sleep('reader', s.spoolPollMs); // backpressure: memory stays bounded whatever the backlog
        continue;
      }
      const room = Math.min(s.batchMaxLines, s.maxBufferedLines - this.bufferedLines);
      const segments = await this.readSpool(room);
      if (segments === null) {
        // Unreadable now: at the end of a run, what is left stays in the spool for `outpost sync`.
        if (this.finishing) break;
        await this.sleep('reader', s.spoolPollMs);
        continue;
      }
      let read = 0;
      for (const seg of segments) read += this.add(seg);
      const atEnd = read < room;
      if (this.finishing && atEnd) {
        const unterminated = this.tailer.takeUnterminated();
        if (unterminated) {
          this.unterminated = { stream: this.tailer.position!.stream, seq: unterminated.seq };
          this.add(unterminated);
        }
      }
      const c = this.current;
      if (c) {
        const full = c.count >= s.batchMaxLines || c.bytes >= s.batchMaxBytes;
        const aged = Date.now() - c.firstAt >= s.batchWindowMs;
        if (full || this.finishing || (atEnd && aged && this.queue.length === 0)) this.seal();
      }
      if (this.finishing && atEnd && !this.current) break;
      if (!atEnd) continue;
      // Sleep until more lines come (fs.watch), the window closes, or the sender frees up (ack).
      const c2 = this.current;
      const windowLeft = c2 ? s.batchWindowMs - (Date.now() - c2.firstAt) : 0;
      await this.sleep('reader', windowLeft > 0 ? windowLeft : s.spoolPollMs);
    }
  }

  /**
   * One read of the spool, or null when it failed. A failure never ends the reader: it is said
   * (once per distinct message), the spool is opened afresh, and the next read resumes, or reads
   * a new stream if the file was replaced meanwhile.
   */
  private async readSpool(room: number): Promise<SpoolSegment[] | null> {
    try {
      const segments = await this.tailer.read(room);
      this.readFailure = null;
      return segments;
    } catch (err) {
      const message = `reading the spool ${this.d.spoolFile} failed (${(err as Error).message}); it is opened again and read on`;
      if (message !== this.readFailure) this.d.onWarning(message);
      this.readFailure = message;
      await this.tailer.reopen();
      return null;
    }
  }

  /** Adds a segment to the open batch, sealing batches as they fill; returns its line count. */
  private add(seg: SpoolSegment): number {
    const s = this.d.settings;
    const end = this.tailer.position!;
    if (seg.kind === 'rejected') {
      const c = this.open('rejected', end, seg.seq);
      // The reason alone: the batch names the file, and the seq is the line.
      c.rejected.push({ seq: seg.seq, time: Date.now() / 1000, error: seg.reason });
      this.d.log.warn(`rejected: ${path.basename(this.d.spoolFile)} line ${seg.seq}: ${seg.reason}`);
      c.count++;
      c.end = { ...end, offset: seg.endOffset, line: seg.seq };
      this.bufferedLines++;
      return 1;
    }
    let { data, firstSeq, count } = seg;
    const total = count;
    while (count > 0) {
      const c = this.open('lines', end, firstSeq);
      // Take as many lines as fit in this batch.
      const room = Math.min(s.batchMaxLines - c.count, count);
      let cut = data.length;
      let taken = count;
      if (room < count) {
        cut = nthNewline(data, room) + 1;
        taken = room;
      }
      c.chunks.push(cut === data.length ? data : data.subarray(0, cut));
      c.count += taken;
      c.bytes += cut;
      this.bufferedLines += taken;
      const lastSeq = firstSeq + taken - 1;
      c.end = { ...end, line: lastSeq, offset: taken === count ? seg.endOffset : seg.endOffset - (data.length - cut) };
      data = data.subarray(cut);
      firstSeq += taken;
      count -= taken;
      if (c.count >= s.batchMaxLines || c.bytes >= s.batchMaxBytes) this.seal();
    }
    return total;
  }

  /** The open batch if it can take `kind` from `seq` on, else a new one. */
  private open(kind: Batch['kind'], end: SpoolPosition, seq: number): Batch {
    const c = this.current;
    if (c && (c.kind !== kind || c.stream !== end.stream || c.firstSeq + c.count !== seq)) this.seal();
    if (!this.current) {
      const now = Date.now();
      this.current = { kind, stream: end.stream, firstSeq: seq, count: 0, chunks: [], rejected: [], bytes: 0, end, firstAt: now, readTime: now / 1000 };
    }
    return this.current;
  }

  private seal(): void {
    if (!this.current) return;
    this.queue.push(this.current);
    this.current = null;
    this.poke('sender');
  }

  private async sendLoop(): Promise<void> {
    try {
      await this.sendUntilDone();
    } catch (err) {
      if (!(err instanceof GaveUp)) throw err;
    } finally {
      this.senderExited = true;
      this.poke('reader');
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
          if (this.stopped || (this.finishing && this.readerExited && !this.current)) return;
          await this.sleep('sender', IDLE_SENDER_MS); // seal() wakes it at once
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
        this.bufferedLines -= batch.count;
        this.linesAcked += batch.count;
        this.linesRejected += batch.kind === 'rejected' ? batch.rejected.length : ((ack as NdjsonBatchAck).rejected?.length ?? 0);
        const u = this.unterminated;
        if (u && batch.stream === u.stream && batch.firstSeq <= u.seq && u.seq < batch.firstSeq + batch.count) this.linesUnterminated = 1;
        await saved;
        saved = this.d.checkpoint.save(batch.end).then(() => {
          this.acked = batch.end;
          this.poke();
        });
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
          this.d.onWarning(`${err.message}; the spool is read again from its first line, and the service stores the lines it lacks`);
          await this.requestRewind(batch.stream);
          throw new Rewound();
        }
        if (batch.kind === 'lines' && (verdict === 'smaller' || (verdict === 'refuse' && err.code === 'OUTPOST_ERR_BAD_LINE'))) {
          // Too large, or a line the service refuses whatever we do: the lines must not wait for
          // ever behind it. Halve the batch down to one line, then record that line as rejected.
          if (batch.count > 1) this.split(batch);
          else this.reject(batch, err.message);
          continue;
        }
        this.d.log.error(`metric batch refused (${err.message}); retrying later`);
        await this.sleep('sender', this.d.settings.retryMaxMs);
        if (Date.now() >= this.giveUpAt) throw new GaveUp(err);
      }
    }
  }

  private requestRewind(stream: string): Promise<void> {
    if (this.readerExited) {
      this.rewind(stream);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.rewindRequest = { stream, done: resolve };
      this.poke('reader');
    });
  }

  /** Drops what was read and not acknowledged, and reads `stream` again from its start. */
  private rewind(stream: string): void {
    if (this.tailer.position?.stream === stream) {
      this.tailer.rewind();
      this.queue = [];
      this.current = null;
      this.bufferedLines = 0;
      return;
    }
    // An older incarnation of the spool, whose file is no longer at the path: what the service
    // lacks of it cannot be read again, and its later lines cannot be stored after a gap.
    const dropped = this.queue.filter((b) => b.stream === stream);
    const lines = dropped.reduce((n, b) => n + b.count, 0);
    this.queue = this.queue.filter((b) => b.stream !== stream);
    if (this.current?.stream === stream) this.current = null;
    this.bufferedLines -= lines;
    this.d.onWarning(`${lines} lines of ${stream} are not sent: the service lacks the lines before them, and the file they came from was replaced`);
  }

  /** Turns a one-line batch into that line's rejection, with the service's reason. */
  private reject(batch: Batch, reason: string): void {
    const file = path.basename(this.d.spoolFile);
    batch.kind = 'rejected';
    batch.chunks = [];
    batch.rejected = [{ seq: batch.firstSeq, time: Date.now() / 1000, error: `refused by the service: ${reason}` }];
    this.d.log.warn(`rejected: ${file} line ${batch.firstSeq}: refused by the service: ${reason}`);
  }

  /** Too large for the service: the first half goes now, the rest becomes the next batch. */
  private split(batch: Batch): void {
    const half = Math.ceil(batch.count / 2);
    const data = Buffer.concat(batch.chunks);
    const cut = nthNewline(data, half) + 1;
    const rest: Batch = { ...batch, firstSeq: batch.firstSeq + half, count: batch.count - half, chunks: [data.subarray(cut)], bytes: data.length - cut };
    batch.chunks = [data.subarray(0, cut)];
    batch.bytes = cut;
    batch.count = half;
    // The first half's checkpoint ends just past its last line.
    batch.end = { ...batch.end, line: batch.firstSeq + half - 1, offset: batch.end.offset - rest.bytes };
    this.queue.splice(1, 0, rest);
  }

  private async post(batch: Batch): Promise<BatchAck> {
    const url = `/runs/${encodeURIComponent(this.d.runId)}/metrics`;
    const file = path.basename(this.d.spoolFile);
    if (batch.kind === 'rejected') {
      const body: MetricBatch = { stream: batch.stream, file, lines: batch.rejected };
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
    const threshold = this.d.settings.compressBatchesOverBytes;
    const raw = body.length;
    if (threshold > 0 && raw > threshold && !this.loopback) {
      body = await gzipAsync(body, { level: 1 });
      headers['content-encoding'] = 'gzip';
    }
    this.d.log.debug(
      `sending lines ${batch.firstSeq}-${batch.firstSeq + batch.count - 1}: ${raw} bytes${headers['content-encoding'] ? `, gzipped to ${body.length}` : ''}`,
    );
    const ack = (await this.d.api.post(url, body, { headers })).data as NdjsonBatchAck;
    for (const r of ack.rejected ?? []) this.d.log.warn(`rejected: ${file} line ${r.seq}: ${r.reason}`);
    return ack;
  }
}

/** Index of the n-th newline (1-based) in `data`. */
function nthNewline(data: Buffer, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) at = data.indexOf(0x0a, at + 1);
  return at;
}
