/**
 * Artifact bytes, content-addressed by sha256 under <data>/blobs/ab/<sha>. A blob is written to a
 * temp file, fsynced and renamed into place, so a crash never leaves a torn blob, and identical
 * files across runs are stored once. Small files skip all this: the store keeps them in its
 * database (service.inlineBlobBytes), where a file costs one row instead of five file operations
 * and an fsync.
 */
import { createHash, randomBytes } from 'crypto';
import fs, { promises as fsp } from 'fs';
import path from 'path';
import { Writable } from 'stream';
import { pipeline } from 'stream/promises';
import type { Readable } from 'stream';
import { storageFull } from './storage-full';
import { isProcessAlive } from '../run-folder';

export interface WrittenBlob {
  sha256: string;
  size: number;
}

// A big blob is synced to disk every this many bytes while it arrives, so the last fsync finds
// little left to write and disk and network overlap.
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;

/**
 * Hashes, counts and writes to an open temp file in one stream stage (a separate hashing
 * Transform cost more time per byte); syncs as it goes, and fully before it finishes.
 */
class BlobFileWriter extends Writable {
  readonly hash = createHash('sha256');
  size = 0;
  private unsynced = 0;
  private syncing: Promise<void> | null = null;
  private syncFailed: Error | null = null;

  // The FileHandle, not its fd number: its close() waits for writes and syncs still running, so an
  // abandoned upload can never write into a file that has reused the number.
  constructor(
    private readonly fh: fsp.FileHandle,
    private readonly maxBytes: number,
    private readonly onTooLarge: () => Error,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    for (const b of buffers) {
      this.size += b.length;
      if (this.size > this.maxBytes) return done(this.onTooLarge());
      this.hash.update(b);
    }
    this.writeAll(buffers).then(() => done(), done);
  }

  _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this._writev([{ chunk }], done);
  }

  _final(done: (err?: Error | null) => void): void {
    Promise.resolve(this.syncing)
      .then(() => {
        if (this.syncFailed) throw this.syncFailed;
        return this.fh.sync();
      })
      .then(() => done(), done);
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    let bytes = buffers.reduce((n, b) => n + b.length, 0);
    let rest = buffers;
    while (bytes > 0) {
      if (this.destroyed) return;
      const { bytesWritten: n } = await this.fh.writev(rest);
      bytes -= n;
      this.unsynced += n;
      if (bytes > 0) rest = dropBytes(rest, n);
    }
    if (this.unsynced >= SYNC_EVERY_BYTES && !this.syncing) {
      this.unsynced = 0;
      // Kept for _final: Linux reports a writeback error once, so the last fsync would not see it.
      this.syncing = this.fh
        .datasync()
        .catch((err: Error) => void (this.syncFailed ??= err))
        .finally(() => (this.syncing = null));
    }
  }
}

/** The buffers after the first `n` bytes (a short writev). */
function dropBytes(buffers: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}

/** A small file's bytes with their hash: kept in the database by Store.putArtifact, not in blobs/. */
export function inlineBlob(bytes: Buffer): WrittenBlob & { bytes: Buffer } {
  return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, bytes };
}

export class BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  private readonly tmpRoot: string;
  private readonly madeDirs = new Set<string>();

  constructor(private readonly dataDir: string) {
    this.blobDir = path.join(dataDir, 'blobs');
    this.tmpRoot = path.join(dataDir, 'tmp');
    // One temp folder per process: several processes may serve the same local store at once.
    this.tmpDir = path.join(this.tmpRoot, String(process.pid));
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.blobDir, { recursive: true });
    await fsp.mkdir(this.tmpDir, { recursive: true });
    // Leftovers of writes by processes that died: never part of any blob.
    for (const name of await fsp.readdir(this.tmpRoot)) {
      const pid = Number(name);
      if (pid !== process.pid && !isProcessAlive(pid)) await fsp.rm(path.join(this.tmpRoot, name), { recursive: true, force: true });
    }
  }

  pathOf(sha256: string): string {
    return path.join(this.blobDir, sha256.slice(0, 2), sha256);
  }

  /** Removes a blob's file, if it has one (small blobs live in the database). Synchronous: see purge. */
  deleteNow(sha256: string): void {
    fs.rmSync(this.pathOf(sha256), { force: true });
  }


  /**
   * Streams `source` into the store while hashing it. `check` sees the size and hash before the
   * blob becomes visible and may throw to discard it.
   */
  async write(source: Readable, maxBytes: number, onTooLarge: () => Error, check?: (b: WrittenBlob) => void): Promise<WrittenBlob> {
    const tmp = this.tmpName();
    // A full disk (or quota) is said as such, naming the file: the client may retry later.
    const where = `${path.relative(this.dataDir, tmp)} (an artifact's bytes on their way to blobs/)`;
    const fd = await fsp.open(tmp, 'wx').catch((err: Error) => {
      throw storageFull(err, where) ?? err;
    });
    try {
      const writer = new BlobFileWriter(fd, maxBytes, onTooLarge);
      await pipeline(source, writer);
      const blob = { sha256: writer.hash.digest('hex'), size: writer.size };
      check?.(blob);
      await fd.close();
      this.commit(tmp, blob.sha256);
      return blob;
    } catch (err) {
      await fd.close().catch(() => undefined);
      fs.rmSync(tmp, { force: true });
      throw storageFull(err, where) ?? err;
    }
  }

  private tmpName(): string {
    return path.join(this.tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}`);
  }

  /** Renames into place; an identical blob already there is simply replaced by the same bytes. */
  private commit(tmp: string, sha256: string): void {
    const dest = this.pathOf(sha256);
    const dir = path.dirname(dest);
    if (!this.madeDirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    fs.renameSync(tmp, dest);
  }
}
