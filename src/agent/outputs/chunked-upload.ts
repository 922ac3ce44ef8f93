/**
 * A big file as a resumable upload (docs/http-api.md, "Resumable uploads"): opened, sent in chunks
 * each acknowledged by the service, committed with the whole file's sha256. Where it stands is kept
 * in the run folder after every acknowledgement, so an agent killed at any byte, a restarted
 * service or a dropped connection costs at most the chunk in flight: the next attempt asks the
 * service how far the upload got and sends only the rest. A file that changed meanwhile starts over.
 */
import { createHash } from 'crypto';
import fs from 'fs';
import { promisify } from 'util';
import type { AxiosInstance } from 'axios';
import { ApiError, toApiError } from '../../http/api-client';
import { putRaw, viaProxy } from '../../http/raw-upload';
import type { ArtifactInfo, UploadState } from '../../protocol';
import { type FileStat, type UploadProgress, readUploadsState, writeUploadsState } from '../../run-folder';
import type { Logger } from '../../log/logger';

const read = promisify(fs.read);

/** The service has no resumable uploads (an older outpost): the file goes in one request. */
export class ChunkedUnsupported extends Error {}

type Stored = ArtifactInfo & { unchanged: boolean };

export interface ChunkedUploaderDeps {
  api: AxiosInstance;
  runId: string;
  /** Where progress is kept (files.uploads.json). */
  stateFile: string;
  /** agent.uploadChunkBytes: files bigger than this go in chunks; 0 never. */
  chunkBytes: number;
  log: Logger;
}

export class ChunkedUploader {
  private progress: Promise<Map<string, UploadProgress>> | null = null;
  private saving: Promise<void> = Promise.resolve();
  private unsupported = false;

  constructor(private readonly d: ChunkedUploaderDeps) {}

  applies(size: number): boolean {
    return !this.unsupported && this.d.chunkBytes > 0 && size > this.d.chunkBytes;
  }

  /**
   * Sends the file read from `fd` (opened inside the synced folder; the caller closes it) as
   * `artifactPath`. `unchanged` throws if the file moved on since `before` was taken.
   */
  async upload(artifactPath: string, fd: number, before: FileStat, knownSha256: string | null, unchanged: () => void): Promise<Stored> {
    const all = await this.load();
    let p = all.get(artifactPath);
    if (p && (p.size !== before.size || p.mtimeMs !== before.mtimeMs)) {
      // Another version of the file than the one this upload was for: that one is of no use.
      await this.call('DELETE', this.url(p.uploadId)).catch(() => undefined);
      p = undefined;
      await this.save(artifactPath, undefined);
    }
    // A chunk sent at another offset than the service expects, or an upload it no longer has:
    // ask again where it stands (or open another), a few times at most.
    for (let attempt = 0; ; attempt++) {
      try {
        // The progress as last saved: a new upload opened by the attempt before, say.
        const now = await this.resumeOrOpen(artifactPath, attempt === 0 ? p : all.get(artifactPath), before, knownSha256);
        if ('stored' in now) return now.stored;
        return await this.send(artifactPath, fd, now, unchanged);
      } catch (err) {
        const code = err instanceof ApiError ? err.code : undefined;
        if (attempt >= 3 || !(code === 'OUTPOST_ERR_UPLOAD_OFFSET' || code === 'OUTPOST_ERR_UPLOAD_NOT_FOUND' || code === 'OUTPOST_ERR_UPLOAD_INCOMPLETE')) {
          // The bytes differ from the file's (it changed between two attempts): start over next time.
          if (code === 'OUTPOST_ERR_HASH_MISMATCH' || code === 'OUTPOST_ERR_LENGTH_MISMATCH') await this.save(artifactPath, undefined);
          throw err;
        }
        this.d.log.debug(`upload of ${artifactPath}: ${(err as Error).message}; asking the service where it stands`);
      }
    }
  }

