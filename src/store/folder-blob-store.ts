/**
 * Blobs in a folder: <root>/ab/<sha256>. A blob is written to a temp file under <root>/.tmp/,
 * fsynced and renamed into place, so a crash never leaves a torn blob. Several processes, on one
 * host or several sharing the folder over a network file system, may use one folder: temp names
 * are unique, a rename is atomic, and the temp files of abandoned uploads are swept by age.
 */
import { createHash, randomBytes } from 'crypto';
import fs, { promises as fsp } from 'fs';
import os from 'os';
import path from 'path';
import { Writable } from 'stream';
import { pipeline } from 'stream/promises';
import type { Readable } from 'stream';
import { settings } from '../../config';
import { E } from '../protocol';
import { type BlobPut, type BlobStore, type ByteRange, exactBytes, type PartialMeta, type PartialState, sweepEvery, type WrittenBlob } from './blob-store';
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
/** Partial resumable uploads, under the temp folder: <tmp>/uploads/<id>/{meta.json,data}. */
export const PARTIALS_DIR = 'uploads';

export class FolderBlobStore implements BlobStore {
  readonly tmpDir: string;
  readonly location: string;
  private stopSweeping = (): void => undefined;
  /** Per partial upload, the background sync of its last chunk (this process's only). */
  private readonly chunkSyncs = new Map<string, Promise<void>>();

  constructor(readonly root: string) {
    this.tmpDir = path.join(root, TEMP_DIR);
    this.location = root;
  }

  /** Makes the folders; `sweep`: abandoned temp files are removed now and every service.blobTempSweepS. */
  async init({ sweep = true } = {}): Promise<void> {
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const s = settings.service;
    if (sweep) this.stopSweeping = sweepEvery(this, s.blobTempSweepS * 1000, s.blobTempMaxAgeS * 1000, s.uploadPartialMaxAgeS * 1000);
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
      if (name === PARTIALS_DIR) continue; // swept by their own age (sweepPartials)
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
    // Chunks acknowledged reach the disk before the service stops.
    await Promise.all([...this.chunkSyncs.values()].map((p) => p.catch(() => undefined)));
  }

  // -- partial uploads: a folder each, its data file written in place at chunk offsets ------------

  readonly minChunkBytes = 1;

  private partialDir(id: string): string {
    return path.join(this.tmpDir, PARTIALS_DIR, id);
  }

