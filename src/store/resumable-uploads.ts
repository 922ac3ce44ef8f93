/**
 * Resumable uploads of big files, the same for every store and blob backend: opened with a path
 * and a size, then chunks at their offsets (each durable before it is acknowledged), then a commit
 * that checks the whole size and sha256 before the bytes become visible. The partial itself lives
 * in the blob store (a folder under its temp area, or an S3 multipart upload), so any replica may
 * take the next chunk and a restarted service goes on where it stopped.
 */
import { createHash, randomBytes, type Hash } from 'crypto';
import type { Readable } from 'stream';
import { settings } from '../../config';
import { E, type UploadOpenRequest, type UploadState } from '../protocol';
import type { BlobStore, PartialMeta, PartialState, WrittenBlob } from './blob-store';

/** The hash of the bytes this process received in order from the first, so a commit need not read them back. */
interface RunningHash {
  hash: Hash;
  upTo: number;
  usedAt: number;
}

export class ResumableUploads {
  /**
   * A per-process shortcut, never an answer: it is used only when it covers exactly the bytes the
   * blob store holds (a chunk that came to another replica, or a restart, means reading them back).
   */
  private readonly hashes = new Map<string, RunningHash>();
  /** Chunks of one upload are written one at a time within this process. */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly blobs: BlobStore) {}

  /** The chunk size: the sender's wish, within service.uploadChunkMinBytes..uploadChunkMaxBytes and the backend's least. */
  chunkBytesFor(asked: number | undefined): number {
    const s = settings.service;
    const least = Math.max(s.uploadChunkMinBytes, this.blobs.minChunkBytes);
    return Math.max(least, Math.min(asked ?? 8 * 1024 * 1024, s.uploadChunkMaxBytes));
  }

  async open(runId: string, req: UploadOpenRequest): Promise<UploadState> {
    const id = randomBytes(16).toString('hex');
    const meta = await this.blobs.createPartial(id, {
      runId,
      path: req.path,
      size: req.size,
      sha256: req.sha256?.toLowerCase() ?? null,
      chunkBytes: this.chunkBytesFor(req.chunkBytes),
      created: new Date().toISOString(),
    });
    return stateOf(id, { meta, received: 0 });
  }

  async state(runId: string, id: string): Promise<UploadState> {
    return stateOf(id, await this.partial(runId, id));
  }

  /**
   * Stores the chunk at `offset`. A chunk already stored is acknowledged without being written
   * again (its bytes are drained); one beyond the next expected is refused, naming the offset to send.
   */
  async putChunk(runId: string, id: string, offset: number, body: Readable, length: number): Promise<UploadState> {
    return this.oneAtATime(id, async () => {
      const p = await this.partial(runId, id);
      const { meta } = p;
      if (offset % meta.chunkBytes !== 0 || offset >= meta.size) throw E.chunkOffset(meta.path, offset, meta.size, meta.chunkBytes);
      const expected = Math.min(meta.chunkBytes, meta.size - offset);
      if (length !== expected) throw E.chunkLength(meta.path, offset, length, expected);
      if (offset < p.received) {
        body.resume();
        return stateOf(id, p);
      }
      if (offset > p.received) throw E.uploadOffset(meta.path, offset, p.received);
      const running = this.hashes.get(id);
      const hash = offset === 0 ? createHash('sha256') : running?.upTo === offset ? running.hash.copy() : undefined;
      this.hashes.delete(id);
      await this.blobs.writeChunk(id, meta, offset, body, length, hash && ((b) => hash.update(b)));
      if (hash) this.remember(id, { hash, upTo: offset + length, usedAt: Date.now() });
      return stateOf(id, { meta, received: offset + length });
    });
  }

  /** Every chunk there, the size and sha256 checked: the blob, visible under its hash. A mismatch removes the partial (the file changed: start over). */
  async complete(runId: string, id: string, sha256: string | undefined): Promise<{ meta: PartialMeta; blob: WrittenBlob }> {
    return this.oneAtATime(id, async () => {
      const { meta, received } = await this.partial(runId, id);
      if (received < meta.size) throw E.uploadIncomplete(meta.path, received, meta.size);
      const declared = sha256?.toLowerCase() ?? meta.sha256;
      if (!declared) throw E.uploadHashRequired(meta.path);
      const running = this.hashes.get(id);
      this.hashes.delete(id);
      const known = running?.upTo === meta.size ? running.hash.digest('hex') : null;
      const blob = await this.blobs.completePartial(id, meta, known, (b) => {
        if (b.size !== meta.size) throw E.bodyLengthDiffers(meta.path, b.size, meta.size);
        if (b.sha256 !== declared) throw E.hashMismatch(meta.path, b.sha256, declared, 'sha256');
        if (meta.sha256 && meta.sha256 !== declared) throw E.hashMismatch(meta.path, b.sha256, meta.sha256, 'sha256');
      });
      return { meta, blob };
    });
  }

  async abort(runId: string, id: string): Promise<void> {
    await this.partial(runId, id);
    this.hashes.delete(id);
    await this.blobs.deletePartial(id);
  }

  private async partial(runId: string, id: string): Promise<PartialState> {
    const p = await this.blobs.readPartial(id);
    if (!p || p.meta.runId !== runId) throw E.uploadNotFound(runId, id);
    return p;
  }

  /** Keeps the hash; forgets those of uploads idle past service.uploadPartialMaxAgeS (their partials are swept). */
  private remember(id: string, h: RunningHash): void {
    const cutoff = Date.now() - settings.service.uploadPartialMaxAgeS * 1000;
    for (const [other, r] of this.hashes) if (r.usedAt < cutoff) this.hashes.delete(other);
    this.hashes.set(id, h);
  }

  private oneAtATime<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.busy.get(id) ?? Promise.resolve();
    const next = before.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.busy.set(id, settled);
    void settled.then(() => {
      if (this.busy.get(id) === settled) this.busy.delete(id);
    });
    return next;
  }
}

function stateOf(id: string, { meta, received }: PartialState): UploadState {
  return { uploadId: id, path: meta.path, size: meta.size, chunkBytes: meta.chunkBytes, received, sha256: meta.sha256 };
}
