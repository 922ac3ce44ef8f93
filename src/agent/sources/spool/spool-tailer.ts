/**
 * Reads complete lines from the metric spool, from an acknowledged position on. A line's identity
 * is (stream, line number): the stream names one incarnation of the file, so a truncated or
 * replaced spool becomes a new stream instead of lines lost or sent twice.
 */
import { createHash } from 'crypto';
import fs, { promises as fsp } from 'fs';
import path from 'path';
import type { SpoolPosition } from '../../../run-folder';
import { ctimeSettled, sameVersion } from '../../file-version';

export type { SpoolPosition };


/**
 * What a read yields: runs of complete lines, raw (the service parses them), or a line rejected
 * here because it is too long to hold. `endOffset` is the byte just past the last line.
 */
export type SpoolSegment =
  { kind: 'lines'; firstSeq: number; count: number; data: Buffer; endOffset: number } | { kind: 'rejected'; seq: number; reason: string; endOffset: number };

export interface StreamReset {
  reason: 'truncated' | 'replaced';
  from: SpoolPosition;
  message: string;
}

export interface TailerOptions {
  maxLineBytes: number;
  readChunkBytes: number;
}

const FINGERPRINT_BYTES = 256;
const NEWLINE = 0x0a;

export class SpoolTailer {
  private fh: fsp.FileHandle | null = null;
  private pos: SpoolPosition | null;
  /** Bytes read past pos.offset that do not yet end in a newline. */
  private pending: Buffer = Buffer.alloc(0);
  /** Inside a line longer than the limit: skipping to its newline. */
  private oversized = 0;
  /** The spool's size at the last check (ensureOpen stats it anyway). */
  private size = 0;
  /** The path's stat when it last passed every check (same file, not truncated, same start). */
  private lastSeen: fs.Stats | null = null;
  /** A read failed after it had produced lines: those were returned, the error is thrown next time. */
  private deferred: Error | null = null;
  /** What the path holds instead of a regular file, once said (said again only when it changes). */
  private notAFile: string | null = null;

  constructor(
    readonly file: string,
    start: SpoolPosition | null,
    private readonly opts: TailerOptions,
    private readonly onReset: (reset: StreamReset) => void,
    private readonly onWarning?: (message: string) => void,
  ) {
    this.pos = start ? { ...start } : null;
  }

  get position(): SpoolPosition | null {
    return this.pos ? { ...this.pos } : null;
  }

  /**
   * Reads what is there now, stopping once about `maxLines` complete lines are in hand. Returns []
   * when nothing new is complete (or the spool does not exist yet).
   */
  async read(maxLines: number): Promise<SpoolSegment[]> {
    if (this.deferred) {
      const err = this.deferred;
      this.deferred = null;
      throw err;
    }
    if (!(await this.ensureOpen())) return [];
    const out: SpoolSegment[] = [];
    const pos = this.pos!;
    let lines = 0;
    try {
      while (lines < maxLines) {
        const readAt = pos.offset + this.pending.length + this.oversized;
        // Nothing new (the common wake-up): no buffer, no read. Else a buffer sized to what is
        // there, handed on to the segments as it is (they outlive this call).
        const want = Math.min(this.opts.readChunkBytes, this.size - readAt);
        if (want <= 0) break;
        const chunk = Buffer.allocUnsafe(want);
        const { bytesRead } = await this.fh!.read(chunk, 0, want, readAt);
        if (bytesRead === 0) break;
        lines += this.consume(chunk.subarray(0, bytesRead), out);
        if (bytesRead < want) break;
        if (readAt + bytesRead >= this.size) this.size = (await this.fh!.stat()).size; // it may have grown meanwhile
      }
      if (pos.fingerprintBytes < FINGERPRINT_BYTES && pos.offset > pos.fingerprintBytes) await this.refreshFingerprint();
    } catch (err) {
      // The position already counts the lines in `out`: they must reach the caller, not vanish with the error.
      if (out.length === 0) throw err;
      this.deferred = err as Error;
    }
    return out;
  }

  /**
   * After a failed read: the file is opened afresh at the next read, and resumed if it is still the
   * one the position describes, else read as a new stream (a replacement). Bytes of an unfinished
   * line are read again.
   */
  async reopen(): Promise<void> {
    this.deferred = null;
    this.pending = Buffer.alloc(0);
    this.oversized = 0;
    await this.close();
  }

