/**
 * A TensorBoard event file as a metric source: records framed (record-framing.ts), decoded
 * (event-decoder.ts), each scalar a line `{"name": tag, "value", "step", "time": wall_time}` of
 * the file's stream. Event files are only ever appended to: the position is a byte offset (after
 * a whole record) and the number of lines made before it. A torn last record waits for the rest.
 */
import { createHash } from 'crypto';
import fs from 'fs';
import path from 'path';
import { BasePosition, FileReader, ReaderContext, streamName } from '../file-source';
import { DecodedEvent, decodeEvent, metricLine } from './event-decoder';
import { FramedRecord, frameRecords, recordSize } from './record-framing';

export interface TfeventsPosition extends BasePosition {
  ino: number;
  dev: number;
  /** sha256 of the file's first bytes (up to FINGERPRINT_BYTES, within what was read): a file rewritten in place is a new stream. */
  fingerprint: string;
  fingerprintBytes: number;
  /** Just past the last whole record read. */
  offset: number;
}

const FINGERPRINT_BYTES = 256;
/** Records decoded between two turns of the event loop (about 10 ms of work). */
const RECORDS_PER_TURN = 2048;

export class TfeventsReader extends FileReader<TfeventsPosition> {
  readonly file: string;
  readonly source: string;
  private pos: TfeventsPosition | null;

  constructor(
    key: string,
    ctx: ReaderContext,
    private readonly rel: string,
    saved: TfeventsPosition | null,
  ) {
    super(key, ctx);
    this.file = `${ctx.prefix}${rel}`;
    // TensorBoard's run is the folder: event files written one after another into it make one series per tag.
    this.source = `tensorboard ${ctx.prefix}${path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel)}`.replace(/\/$/, '');
    this.pos = saved;
  }

  protected restart(stream: string): void {
    if (this.pos?.stream !== stream) return; // an older generation: its file is gone
    this.pos = { ...this.pos, offset: 0, seq: 0 };
  }