  /** The upload this file has in progress, at the offset the service says; or a new one. */
  private async resumeOrOpen(
    artifactPath: string,
    p: UploadProgress | undefined,
    before: FileStat,
    knownSha256: string | null,
  ): Promise<UploadProgress | { stored: Stored }> {
    if (p) {
      try {
        const s = await this.call<UploadState>('GET', this.url(p.uploadId));
        const now = { ...p, acked: s.received, chunkBytes: s.chunkBytes };
        await this.save(artifactPath, now);
        return now;
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'OUTPOST_ERR_UPLOAD_NOT_FOUND') throw err;
        // Committed already (the answer was lost)? Then the latest version has this hash.
        if (p.sha256 && p.acked === p.size) {
          const listed = await this.call<ArtifactInfo[]>('GET', `/runs/${encodeURIComponent(this.d.runId)}/artifacts`);
          const found = listed.find((a) => a.path === artifactPath && a.sha256 === p!.sha256);
          if (found) {
            await this.save(artifactPath, undefined);
            return { stored: { ...found, unchanged: true } };
          }
        }
        this.d.log.info(`upload of ${artifactPath}: the service no longer has its partial upload (swept, or the service's store changed); starting again`);
      }
    }
    let s: UploadState;
    try {
      s = await this.call<UploadState>('POST', `/runs/${encodeURIComponent(this.d.runId)}/uploads`, {
        path: artifactPath,
        size: before.size,
        chunkBytes: this.d.chunkBytes,
        ...(knownSha256 ? { sha256: knownSha256 } : {}),
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'OUTPOST_ERR_NOT_FOUND') {
        this.unsupported = true;
        throw new ChunkedUnsupported(`the service has no resumable uploads: ${err.message}`);
      }
      throw err;
    }
    const opened: UploadProgress = { uploadId: s.uploadId, size: before.size, mtimeMs: before.mtimeMs, chunkBytes: s.chunkBytes, acked: s.received, sha256: knownSha256 };
    await this.save(artifactPath, opened);
    return opened;
  }

  /**
   * Reads the whole file once: the part the service has is only hashed, the rest hashed and sent.
   * The next chunk is read while one is on its way (two buffers), and the progress file is written
   * beside the sending: the service, asked on resumption, is what says how far the upload got.
   */
  private async send(artifactPath: string, fd: number, p: UploadProgress, unchanged: () => void): Promise<Stored> {
    const hash = createHash('sha256');
    const buffers = [Buffer.allocUnsafe(p.chunkBytes), Buffer.allocUnsafe(p.chunkBytes)];
    const readChunk = async (offset: number, buf: Buffer): Promise<Buffer> => {
      const n = Math.min(p.chunkBytes, p.size - offset);
      for (let got = 0; got < n; ) {
        const { bytesRead } = await read(fd, buf, got, n - got, offset + got);
        if (bytesRead === 0) {
          unchanged(); // shorter than it was: it changed
          throw new Error(`${artifactPath} ended at ${offset + got} bytes, ${p.size} expected`);
        }
        got += bytesRead;
      }
      return buf.subarray(0, n);
    };
    let acked = p.acked;
    let saved: Promise<void> = Promise.resolve();
    let next = p.size > 0 ? readChunk(0, buffers[0]) : Promise.resolve(Buffer.alloc(0));
    for (let offset = 0, i = 0; offset < p.size; offset += p.chunkBytes, i++) {
      const chunk = await next;
      hash.update(chunk);
      const following = offset + p.chunkBytes;
      if (following < p.size) next = readChunk(following, buffers[(i + 1) % 2]);
      next.catch(() => undefined);
      if (offset < acked) continue;
      const s = await this.putChunk(p.uploadId, offset, chunk);
      acked = s.received;
      saved = this.save(artifactPath, { ...p, acked });
      saved.catch(() => undefined);
    }
    await saved;
    // Unchanged after the last byte was read: what was hashed and sent is one version.
    unchanged();
    const sha256 = hash.digest('hex');
    await this.save(artifactPath, { ...p, acked, sha256 });
    const stored = await this.call<Stored>('POST', `${this.url(p.uploadId)}/commit`, { sha256 });
    await this.save(artifactPath, undefined);
    return stored;
  }

  private putChunk(uploadId: string, offset: number, chunk: Buffer): Promise<UploadState> {
    const url = `${this.url(uploadId)}?offset=${offset}`;
    const headers = { 'content-type': 'application/octet-stream' };
    if (viaProxy(this.d.api)) return this.call<UploadState>('PUT', url, chunk, headers);
    return putRaw<UploadState>(this.d.api, url, { headers, body: chunk });
  }

  private url(uploadId: string): string {
    return `/runs/${encodeURIComponent(this.d.runId)}/uploads/${uploadId}`;
  }

  private async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, data?: unknown, headers?: Record<string, string>): Promise<T> {
    try {
      return (await this.d.api.request<T>({ method, url, data, headers })).data;
    } catch (err) {
      throw toApiError(err);
    }
  }

  private load(): Promise<Map<string, UploadProgress>> {
    this.progress ??= readUploadsState(this.d.stateFile).catch((err: Error) => {
      this.d.log.warn(`${err.message}: resumable uploads start over`);
      return new Map<string, UploadProgress>();
    });
    return this.progress;
  }

  /** Records (or, with undefined, forgets) a file's progress; writes go one after another. */
  private async save(artifactPath: string, p: UploadProgress | undefined): Promise<void> {
    const all = await this.load();
    if (p) all.set(artifactPath, p);
    else if (!all.delete(artifactPath)) return;
    const write = this.saving.then(() => writeUploadsState(this.d.stateFile, all));
    this.saving = write.catch(() => undefined);
    await write;
  }
}
