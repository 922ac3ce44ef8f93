/**
 * Blobs in a folder: <root>/ab/<sha256>. A blob is written to a temp file under <root>/.tmp/,
 * fsynced and renamed into place, so a crash never leaves a torn blob. Several processes, on one
 * host or several sharing the folder over a network file system, may use one folder: temp names
 * are unique, a rename is atomic, and the temp files of abandoned uploads are swept by age.
 */
import { createHash, randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import os from 'os';
import path from 'path';
import { Writable } from 'stream';
import { pipeline } from 'stream/promises';
import type { Readable } from 'stream';
import { settings } from '../../config';
import { type BlobPut, type BlobStore, type ByteRange, sweepEvery, type WrittenBlob } from './blob-store';
import { storageFull } from './storage-full';

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

/** The temp folder inside a blob folder: on the same file system, so a rename commits. */
export const TEMP_DIR = '.tmp';

export class FolderBlobStore implements BlobStore {
  readonly tmpDir: string;
  readonly location: string;
  private stopSweeping = (): void => undefined;

  constructor(readonly root: string) {
    this.tmpDir = path.join(root, TEMP_DIR);
    this.location = root;
  }

  /** Makes the folders; `sweep`: abandoned temp files are removed now and every service.blobTempSweepS. */
  async init({ sweep = true } = {}): Promise<void> {
    await fsp.mkdir(this.tmpDir, { recursive: true });
    if (sweep) this.stopSweeping = sweepEvery(this, settings.service.blobTempSweepS * 1000, settings.service.blobTempMaxAgeS * 1000);
  }

  pathOf(sha256: string): string {
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  async put(source: Readable, { maxBytes, tooLarge, verify }: BlobPut): Promise<WrittenBlob> {
    const tmp = this.tmpName();
    // A full disk (or quota) is said as such, naming the file: the client may retry later.
    const where = `${path.join(path.basename(this.root), TEMP_DIR, path.basename(tmp))} (an artifact's bytes on their way to the blob folder)`;
    const fd = await fsp.open(tmp, 'wx').catch((err: Error) => {
      throw storageFull(err, where) ?? err;
    });
    try {
      const writer = new BlobFileWriter(fd, maxBytes, tooLarge);
      await pipeline(source, writer);
      const blob = { sha256: writer.hash.digest('hex'), size: writer.size };
      verify?.(blob);
      await fd.close();
      await this.commit(tmp, blob.sha256);
      return blob;
    } catch (err) {
      await fd.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw storageFull(err, where) ?? err;
    }
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable | null> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.pathOf(sha256), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return fh.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async exists(sha256: string): Promise<boolean> {
    return fsp.access(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  async delete(sha256: string): Promise<void> {
    await fsp.rm(this.pathOf(sha256), { force: true });
  }

  /** By the time a temp file was last written: an upload in progress writes at least every uploadIdleTimeoutMs. */
  async sweepTemp(olderThanMs: number, now = Date.now()): Promise<number> {
    const cutoff = now - olderThanMs;
    let removed = 0;
    for (const name of await fsp.readdir(this.tmpDir).catch(() => [] as string[])) {
      const file = path.join(this.tmpDir, name);
      const stat = await fsp.stat(file).catch(() => undefined);
      if (!stat || stat.mtimeMs >= cutoff) continue;
      await fsp.rm(file, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    this.stopSweeping();
  }

  /** Unique across processes and hosts sharing the folder. */
  private tmpName(): string {
    return path.join(this.tmpDir, `${Date.now()}-${os.hostname().slice(0, 32)}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Renames into place; an identical blob already there is simply replaced by the same bytes. */
  private async commit(tmp: string, sha256: string): Promise<void> {
    const dest = this.pathOf(sha256);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.rename(tmp, dest);
  }
}