  async read(final: boolean): Promise<boolean> {
    const opened = this.open(this.rel);
    if (!opened) return true;
    const { fd, st } = opened;
    try {
      this.checkIdentity(fd, st);
      const done = await this.readRecords(fd, st.size, final);
      const pos = this.pos!;
      if (pos.fingerprintBytes < FINGERPRINT_BYTES && pos.offset > pos.fingerprintBytes) this.fingerprint(fd, pos);
      return done;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The file the position describes, still; else it is read from its start as a new stream. */
  private checkIdentity(fd: number, st: fs.Stats): void {
    const pos = this.pos;
    if (pos === null) {
      this.pos = this.newPosition(st, 1);
      return;
    }
    let why: string | null = null;
    if (st.ino !== pos.ino || st.dev !== pos.dev) why = 'was replaced by another file';
    else if (st.size < pos.offset) why = `shrank from ${pos.offset} to ${st.size} bytes`;
    else if (pos.fingerprintBytes > 0 && this.fingerprintOf(fd, pos.fingerprintBytes) !== pos.fingerprint) why = 'was rewritten (its first bytes changed)';
    if (why === null) return;
    this.ctx.warn(`${this.file} ${why}; it is read as a new stream`, this.file);
    this.pos = this.newPosition(st, pos.generation + 1);
  }

  private newPosition(st: fs.Stats, generation: number): TfeventsPosition {
    const where = `${this.file}@${st.ino}.${Math.floor(st.birthtimeMs || 0)}`;
    return { stream: streamName('tfevents', where, generation), generation, ino: st.ino, dev: st.dev, fingerprint: '', fingerprintBytes: 0, offset: 0, seq: 0 };
  }

  private fingerprint(fd: number, pos: TfeventsPosition): void {
    const n = Math.min(FINGERPRINT_BYTES, pos.offset);
    pos.fingerprint = this.fingerprintOf(fd, n);
    pos.fingerprintBytes = n;
  }

  private fingerprintOf(fd: number, n: number): string {
    const buf = Buffer.alloc(n);
    const got = fs.readSync(fd, buf, 0, n, 0);
    return createHash('sha256').update(buf.subarray(0, got)).digest('hex');
  }

  /**
   * Reads whole records from the position to `size`; false if it stopped for want of room. The
   * event loop gets a turn every few thousand records, so that the sender posts the next batch
   * as soon as the last one is acknowledged, while the rest is decoded.
   */
  private async readRecords(fd: number, size: number, final: boolean): Promise<boolean> {
    const s = this.ctx.settings;
    const pos = this.pos!;
    let need = 0;
    while (pos.offset < size) {
      if (this.full) return false;
      const at = pos.offset;
      const want = Math.min(size - at, Math.max(s.readChunkBytes, need));
      const buf = Buffer.allocUnsafe(want);
      const n = fs.readSync(fd, buf, 0, want, at);
      if (n === 0) break;
      const f = frameRecords(buf.subarray(0, n), at, s.tfeventsMaxRecordBytes);
      for (let i = 0; i < f.records.length; i += RECORDS_PER_TURN) {
        this.take(f.records.slice(i, i + RECORDS_PER_TURN));
        await new Promise((r) => setImmediate(r));
        // Read again from its start meanwhile (the service lacked lines): this read is over.
        if (this.pos !== pos) return true;
      }
      need = 0;
      if (f.stop === null) continue;
      if (f.stop === 'torn') {
        if (f.next > at) continue; // whole records were taken: read on from the torn one
        if (at + n >= size) {
          // The end of the file: the rest of the record comes with the writer's next flush.
          if (final) this.warnOnce(`${this.file} ends with an incomplete record (${size - at} bytes at offset ${at}); it is not read`);
          break;
        }
        need = recordSize(buf.subarray(0, n)) ?? 0; // a record longer than a read: one read of its size
        continue;
      }
      if (f.stop === 'too-large') {
        if (f.skipTo! > size) break; // skipped once it is all there
        this.warnOnce(`${this.file}: the record at offset ${at} is ${f.skipTo! - at} bytes, over agent.tfeventsMaxRecordBytes (${s.tfeventsMaxRecordBytes}); skipped`);
        pos.offset = f.skipTo!;
        continue;
      }
      this.warnOnce(`${this.file} is corrupt at offset ${at} (a record length that fails its checksum); nothing after it is read`);
      break;
    }
    return true;
  }

  /**
   * Records -> lines: one per scalar, a rejected line for a value no metric can hold. A batch may
   * end inside a record: its end is then that record's start, with the lines before the record
   * (read again after a restart, its lines get the same numbers, and the service skips them).
   */
  private take(records: FramedRecord[]): void {
    const pos = this.pos!;
    let text = '';
    let count = 0;
    let runFirstSeq = 0;
    let runStart = { offset: 0, seq: 0 };
    // Where each record of the run ends: lines so far, its end offset, the lines before that offset.
    let markLines: number[] = [];
    let markOffsets: number[] = [];
    let markSeqs: number[] = [];
    const flush = () => {
      if (count === 0) return;
      const start = runStart;
      const [lines, offsets, seqs] = [markLines, markOffsets, markSeqs];
      this.batcher.addLines(pos.stream, runFirstSeq, count, Buffer.from(text), (n) => {
        let i = lines.length - 1;
        while (i >= 0 && lines[i] > n) i--;
        return i < 0 ? { ...pos, offset: start.offset, seq: start.seq } : { ...pos, offset: offsets[i], seq: seqs[i] };
      });
      text = '';
      count = 0;
      markLines = [];
      markOffsets = [];
      markSeqs = [];
    };
    for (const r of records) {
      const recordSeq = pos.seq; // lines before this record
      const event = this.eventOf(r);
      const values = event?.values ?? [];
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        pos.seq++;
        if ('problem' in v) {
          flush();
          const last = i === values.length - 1;
          const end = last ? { ...pos, offset: r.end } : { ...pos, offset: r.start, seq: recordSeq };
          this.batcher.addRejected(pos.stream, pos.seq, `${JSON.stringify(v.tag)} at step ${event!.step} is ${v.problem}`, end);
          continue;
        }
        if (count === 0) {
          runFirstSeq = pos.seq;
          runStart = { offset: r.start, seq: recordSeq };
        }
        text += metricLine(v.tag, v.value, event!.step, event!.wallTime);
        count++;
      }
      pos.offset = r.end;
      if (count > 0) {
        markLines.push(count);
        markOffsets.push(r.end);
        markSeqs.push(pos.seq);
      }
    }
    flush();
  }

  /** A record's event; null for a record that cannot be read (said once). */
  private eventOf(r: FramedRecord): DecodedEvent | null {
    if (r.data === null) {
      this.warnOnce(`${this.file}: the record at offset ${r.start} fails its checksum; skipped`);
      return null;
    }
    try {
      return decodeEvent(r.data);
    } catch (err) {
      this.warnOnce(`${this.file}: the record at offset ${r.start} is not a TensorBoard event (${(err as Error).message}); skipped`);
      return null;
    }
  }
}
