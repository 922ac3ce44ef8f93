/**
 * Uploads one file without ever storing a torn version. Small files are read once into memory,
 * hashed, sent, and kept only if the file did not change meanwhile. Big files are hashed in a
 * first pass and streamed in a second with that hash declared: the service refuses bytes that do
 * not match, so a rewrite during the upload is caught either way.
 */
import { createHash } from 'crypto';
import fs, { promises as fsp } from 'fs';
import { pipeline } from 'stream/promises';
import type { AxiosInstance } from 'axios';
import { artifactUrl } from '../http/api-client';
import type { ArtifactInfo } from '../protocol';

export interface FileStat {
  size: number;
  mtimeMs: number;
}

export class FileChanged extends Error {
  constructor(readonly file: string) {
    super(`${file} changed while it was being uploaded`);
  }
}

// Big reads: fewer stream turns per byte hashed or sent.
const READ_CHUNK = 4 * 1024 * 1024;
/** Files up to this size are read once into memory (bounded by the upload concurrency). */
export const SMALL_FILE_BYTES = 1024 * 1024;

/** A read buffer no larger than the file: 10,000 small files must not cost 10,000 big buffers. */
function chunkFor(size: number): number {
  return Math.max(16 * 1024, Math.min(READ_CHUNK, size));
}

export async function hashFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: chunkFor(size) }), hash);
  return hash.digest('hex');
}

export function sameStat(a: FileStat | undefined | null, b: FileStat | undefined | null): boolean {
  return !!a && !!b && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export async function statOf(file: string): Promise<FileStat> {
  const st = await fsp.stat(file);
  return { size: st.size, mtimeMs: st.mtimeMs };
}

export interface PreparedUpload {
  sha256: string;
  /** The bytes themselves for a small file; null for a big one (streamed from disk). */
  bytes: Buffer | null;
}

/** Reads (small) or hashes (big) the file as it is at `before`; throws FileChanged if it moved on. */
export async function prepareUpload(file: string, before: FileStat): Promise<PreparedUpload> {
  if (before.size <= SMALL_FILE_BYTES) {
    const fh = await fsp.open(file, 'r');
    try {
      const bytes = await fh.readFile();
      // Unchanged from before the read to after it: these bytes are one version, never torn.
      const after = await fh.stat();
      if (bytes.length !== before.size || !sameStat(before, after)) throw new FileChanged(file);
      return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
    } finally {
      await fh.close();
    }
  }
  return { sha256: await hashFile(file, before.size), bytes: null };
}

/** Sends the prepared file to the run as `artifactPath`, then checks the file is still as it was. */
export async function uploadFile(
  api: AxiosInstance,
  runId: string,
  artifactPath: string,
  file: string,
  before: FileStat,
  prepared: PreparedUpload,
  retry = false,
): Promise<ArtifactInfo & { unchanged: boolean }> {
  // A retry first checks the file is still the one prepared (a first attempt follows prepareUpload's check).
  if (retry && !sameStat(before, await statOf(file))) throw new FileChanged(file);
  const stream = prepared.bytes ? null : fs.createReadStream(file, { highWaterMark: chunkFor(before.size), start: 0, end: before.size - 1 });
  try {
    const res = await api.put(artifactUrl(runId, artifactPath), prepared.bytes ?? stream, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(before.size), 'x-outpost-sha256': prepared.sha256 },
    });
    if (!sameStat(before, await statOf(file))) throw new FileChanged(file);
    return res.data as ArtifactInfo & { unchanged: boolean };
  } finally {
    stream?.destroy();
  }
}
