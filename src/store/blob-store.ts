/**
 * Artifact bytes, content-addressed by sha256 under <data>/blobs/ab/<sha>. A blob is written to a
 * temp file, fsynced and renamed into place, so a crash never leaves a torn blob, and identical
 * files across runs are stored once.
 */
import { createHash, randomBytes } from 'crypto';
import { createWriteStream, promises as fsp } from 'fs';
import path from 'path';
import { Transform, TransformCallback } from 'stream';
import { pipeline } from 'stream/promises';
import type { Readable } from 'stream';
import { isProcessAlive } from '../protocol';

export interface WrittenBlob {
  sha256: string;
  size: number;
}

/** Counts and hashes the bytes that pass; fails as soon as more than `maxBytes` arrive. */
export class HashingCounter extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  constructor(private readonly maxBytes: number, private readonly onTooLarge: () => Error) {
    super();
  }
  _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return done(this.onTooLarge());
    this.hash.update(chunk);
    done(null, chunk);
  }
}

export class BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  private readonly tmpRoot: string;

  constructor(dataDir: string) {
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

  async has(sha256: string): Promise<boolean> {
    return fsp.access(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Streams `source` into the store while hashing it. `check` sees the size and hash before the
   * blob becomes visible and may throw to discard it.
   */
  async write(source: Readable, maxBytes: number, onTooLarge: () => Error, check?: (b: WrittenBlob) => void): Promise<WrittenBlob> {
    const tmp = path.join(this.tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}`);
    const counter = new HashingCounter(maxBytes, onTooLarge);
    // flush: fsync before close, so a renamed blob is on disk whole (Node >= 20.10).
    const out = createWriteStream(tmp, { flags: 'wx', flush: true });
    try {
      await pipeline(source, counter, out);
      const blob = { sha256: counter.hash.digest('hex'), size: counter.size };
      check?.(blob);
      await this.commit(tmp, blob.sha256);
      return blob;
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  private readonly madeDirs = new Set<string>();

  /** Renames into place; an identical blob already there is simply replaced by the same bytes. */
  private async commit(tmp: string, sha256: string): Promise<void> {
    const dest = this.pathOf(sha256);
    const dir = path.dirname(dest);
    if (!this.madeDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    await fsp.rename(tmp, dest);
  }
}