  /** Reads the same file again from its first line (same stream: the service skips what it has). */
  rewind(): void {
    if (!this.pos) return;
    this.pos.offset = 0;
    this.pos.line = 0;
    this.deferred = null;
    this.pending = Buffer.alloc(0);
    this.oversized = 0;
    this.lastSeen = null;
  }

  /**
   * At the end of a run: an unfinished last line will never get its newline. It is taken as a
   * rejected line (so it is counted and named) and the position moves past it.
   */
  takeUnterminated(): Extract<SpoolSegment, { kind: 'rejected' }> | null {
    const pos = this.pos;
    const bytes = this.pending.length + this.oversized;
    if (!pos || bytes === 0) return null;
    pos.line++;
    pos.offset += bytes;
    this.pending = Buffer.alloc(0);
    this.oversized = 0;
    return { kind: 'rejected', seq: pos.line, reason: `no newline before the run ended (${bytes} bytes)`, endOffset: pos.offset };
  }

  /** Cuts bytes into runs of complete lines; the unfinished last line waits in `pending`. */
  private consume(bytes: Buffer, out: SpoolSegment[]): number {
    const pos = this.pos!;
    const max = this.opts.maxLineBytes;
    let runStart = 0; // where the current run of good lines starts in `bytes`
    let runFirstSeq = pos.line + 1;
    let runCount = 0;
    let start = 0;
    let total = 0;
    const flushRun = (end: number) => {
      if (runCount === 0) return;
      const data = this.pending.length ? Buffer.concat([this.pending, bytes.subarray(runStart, end)]) : bytes.subarray(runStart, end);
      this.pending = Buffer.alloc(0);
      out.push({ kind: 'lines', firstSeq: runFirstSeq, count: runCount, data, endOffset: pos.offset });
      runCount = 0;
    };
    for (;;) {
      const nl = bytes.indexOf(NEWLINE, start);
      if (nl === -1) break;
      const lineBytes = (start === 0 ? this.pending.length + this.oversized : 0) + nl - start;
      pos.line++;
      total++;
      if (this.oversized || lineBytes > max) {
        flushRun(start);
        pos.offset += lineBytes + 1;
        out.push({
          kind: 'rejected',
          seq: pos.line,
          reason: `line is ${lineBytes} bytes, over the limit of ${max} (limits.maxLineBytes)`,
          endOffset: pos.offset,
        });
        this.pending = Buffer.alloc(0);
        this.oversized = 0;
        runStart = nl + 1;
        runFirstSeq = pos.line + 1;
      } else {
        if (runCount === 0 && start !== runStart) runStart = start;
        runCount++;
        pos.offset += lineBytes + 1;
      }
      start = nl + 1;
    }
    flushRun(start);
    const rest = bytes.subarray(start);
    if (this.oversized || this.pending.length + rest.length > max) {
      // Too long already: count it, keep none of it, and reject it when its newline comes.
      this.oversized += this.pending.length + rest.length;
      this.pending = Buffer.alloc(0);
    } else if (rest.length) {
      this.pending = Buffer.concat([this.pending, rest]);
    }
    return total;
  }

  /** Opens the spool, resuming from the checkpoint when the file is the same one. */
  private async ensureOpen(): Promise<boolean> {
    // Synchronous: this runs on every wake-up (an idle agent polls twice a second), and a stat is
    // far cheaper than a thread-pool round trip.
    const st = fs.statSync(this.file, { throwIfNoEntry: false });
    if (!st) return false;
    if (!st.isFile()) return this.waitForFile(st);
    this.notAFile = null;
    this.size = st.size;
    if (this.fh) {
      // The same file, untouched since the last look: nothing can have happened to it. (lastSeen
      // is only kept once its ctime was well before the look, so a later change, even within a
      // coarse timestamp tick of it, shows in ctime.)
      const seen = this.lastSeen;
      if (seen && sameVersion(seen, st)) return true;
      this.lastSeen = null;
      const current = await this.fh.stat();
      if (st.ino !== current.ino || st.dev !== current.dev) {
        // Replaced: drain the old file first (lines written before the swap), then switch.
        this.size = current.size;
        if (current.size > this.pos!.offset + this.pending.length + this.oversized) return true;
        await this.reset('replaced', `${this.file} was replaced by a new file; it is read as a new stream`);
        return this.ensureOpen();
      }
      if (st.size < this.pos!.offset) {
        await this.reset('truncated', `${this.file} shrank from ${this.pos!.offset} to ${st.size} bytes (truncated); it is read as a new stream`);
        return this.ensureOpen();
      }
      // Truncated and written past the old end between two reads: its start tells.
      if (this.pos!.fingerprintBytes > 0 && !(await this.fingerprintMatches())) {
        await this.reset('truncated', `${this.file} was truncated and rewritten (its first bytes changed); it is read as a new stream`);
        return this.ensureOpen();
      }
      this.lastSeen = ctimeSettled(st) ? st : null;
      return true;
    }
    const opened = await this.openSpool();
    this.size = opened.size;
    if (!this.pos) {
      this.pos = await this.newPosition(opened, 1);
      return true;
    }
    const same = opened.ino === this.pos.ino && opened.dev === this.pos.dev;
    if (same && opened.size >= this.pos.offset && (await this.fingerprintMatches())) return true;
    const reason = !same ? 'replaced' : 'truncated';
    const message =
      reason === 'replaced'
        ? `${this.file} is not the file the checkpoint describes (replaced); it is read as a new stream`
        : `${this.file} is shorter than what was acknowledged, or its start changed (truncated or rewritten); it is read as a new stream`;
    this.onReset({ reason, from: { ...this.pos }, message });
    this.pos = await this.newPosition(opened, this.pos.generation + 1);
    return true;
  }

