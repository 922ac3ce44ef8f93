/**
 * Uploads one file: a first pass hashes it, the second streams it with that hash declared, and
 * the service refuses bytes that do not match. A file rewritten meanwhile is never stored torn.
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

const READ_CHUNK = 1024 * 1024;

export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: READ_CHUNK }), hash);
  return hash.digest('hex');
}

export function sameStat(a: FileStat | undefined, b: FileStat | undefined): boolean {
  return !!a && !!b && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export async function statOf(file: string): Promise<FileStat> {
  const st = await fsp.stat(file);
  return { size: st.size, mtimeMs: st.mtimeMs };
}

/** Streams `file` to the run as `artifactPath`; `sha256` must be the hash of the bytes at `before`. */
export async function uploadFile(
  api: AxiosInstance,
  runId: string,
  artifactPath: string,
  file: string,
  before: FileStat,
  sha256: string,
): Promise<ArtifactInfo & { unchanged: boolean }> {
  const body = fs.createReadStream(file, { highWaterMark: READ_CHUNK, end: Math.max(0, before.size - 1), start: 0 });
  const data = before.size === 0 ? Buffer.alloc(0) : body;
  if (before.size === 0) body.destroy();
  try {
    const res = await api.put(artifactUrl(runId, artifactPath), data, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(before.size), 'x-outpost-sha256': sha256 },
    });
    const after = await statOf(file);
    if (!sameStat(before, after)) throw new FileChanged(file);
    return res.data as ArtifactInfo & { unchanged: boolean };
  } finally {
    body.destroy();
  }
}
