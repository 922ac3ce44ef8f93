/**
 * Reads complete lines from the metric spool, from an acknowledged position on. A line's identity
 * is (stream, line number): the stream names one incarnation of the file, so a truncated or
 * replaced spool becomes a new stream instead of lines lost or sent twice.
 */
import { createHash } from 'crypto';
import fs, { promises as fsp } from 'fs';
import path from 'path';
import { parseMetricLine, WireLine } from '../protocol';

/** Where reading stands (or, in the checkpoint, what the service has acknowledged). */
export interface SpoolPosition {
  stream: string;
  generation: number;
  ino: number;
  dev: number;
  /** sha256 of the file's first FINGERPRINT_BYTES bytes (fewer if the file is shorter). */
  fingerprint: string;
  fingerprintBytes: number;
  offset: number;
  line: number;
}

export interface TailedLine {
  wire: WireLine | null; // null: a blank line, which takes a number but carries nothing
  endOffset: number;
}

export interface StreamReset {
  reason: 'truncated' | 'replaced';
  from: SpoolPosition;
  message: string;
}

export interface TailerOptions {
  maxLineBytes: number;
  maxNameChars: number;
  readChunkBytes: number;
}

const FINGERPRINT_BYTES = 256;
const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class SpoolTailer {
  private fh: fsp.FileHandle | null = null;
  private pos: SpoolPosition | null;
  /** Bytes read past pos.offset that do not yet end in a newline. */
  private pending: Buffer = Buffer.alloc(0);
  /** Inside a line longer than the limit: skipping to its newline. */
  private oversized = 0;

  constructor(
    readonly file: string,
    start: SpoolPosition | null,
    private readonly opts: TailerOptions,
    private readonly onReset: (reset: StreamReset) => void,
  ) {
    this.pos = start ? { ...start } : null;
  }

  get position(): SpoolPosition | null {
    return this.pos ? { ...this.pos } : null;
  }

  /**
   * Reads what is there now, up to `maxLines` complete lines. Returns [] when nothing new is
   * complete (or the spool does not exist yet).
   */
  async read(maxLines: number): Promise<TailedLine[]> {
    if (!(await this.ensureOpen())) return [];
    const out: TailedLine[] = [];
    const pos = this.pos!;
    const chunk = Buffer.allocUnsafe(this.opts.readChunkBytes);
    while (out.length < maxLines) {
      const readAt = pos.offset + this.pending.length + this.oversized;
      const { bytesRead } = await this.fh!.read(chunk, 0, chunk.length, readAt);
      if (bytesRead === 0) break;
      this.consume(chunk.subarray(0, bytesRead), out);
      if (bytesRead < chunk.length) break;
    }
    if (pos.fingerprintBytes < FINGERPRINT_BYTES && pos.offset > pos.fingerprintBytes) await this.refreshFingerprint();
    return out;
  }

  /** Splits bytes into lines; the last, unfinished one waits in `pending`. */
  private consume(bytes: Buffer, out: TailedLine[]): void {
    const pos = this.pos!;
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(NEWLINE, start);
      if (nl === -1) break;
      const piece = bytes.subarray(start, nl);
      const lineBytes = this.pending.length + this.oversized + piece.length;
      pos.line++;
      const endOffset = pos.offset + lineBytes + 1;
      if (this.oversized || lineBytes > this.opts.maxLineBytes) {
        out.push({ wire: this.rejected(`line is ${lineBytes} bytes, over the limit of ${this.opts.maxLineBytes} (limits.maxLineBytes)`), endOffset });
      } else {
        const raw = this.pending.length ? Buffer.concat([this.pending, piece]) : piece;
        out.push({ wire: this.decode(raw), endOffset });
      }
      pos.offset = endOffset;
      this.pending = Buffer.alloc(0);
      this.oversized = 0;
      start = nl + 1;
    }
    const rest = bytes.subarray(start);
    if (this.oversized || this.pending.length + rest.length > this.opts.maxLineBytes) {
      // Too long already: count it, keep none of it, and reject it when its newline comes.
      this.oversized += this.pending.length + rest.length;
      this.pending = Buffer.alloc(0);
    } else if (rest.length) {
      this.pending = Buffer.concat([this.pending, rest]);
    }
  }

  private decode(raw: Buffer): WireLine | null {
    const seq = this.pos!.line;
    let text: string;
    try {
      text = utf8.decode(raw);
    } catch {
      return this.rejected('not valid UTF-8');
    }
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return null;
    const result = parseMetricLine(text, this.opts.maxNameChars);
    if (!result.ok) return this.rejected(result.reason);
    const { metrics, step, time } = result.line;
    const wire: WireLine = { seq, time: time ?? Date.now() / 1000, metrics };
    if (step !== undefined) wire.step = step;
    return wire;
  }

  private rejected(reason: string): WireLine {
    const p = this.pos!;
    return { seq: p.line, time: Date.now() / 1000, error: `${path.basename(this.file)} line ${p.line}: ${reason}` };
  }

  /** Opens the spool, resuming from the checkpoint when the file is the same one. */
  private async ensureOpen(): Promise<boolean> {
    let st: fs.Stats;
    try {
      st = await fsp.stat(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    if (this.fh) {
      const current = await this.fh.stat();
      if (st.ino !== current.ino || st.dev !== current.dev) {
        // Replaced: drain the old file first (lines written before the swap), then switch.
        if (current.size > this.pos!.offset + this.pending.length + this.oversized) return true;
        await this.reset('replaced', `${this.file} was replaced by a new file; it is read as a new stream`);
        return this.ensureOpen();
      }
      if (st.size < this.pos!.offset) {
        await this.reset('truncated', `${this.file} shrank from ${this.pos!.offset} to ${st.size} bytes (truncated); it is read as a new stream`);
        return this.ensureOpen();
      }
      return true;
    }
    this.fh = await fsp.open(this.file, 'r');
    const opened = await this.fh.stat();
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

  private async reset(reason: StreamReset['reason'], message: string): Promise<void> {
    const from = { ...this.pos! };
    await this.fh?.close();
    this.fh = null;
    this.pending = Buffer.alloc(0);
    this.oversized = 0;
    this.onReset({ reason, from, message });
    // Next open starts a new generation from byte 0.
    this.pos = { ...from, ino: -1, generation: from.generation + 1, offset: 0, line: 0 };
    this.fh = await fsp.open(this.file, 'r');
    this.pos = await this.newPosition(await this.fh.stat(), from.generation + 1);
  }

  private async newPosition(st: fs.Stats, generation: number): Promise<SpoolPosition> {
    const birth = Math.floor(st.birthtimeMs || st.ctimeMs);
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
  }
}
