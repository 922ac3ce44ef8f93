/**
 * Waits for the ack watermark (<spool>.ack, rewritten atomically by the agent) to cover byte
 * offsets of the spool. One watcher per spool, active only while a wait is pending: fs.watch
 * on the folder (the file itself is replaced on every write, so watching it would go stale)
 * plus polling, since watch events can be missed.
 */
import fs from 'fs';
import path from 'path';
import { ACK_SUFFIX, AckWatermark, readWatermark } from '../run-folder';

interface Pending {
  ino: number;
  end: number;
  resolve: () => void;
}

export class AckWatch {
  readonly ackFile: string;
  private pending: Pending[] = [];
  private watcher: fs.FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(
    readonly spoolFile: string,
    private readonly pollMs: number,
  ) {
    this.ackFile = spoolFile + ACK_SUFFIX;
  }

  /** The watermark as last written, or undefined if there is none (yet) or it cannot be read. */
  read(): AckWatermark | undefined {
    return readWatermark(this.spoolFile);
  }

  covers(ino: number, end: number, w = this.read()): boolean {
    return w !== undefined && w.ino === ino && w.offset >= end;
  }

  /** Resolves when the watermark covers `end` in the spool with inode `ino`; never rejects (the caller times out). */
  until(ino: number, end: number, signal: AbortSignal): Promise<void> {
    if (this.covers(ino, end)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const entry: Pending = { ino, end, resolve };
      this.pending.push(entry);
      signal.addEventListener('abort', () => this.drop(entry), { once: true });
      this.start();
    });
  }

  private check = (): void => {
    const w = this.read();
    if (w === undefined) return;
    const still: Pending[] = [];
    for (const p of this.pending) {
      if (this.covers(p.ino, p.end, w)) p.resolve();
      else still.push(p);
    }
    this.pending = still;
    if (still.length === 0) this.stop();
  };

  private drop(entry: Pending): void {
    this.pending = this.pending.filter((p) => p !== entry);
    if (this.pending.length === 0) this.stop();
  }

  private start(): void {
    // The poll timer stays referenced: a pending wait() keeps the process alive until it settles.
    this.poll ??= setInterval(this.check, this.pollMs);
    if (this.watcher) return;
    const base = path.basename(this.ackFile);
    try {
      this.watcher = fs.watch(path.dirname(this.ackFile), { persistent: false }, (_event, name) => {
        if (name === null || name === base) this.check();
      });
      // A watcher error (folder removed, inotify limit) leaves polling in charge.
      this.watcher.on('error', () => this.closeWatcher());
    } catch {
      this.watcher = undefined;
    }
  }

  private stop(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    this.closeWatcher();
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
