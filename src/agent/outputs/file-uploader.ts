/**
 * Uploads one file without ever storing a torn version. Small files are read once into memory,
 * checked unchanged across the read, hashed and sent. Big files are read once too: streamed and
 * hashed on the way, with the hash sent as an HTTP trailer after a check that the file did not
 * change; when it did, the request is abandoned and the service stores nothing.
 */
import { createHash } from 'crypto';
import fs from 'fs';
import { pipeline } from 'stream/promises';
import type { AxiosInstance } from 'axios';
import { ApiError, artifactUrl } from '../../http/api-client';
import { classify } from '../../http/classify';
import { putRaw, viaProxy } from '../../http/raw-upload';
import { ARTIFACT_HEADERS, type ArtifactInfo } from '../../protocol';
import type { FileStat } from '../../run-folder';
import { ChunkedUnsupported, type ChunkedUploader } from './chunked-upload';
import { CTIME_SETTLED_MS, sameVersion } from '../file-version';
import { isInside } from './path-inside';


export class FileChanged extends Error {
  constructor(readonly file: string) {
    super(`${file} changed while it was being uploaded`);
  }
}

/** The path leads out of outputs/ now (a folder on the way swapped for a symlink): never read. */
export class OutsideRoot extends Error {
  constructor(
    readonly file: string,
    readonly target: string,
  ) {
    super(`${file} leads out of the synced folder (to ${target}); not read`);
  }
}

/** Whether an open file's path can be read back (Linux's /proc/self/fd). */
const FD_LINKS = process.platform === 'linux' && fs.existsSync('/proc/self/fd');

/**
 * Opens `file` for reading, only if what was opened is a regular file under `realRoot`: checked
 * on the open file itself (/proc/self/fd on Linux), so no symlink swapped in on the way can lead
 * the read out. Returns the descriptor and its fstat.
 */
