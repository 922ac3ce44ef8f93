/**
 * Batches of lines on their way to the service, built by a source's reader: lines of one stream
 * with consecutive sequence numbers, closed once full. Pure: no I/O, no timers.
 */
import type { WireLine } from '../../protocol';

/** Where a batch's lines came from: what is saved once they are acknowledged, and how they are read again. */
export interface BatchOrigin<P = unknown> {
  /** The file the service names in its records of these lines (rejected lines, streams). */
  readonly file: string;
  /** What wrote the lines, for the service (MetricBatch.source): null for the run's spool. */
  readonly source: string | null;
  /** Saves `end` as acknowledged (checkpoint, watermark); called in the order of the acknowledgements. */
  commit(end: P): Promise<void>;
  /** The service lacks lines of `stream`: they are read again from its first line; resolves once that is under way. */
  rewind(stream: string): Promise<void>;
  /** The position just past line `lastSeq` of a batch ending at `end`, `restBytes` of its bytes after it; null: unknown (the rest's end covers it). */
  splitEnd?(end: P, lastSeq: number, restBytes: number): P | null;
  /** Told of each acknowledged batch, before its end is committed. */
  onAck?(batch: Batch<P>): void;
}

export interface Batch<P = unknown> {
  origin: BatchOrigin<P>;
  /** Lines as written (NDJSON, parsed by the service), or lines rejected before they left (JSON). */
  kind: 'lines' | 'rejected';
  stream: string;
  firstSeq: number;
  count: number;
  chunks: Buffer[];
  rejected: WireLine[];
  bytes: number;
  /** The position just past the last line, committed after the acknowledgement; null: nothing to commit. */
  end: P | null;
  /** When its first line was added (ms): a batch is sent at most agent.batchWindowMs later. */
  firstAt: number;
  /** When it was read (s): the time of its lines that name none. */
  readTime: number;
}

export interface BatchLimits {
  batchMaxLines: number;
  batchMaxBytes: number;
}

/** Lines read but not yet acknowledged, over every source: reading pauses above a limit. */
export class LineBudget {
  held = 0;
}

/**
 * One source's open batch: lines go in, full batches come out (`sealed`), in order. A run of
 * lines larger than the room left is cut at a newline, each part with its own end position.
 */
export class Batcher<P> {
  current: Batch<P> | null = null;

  constructor(
    private readonly origin: BatchOrigin<P>,
    private readonly limits: BatchLimits,
    private readonly budget: LineBudget,
    private readonly sealed: (batch: Batch<P>) => void,
  ) {}

  /**
   * Adds `count` complete lines (`data`, each ended by a newline) numbered from `firstSeq` on.
   * `endAfter(lines, bytes)`: the position after the first `lines` of them, `bytes` long.
   */
  addLines(stream: string, firstSeq: number, count: number, data: Buffer, endAfter: (lines: number, bytes: number) => P | null): void {
    let taken = 0;
    let used = 0;
    while (taken < count) {
      const c = this.open('lines', stream, firstSeq + taken);
      // As many lines as fit in this batch.
      const room = Math.min(this.limits.batchMaxLines - c.count, count - taken);
      const cut = room < count - taken ? nthNewline(data, room, used) + 1 : data.length;
      c.chunks.push(used === 0 && cut === data.length ? data : data.subarray(used, cut));
      c.count += room;
      c.bytes += cut - used;
      this.budget.held += room;
      taken += room;
      used = cut;
      c.end = endAfter(taken, used);
      if (c.count >= this.limits.batchMaxLines || c.bytes >= this.limits.batchMaxBytes) this.seal();
    }
  }

  /** A line rejected here (too long to hold, say): it still takes its place in the stream. */
  addRejected(stream: string, seq: number, reason: string, end: P | null, time = Date.now() / 1000): void {
    const c = this.open('rejected', stream, seq);
    // The reason alone: the batch names the file, and the seq is the line.
    c.rejected.push({ seq, time, error: reason });
    c.count++;
    c.end = end;
    this.budget.held++;
  }

  /** The open batch if it can take `kind` from `seq` on, else a new one. */
  private open(kind: Batch['kind'], stream: string, seq: number): Batch<P> {
    const c = this.current;
    if (c && (c.kind !== kind || c.stream !== stream || c.firstSeq + c.count !== seq)) this.seal();
    if (!this.current) {
      const now = Date.now();
      this.current = { origin: this.origin, kind, stream, firstSeq: seq, count: 0, chunks: [], rejected: [], bytes: 0, end: null, firstAt: now, readTime: now / 1000 };
    }
    return this.current;
  }

  /** Full, or as large as it will get: the batch goes to the sender. */
  seal(): void {
    const c = this.current;
    if (!c) return;
    this.current = null;
    this.sealed(c);
  }

  /** Whether the open batch should go now: full, or open for `windowMs` already. */
  due(windowMs: number, now = Date.now()): boolean {
    const c = this.current;
    return !!c && (c.count >= this.limits.batchMaxLines || c.bytes >= this.limits.batchMaxBytes || now - c.firstAt >= windowMs);
  }

  /** Drops the open batch (its stream is read again); returns how many lines it held. */
  drop(): number {
    const n = this.current?.count ?? 0;
    this.current = null;
    this.budget.held -= n;
    return n;
  }
}

/**
 * Too large for the service: the first half stays in `batch`, the rest is returned (the next
 * batch). Lines only: a rejected batch is never split.
 */
export function splitBatch<P>(batch: Batch<P>): Batch<P> {
  const half = Math.ceil(batch.count / 2);
  const data = Buffer.concat(batch.chunks);
  const cut = nthNewline(data, half) + 1;
  const rest: Batch<P> = { ...batch, firstSeq: batch.firstSeq + half, count: batch.count - half, chunks: [data.subarray(cut)], bytes: data.length - cut };
  batch.chunks = [data.subarray(0, cut)];
  batch.bytes = cut;
  batch.count = half;
  // The first half's checkpoint ends just past its last line, where the origin can say where that is.
  batch.end = batch.end === null || !batch.origin.splitEnd ? null : batch.origin.splitEnd(batch.end, batch.firstSeq + half - 1, rest.bytes);
  return rest;
}

/** Turns a one-line batch into that line's rejection, with the service's reason. */
export function rejectBatch(batch: Batch, reason: string): void {
  batch.kind = 'rejected';
  batch.chunks = [];
  batch.bytes = 0;
  batch.rejected = [{ seq: batch.firstSeq, time: Date.now() / 1000, error: `refused by the service: ${reason}` }];
}

/** Index of the n-th newline (1-based) in `data`, counting from `from`. */
export function nthNewline(data: Buffer, n: number, from = 0): number {
  let at = from - 1;
  for (let i = 0; i < n; i++) at = data.indexOf(0x0a, at + 1);
  return at;
}