  /**
   * The path holds a folder (or a FIFO...) instead of the spool: whatever the old file still has
   * is read first; then nothing, until a regular file is back, which is read as a new stream.
   */
  private async waitForFile(st: fs.Stats): Promise<boolean> {
    if (this.fh) {
      const current = await this.fh.stat();
      this.size = current.size;
      if (current.size > this.pos!.offset + this.pending.length + this.oversized) return true;
    }
    const what = st.isDirectory() ? 'a folder' : 'not a regular file';
    if (this.notAFile !== what) {
      this.notAFile = what;
      this.onWarning?.(`${this.file} is ${what} now, not a spool; its lines are read again once a spool file is back (as a new stream)`);
    }
    return false;
  }

  private async reset(reason: StreamReset['reason'], message: string): Promise<void> {
    const from = { ...this.pos! };
    await this.fh?.close();
    this.fh = null;
    this.lastSeen = null;
    this.pending = Buffer.alloc(0);
    this.oversized = 0;
    this.onReset({ reason, from, message });
    // A new generation, from byte 0 of whatever is at the path now.
    const st = await this.openSpool();
    this.size = st.size;
    this.pos = await this.newPosition(st, from.generation + 1);
  }

  /** Opens the path, only as a regular file (non-blocking: a FIFO swapped in must not hang open(2)). */
  private async openSpool(): Promise<fs.Stats> {
    const fh = await fsp.open(this.file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new Error(`${this.file} is not a regular file`);
    }
    this.fh = fh;
    return st;
  }

  private async newPosition(st: fs.Stats, generation: number): Promise<SpoolPosition> {
    // Birth time where the filesystem has one (never ctime: it moves with every append, and the
    // name must come out the same after a restart for the service to skip what it has).
    const birth = Math.floor(st.birthtimeMs || 0);
    const pos: SpoolPosition = {
      stream: `${path.basename(this.file)}@${st.ino}.${birth}#${generation}`,
      generation,
      ino: st.ino,
      dev: st.dev,
      fingerprint: '',
      fingerprintBytes: 0,
      offset: 0,
      line: 0,
    };
    this.pos = pos;
    await this.refreshFingerprint();
    return pos;
  }

  /** Fingerprints only acknowledged-or-read bytes, so an unfinished first line cannot change it. */
  private async refreshFingerprint(): Promise<void> {
    const pos = this.pos!;
    const n = Math.min(FINGERPRINT_BYTES, pos.offset);
    const [fp] = await this.fingerprintOf(n);
    pos.fingerprint = fp;
    pos.fingerprintBytes = n;
  }

  private async fingerprintMatches(): Promise<boolean> {
    const [fp, got] = await this.fingerprintOf(this.pos!.fingerprintBytes);
    return got === this.pos!.fingerprintBytes && fp === this.pos!.fingerprint;
  }

  private async fingerprintOf(n: number): Promise<[string, number]> {
    const buf = Buffer.alloc(n);
    const { bytesRead } = n ? await this.fh!.read(buf, 0, n, 0) : { bytesRead: 0 };
    return [createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex'), bytesRead];
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
    this.lastSeen = null;
  }
}