export function openInside(file: string, realRoot: string): { fd: number; st: fs.Stats } {
  // Non-blocking: a FIFO swapped in since the stat must not hang the agent in open(2).
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new FileChanged(file); // no longer a regular file
    // Without /proc, the path resolved just after the open.
    const real = FD_LINKS ? fs.readlinkSync(`/proc/self/fd/${fd}`) : fs.realpathSync.native(file);
    if (!isInside(real, realRoot)) throw new OutsideRoot(file, real);
    return { fd, st };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** The hash sent as a trailer did not reach the service (a proxy that buffers bodies drops it). */
export class TrailersNotHonoured extends Error {
  constructor(artifactPath: string, detail: string) {
    super(`the upload of ${artifactPath} lost its sha256 trailer on the way (${detail})`);
  }
}

/**
 * Waits until the file's ctime has settled, so that any change during the read shows in it (a
 * file uploaded without the stability wait, at the end of a run, may have just been written).
 */
async function settled(file: string): Promise<void> {
  const wait = CTIME_SETTLED_MS - (Date.now() - fs.statSync(file).ctimeMs);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

// 1 MiB reads: bigger ones leave the CPU caches and take fresh pages every read, smaller ones
// take more turns per byte (docs/benchmarks.md, "Measured choices").
const READ_CHUNK = 1024 * 1024;
/** Files up to this size are read once into memory (bounded by the upload concurrency). */
export const SMALL_FILE_BYTES = 1024 * 1024;

export function sameStat(a: FileStat | undefined | null, b: FileStat | undefined | null): boolean {
  return !!a && !!b && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export interface PreparedUpload {
  /** Known for a small file (read whole) and a big one hashed first; else found while it is sent. */
  sha256: string | null;
  /** The bytes themselves for a small file; null for a big one (streamed from disk). */
  bytes: Buffer | null;
}

export async function hashFile(file: string, realRoot: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream('', { fd: openInside(file, realRoot).fd, highWaterMark: READ_CHUNK }), hash);
  return hash.digest('hex');
}

/**
 * Reads a small file whole, as it is at `before`; throws FileChanged if it moved on. The calls are
 * synchronous: for a file this small each is far cheaper than a thread-pool round trip, which
 * would be most of the agent's cost for a small file. A big file is hashed first
 * only if `hashFirst` (it may be a touched copy of what was sent); else its hash comes with the upload.
 */
export async function prepareUpload(file: string, realRoot: string, before: FileStat, hashFirst: boolean): Promise<PreparedUpload> {
  if (before.size > SMALL_FILE_BYTES) return { sha256: hashFirst ? await hashFile(file, realRoot) : null, bytes: null };
  await settled(file);
  const { fd, st: start } = openInside(file, realRoot);
  try {
    // One byte more than expected: a file that grew shows it.
    const bytes = Buffer.allocUnsafe(before.size + 1);
    let got = 0;
    for (let n = -1; n !== 0 && got < bytes.length; got += n) n = fs.readSync(fd, bytes, got, bytes.length - got, got);
    // Unchanged from before the read to after it: these bytes are one version, never torn.
    if (got !== before.size || !sameStat(before, start) || !sameVersion(start, fs.fstatSync(fd))) throw new FileChanged(file);
    const exact = bytes.subarray(0, got);
    return { sha256: createHash('sha256').update(exact).digest('hex'), bytes: exact };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Sends the prepared file to the run as `artifactPath`; resolves with the stored version. A big
 * file goes in one read with its hash as a trailer, or, with `trailers` false, hashed first and
 * declared up front (a second read, for services behind a proxy that drops trailers). With
 * `chunked`, a file bigger than one chunk goes as a resumable upload instead (chunked-upload.ts).
 */
export async function uploadFile(
  api: AxiosInstance,
  runId: string,
  artifactPath: string,
  file: string,
  realRoot: string,
  before: FileStat,
  prepared: PreparedUpload,
  trailers = true,
  chunked?: ChunkedUploader,
): Promise<ArtifactInfo & { unchanged: boolean }> {
  const url = artifactUrl(runId, artifactPath);
  if (prepared.bytes) {
    // These bytes are one whole version already, checked when they were read.
    const headers = { 'content-type': 'application/octet-stream', [ARTIFACT_HEADERS.sha256]: prepared.sha256! };
    if (viaProxy(api)) return (await api.put(url, prepared.bytes, { headers })).data as ArtifactInfo & { unchanged: boolean };
    return putRaw(api, url, { headers, body: prepared.bytes });
  }
  // Still the file the caller saw (a retry, or a stat taken a while ago)?
  await settled(file);
  const start = fs.statSync(file);
  if (!sameStat(before, start)) throw new FileChanged(file);
  const unchanged = () => {
    if (!sameVersion(start, fs.statSync(file))) throw new FileChanged(file);
  };
  if (chunked?.applies(before.size)) {
    const { fd } = openInside(file, realRoot);
    try {
      return await chunked.upload(artifactPath, fd, before, prepared.sha256, unchanged);
    } catch (err) {
      if (!(err instanceof ChunkedUnsupported)) throw err;
    } finally {
      fs.closeSync(fd);
    }
  }
  const read = () => fs.createReadStream('', { fd: openInside(file, realRoot).fd, highWaterMark: READ_CHUNK, start: 0, end: before.size - 1 });
  // Through a proxy, axios and the hash declared up front (putRaw speaks to no proxy).
  if (!trailers || viaProxy(api)) {
    const sha256 = prepared.sha256 ?? (await hashFile(file, realRoot));
    const body = read();
    try {
      // The service refuses bytes that do not hash to what was declared: a rewrite in between fails.
      const res = await api.put(url, body, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(before.size), [ARTIFACT_HEADERS.sha256]: sha256 },
      });
      unchanged();
      return res.data as ArtifactInfo & { unchanged: boolean };
    } finally {
      body.destroy();
    }
  }
  const body = read();
  const hash = createHash('sha256');
  body.on('data', (chunk) => hash.update(chunk));
  let digest = '';
  let stored: ArtifactInfo & { unchanged: boolean };
  try {
    stored = await putRaw(api, url, {
      headers: { 'content-type': 'application/octet-stream', [ARTIFACT_HEADERS.size]: String(before.size), trailer: ARTIFACT_HEADERS.sha256 },
      body,
      // Unchanged after the last byte was read: what was hashed and sent is one version.
      trailers: async () => {
        unchanged();
        digest = hash.digest('hex');
        return { [ARTIFACT_HEADERS.sha256]: digest };
      },
    });
  } catch (err) {
    if (err instanceof ApiError && classify(err) === 'hash-first') throw new TrailersNotHonoured(artifactPath, err.message);
    throw err;
  }
  // Stored without our hash to check against (the trailer and its announcement both dropped).
  if (stored.sha256 !== digest) throw new TrailersNotHonoured(artifactPath, `the service stored sha256 ${stored.sha256}, the file's is ${digest}`);
  return stored;
}
