/**
 * Buffers lines in memory and appends them to the spool, whole lines per write(2) on an O_APPEND
 * descriptor: the kernel serialises appends to a regular file, so writers in other threads and
 * processes never interleave halves of lines. Node has no flock(2); the Python helper takes one
 * too, which only matters on filesystems without atomic appends.
 */
import fs from 'fs';
import path from 'path';

/** Where one flush put its lines: every line of it ends at or before `end` in the file with inode `ino`. */
export interface FlushedBatch {
  /** -1 until flushed. Size of the spool right after the write: an upper bound on each line's end. */
  end: number;
  ino: number;
}

export class SpoolAppender {
  private lines: string[] = [];
  private bytes = 0;
  private batch: FlushedBatch = { end: -1, ino: 0 };
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private lastError: Error | undefined;
  private dirSynced = false;

  constructor(
    readonly file: string,
    private readonly flushIntervalMs: number,
    private readonly flushMaxBytes: number,
    private readonly maxHeldBytes = Infinity,
  ) {}

  /**
   * Buffers one line (ending in "\n") and returns the batch it will be written with. Throws only
   * when the spool has been failing long enough that the lines held in memory reach `maxHeldBytes`.
   */
  push(line: string): FlushedBatch {
    if (this.bytes + line.length > this.maxHeldBytes) {
      const why = this.lastError ? ` (${this.lastError.message})` : '';
      throw new Error(`cannot log: the spool ${this.file} cannot be written${why}, and the ${this.lines.length} lines held meanwhile reach the ${this.maxHeldBytes}-byte cap (maxHeldBytes)`);
    }
    this.lines.push(line);
    this.bytes += line.length;
    const batch = this.batch;
    // After a failure the timer retries: not an open(2) per line while the disk is full.
    if (this.bytes >= this.flushMaxBytes && this.lastError === undefined) this.flushInBackground();
    else if (this.timer === undefined) this.schedule();
    return batch;
  }

  get pending(): number {
    return this.lines.length;
  }

  /**
   * Synchronous on purpose: the same code serves the timer and process 'exit' (where nothing
   * asynchronous runs), and call order is kept without a write queue. A flush is one small write.
   * On failure the lines stay buffered for the next flush, and the error is thrown.
   */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lines.length === 0) return;
    let data: Buffer | undefined;
    let written = 0;
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.file, 'a');
      data = Buffer.from(this.lines.length === 1 ? this.lines[0] : this.lines.join(''), 'utf8');
      // A regular file takes the whole buffer in one write; the loop only guards against a short write.
      while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
      const stat = fs.fstatSync(fd);
      this.batch.end = stat.size;
      this.batch.ino = stat.ino;
    } catch (err) {
      this.lastError = err as Error;
      if (data && written > 0) {
        const rest = data.subarray(written).toString('utf8');
        this.lines = rest ? [rest] : [];
        this.bytes = rest.length;
      }
      if (this.lines.length > 0) this.schedule();
      throw err;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    this.lines = [];
    this.bytes = 0;
    this.batch = { end: -1, ino: 0 };
    this.lastError = undefined;
  }

  /**
   * Makes what was appended durable (fsync), for a wait() that returns before the service
   * acknowledged. The folder too, once: a spool created just now needs its entry durable.
   */
  sync(): void {
    const fd = fs.openSync(this.file, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (this.dirSynced) return;
    try {
      const dir = fs.openSync(path.dirname(this.file), 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    } catch {
      // Not every platform can fsync a folder (Windows cannot open one); the file is synced.
    }
    this.dirSynced = true;
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.flushInBackground(), this.flushIntervalMs);
    // Buffered lines alone must not keep the process alive: 'exit' flushes them.
    this.timer.unref();
  }

  private flushInBackground(): void {
    try {
      this.flush();
    } catch (err) {
      if (!this.warned) process.emitWarning(`outpost: cannot append to the spool ${this.file}: ${(err as Error).message} (will retry)`);
      this.warned = true;
    }
  }
}