  async createPartial(id: string, meta: PartialMeta): Promise<PartialMeta> {
    const dir = this.partialDir(id);
    const where = `${path.join(path.basename(this.root), TEMP_DIR, PARTIALS_DIR, id)} (a resumable upload)`;
    try {
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(path.join(dir, 'data'), '', { flag: 'wx' });
      const fh = await fsp.open(path.join(dir, 'meta.json'), 'wx');
      try {
        await fh.writeFile(JSON.stringify(meta));
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw storageFull(err, where) ?? err;
    }
    return meta;
  }

  /** What is stored is the data file's length down to a chunk boundary: a chunk cut short by a crash does not count. */
  async readPartial(id: string): Promise<PartialState | null> {
    const dir = this.partialDir(id);
    let meta: PartialMeta;
    let size: number;
    try {
      meta = JSON.parse(await fsp.readFile(path.join(dir, 'meta.json'), 'utf8')) as PartialMeta;
      size = (await fsp.stat(path.join(dir, 'data'))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const received = size >= meta.size ? meta.size : Math.floor(size / meta.chunkBytes) * meta.chunkBytes;
    return { meta, received };
  }

  async writeChunk(id: string, meta: PartialMeta, offset: number, source: Readable, length: number, onBytes?: (b: Buffer) => void): Promise<void> {
    const file = path.join(this.partialDir(id), 'data');
    const where = `${path.join(path.basename(this.root), TEMP_DIR, PARTIALS_DIR, id, 'data')} (a chunk of a resumable upload)`;
    const fh = await fsp.open(file, 'r+').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw E.uploadNotFound(meta.runId, id);
      throw err;
    });
    try {
      // The torn end of a chunk cut short earlier goes first: what follows the offset is this chunk.
      if ((await fh.stat()).size > offset) await fh.truncate(offset);
      let at = offset;
      await pipeline(source, exactBytes(length, (n) => E.chunkLength(meta.path, offset, n, length), onBytes), async (chunks: AsyncIterable<Buffer>) => {
        for await (const b of chunks) {
          for (let done = 0; done < b.length; ) done += (await fh.write(b, done, b.length - done, at + done)).bytesWritten;
          at += b.length;
        }
      });
    } catch (err) {
      await fh.truncate(offset).catch(() => undefined);
      await fh.close().catch(() => undefined);
      throw storageFull(err, where) ?? err;
    }
    // Acknowledged once written; synced in the background while the next chunk arrives (an fsync
    // per chunk, waited for, cost a third of a big upload's time), and waited for at the commit,
    // which syncs the whole file again before the version exists. A machine that crashes loses at
    // most chunks not yet on disk: the data file's length says what is left, the sha256 the rest.
    // Chained, so that an error of an earlier chunk's sync reaches the commit.
    const sync = (this.chunkSyncs.get(id) ?? Promise.resolve()).then(() => fh.datasync()).finally(() => fh.close().catch(() => undefined));
    this.chunkSyncs.set(id, sync);
    sync.then(
      () => this.chunkSyncs.get(id) === sync && this.chunkSyncs.delete(id),
      () => undefined, // kept for the commit (Linux reports a writeback error once)
    );
  }

  async completePartial(id: string, meta: PartialMeta, knownSha256: string | null, verify: (b: WrittenBlob) => void): Promise<WrittenBlob> {
    const dir = this.partialDir(id);
    const data = path.join(dir, 'data');
    try {
      const pending = this.chunkSyncs.get(id);
      this.chunkSyncs.delete(id);
      if (pending) await pending.catch((err: Error) => Promise.reject(storageFull(err, data) ?? err));
      // Every byte on disk before the version can name it, whichever process wrote the chunks.
      const fh = await fsp.open(data, 'r');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
      const size = (await fsp.stat(data)).size;
      let sha256 = knownSha256;
      if (sha256 === null) {
        const hash = createHash('sha256');
        await pipeline(fs.createReadStream(data, { highWaterMark: 1024 * 1024 }), hash);
        sha256 = hash.digest('hex');
      }
      const blob = { sha256, size };
      verify(blob);
      await this.commit(data, sha256);
      return blob;
    } finally {
      await this.removePartial(id);
    }
  }

  async deletePartial(id: string): Promise<void> {
    await this.chunkSyncs.get(id)?.catch(() => undefined);
    this.chunkSyncs.delete(id);
    await this.removePartial(id);
  }

  /** By the last write to a partial's files: each chunk writes its data file. */
  async sweepPartials(olderThanMs: number, now = Date.now()): Promise<number> {
    const cutoff = now - olderThanMs;
    const root = path.join(this.tmpDir, PARTIALS_DIR);
    let removed = 0;
    for (const id of await fsp.readdir(root).catch(() => [] as string[])) {
      const dir = path.join(root, id);
      const times = await Promise.all(['', 'meta.json', 'data'].map((f) => fsp.stat(path.join(dir, f)).then((st) => st.mtimeMs, () => 0)));
      if (Math.max(...times) >= cutoff) continue;
      await this.removePartial(id);
      removed++;
    }
    return removed;
  }

  /**
   * A partial's folder leaves uploads/ in one rename, then is removed: never seen half-deleted
   * (its id still listed without its files). A crash between the two leaves a temp folder, which
   * the temp sweep removes by age.
   */
  private async removePartial(id: string): Promise<void> {
    const doomed = `${this.tmpName()}-removed-upload`;
    try {
      await fsp.rename(this.partialDir(id), doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await fsp.rm(doomed, { recursive: true, force: true });
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
