/**
 * Appends each line to the spool in the call that logs it: one write(2) of the whole line on an
 * O_APPEND descriptor kept open. Once the call returns the kernel has the line, so a SIGKILL of
 * the process loses none; and POSIX makes each append one step (find the end, write), so writers
 * in other threads and processes never interleave halves of lines. Node has no flock(2): on a
 * network filesystem without atomic appends only the Python helper adds one.
 *
 * The path is checked again every `checkMs`, so a spool moved away or removed is followed (the
 * agent reads a replaced spool as a new stream). Lines that cannot be written (a full disk, say)
 * are held in memory, in order, and retried every `retryMs`, on flush() and wait(), and at exit
 * or on SIGINT/SIGTERM (exit-flush.ts).
 */
import fs from 'fs';
import path from 'path';
import { performance } from 'perf_hooks';
import { flushOnSignals } from './exit-flush';

/** Where lines went: each ends at or before `end` in the spool file with inode `ino`. */
export interface SpoolBatch {
  /**
   * -1 while not known yet: for lines held (not written yet), and for the lines written on the
   * open descriptor, which the spool's size bounds when a wait asks (see resolve()).
   */
  end: number;
  ino: number;
}

// A logger dropped without ever being closed must not keep its descriptor.
const descriptors = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
});

export class SpoolAppender {
  private fd: number | undefined;
  private dev = 0;
  /** The lines written on `fd`. */
  private openBatch: SpoolBatch = { end: -1, ino: 0 };
  /** Lines not written yet, in order; the first may be the rest of a line begun. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private heldBatch: SpoolBatch = { end: -1, ino: 0 };
  /** performance.now() at which the path is checked again. */
  private checkAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private lastError: Error | undefined;
  private dirSynced = false;

  constructor(
    readonly file: string,
    private readonly retryMs: number,
    private readonly maxWriteBytes: number,
    private readonly maxHeldBytes = Infinity,
    private readonly checkMs = 50,
  ) {}

  /**
   * Appends one line (ending in "\n") now and returns its batch. Throws only when the spool has
   * been failing long enough that the lines held in memory reach `maxHeldBytes`.
   */
  push(line: string): SpoolBatch {
    const fd = this.fd;
    if (fd !== undefined && this.held.length === 0 && performance.now() < this.checkAt) {
      let n = 0;
      try {
        n = fs.writeSync(fd, line);
      } catch {
        n = 0;
      }
      const bytes = Buffer.byteLength(line);
      if (n === bytes) return this.openBatch;
      return this.pushSlowly(Buffer.from(line).subarray(n));
    }
    return this.pushSlowly(Buffer.from(line));
  }

  private pushSlowly(data: Buffer): SpoolBatch {
    if (this.held.length === 0) {
      try {
        this.open();
        data = data.subarray(this.write(data));
      } catch (err) {
        this.lastError = err as Error;
      }
      if (data.length === 0) {
        this.lastError = undefined;
        return this.openBatch;
      }
      this.warn();
    } else if (this.heldBytes + data.length > this.maxHeldBytes) {
      const why = this.lastError ? ` (${this.lastError.message})` : '';
      throw new Error(`cannot log: the spool ${this.file} cannot be written${why}, and the ${this.held.length} lines held meanwhile reach the ${this.maxHeldBytes}-byte cap (maxHeldBytes)`);
    }
    this.held.push(data);
    this.heldBytes += data.length;
    this.schedule();
    flushOnSignals();
    return this.heldBatch;
  }

  /** Lines held because the spool could not be written. */
  get pending(): number {
    return this.held.length;
  }

  /**
   * Appends the held lines now, `maxWriteBytes` at a time at most. Synchronous on purpose: the
   * same code serves the timer and process 'exit' (where nothing asynchronous runs). On failure
   * what is not written stays held for the next try, and the error is thrown.
   */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.held.length === 0) return;
    try {
      this.open();
      while (this.held.length > 0) {
        let count = 0;
        let size = 0;
        for (const line of this.held) {
          if (count > 0 && size + line.length > this.maxWriteBytes) break;
          count++;
          size += line.length;
        }
        const chunk = count === 1 ? this.held[0] : Buffer.concat(this.held.slice(0, count), size);
        const written = this.write(chunk);
        if (written < chunk.length) {
          this.held.splice(0, count, chunk.subarray(written));
          this.heldBytes -= written;
          throw this.lastError ?? new Error(`short write to ${this.file}`);
        }
        this.held.splice(0, count);
        this.heldBytes -= chunk.length;
      }
    } catch (err) {
      this.lastError = err as Error;
      this.schedule();
      throw err;
    }
    this.lastError = undefined;
    const batch = this.heldBatch;
    this.heldBatch = { end: -1, ino: 0 };
    batch.ino = this.openBatch.ino;
    batch.end = fs.fstatSync(this.fd!).size;
  }

  /** `batch` with its end known; held lines are written first (throws if they cannot be). */
  resolve(batch: SpoolBatch): SpoolBatch {
    if (batch.end < 0 && batch === this.heldBatch) this.flush();
    if (batch.end >= 0 || batch !== this.openBatch || this.fd === undefined) return batch;
    // Everything written on this descriptor ends by its file's size now.
    return { end: fs.fstatSync(this.fd).size, ino: batch.ino };
  }

  /**
   * Makes what was appended durable (fsync), for a wait() that returns before the service
   * acknowledged. The folder too, once: a spool created just now needs its entry durable.
   */
  sync(): void {
    if (this.fd !== undefined) {
      fs.fsyncSync(this.fd);
    } else {
      const fd = fs.openSync(this.file, 'r+');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
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

  /** Opens the spool, or again if its path now names another file or none (moved away, removed). */
  private open(): void {
    this.checkAt = performance.now() + this.checkMs;
    if (this.fd !== undefined) {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(this.file, { throwIfNoEntry: false });
      } catch {
        return; // cannot tell (a folder made unreadable): go on appending where we are
      }
      if (st && st.ino === this.openBatch.ino && st.dev === this.dev) return;
    }
    const fd = fs.openSync(this.file, 'a');
    let st: fs.Stats;
    try {
      st = fs.fstatSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    const old = this.fd;
    if (old !== undefined) {
      this.openBatch.end = fs.fstatSync(old).size;
      descriptors.unregister(this);
      fs.closeSync(old);
    }
    this.fd = fd;
    this.dev = st.dev;
    this.openBatch = { end: -1, ino: st.ino };
    descriptors.register(this, fd, this);
  }

  /** Appends `data` on the open descriptor: the bytes written, all unless an error (kept in lastError) came after some. */
  private write(data: Buffer): number {
    let done = 0;
    // A regular file takes it in one write; the loop only guards against a short one.
    while (done < data.length) {
      try {
        done += fs.writeSync(this.fd!, data, done, data.length - done);
      } catch (err) {
        if (done === 0) throw err;
        this.lastError = err as Error;
        break;
      }
    }
    return done;
  }

  private warn(): void {
    if (!this.warned) process.emitWarning(`outpost: cannot append to the spool ${this.file}: ${this.lastError?.message} (will retry)`);
    this.warned = true;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.held.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.flush();
      } catch {
        this.warn();
      }
    }, this.retryMs);
    // Held lines alone must not keep the process alive: 'exit' writes them.
    this.timer.unref();
  }
}
