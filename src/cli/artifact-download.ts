/**
 * `history info -a PATH [-o DEST]`: streams an artifact to a temp file beside DEST, checks its
 * size and sha256 against what the service declared, then renames it into place: DEST is either
 * the whole, verified file or untouched.
 */
import { randomBytes } from 'crypto';
import fs, { createWriteStream, promises as fsp } from 'fs';
import path from 'path';
import type { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { SingleBar } from 'cli-progress';
import { ApiError, AxiosInstance, artifactUrl } from '../http/api-client';
import type { ApiErrorBody } from '../protocol';
import { HashingCounter } from './hashing-counter';
import { CliError, EXIT_REFUSED } from './exit-codes';
import { formatBytes } from './format-human';

/** Files above this size get a progress bar when stderr is a terminal. */
export const PROGRESS_MIN_BYTES = 8 * 1024 * 1024; // 8 MiB

export interface DownloadResult {
  run: string;
  path: string;
  dest: string;
  size: number;
  sha256: string;
  version: number;
}

/** Where the bytes go: DEST, DEST/<basename> when DEST is a folder, else <cwd>/<basename>. */
export function resolveDest(artifactPath: string, dest: string | undefined, cwd = process.cwd()): string {
  const base = path.posix.basename(artifactPath);
  if (dest === undefined || dest === '') return path.join(cwd, base);
  const full = path.resolve(cwd, dest);
  const stat = statOrNull(full);
  if (stat?.isDirectory() || /[\\/]$/.test(dest)) {
    if (!stat) throw new CliError(`-o ${dest}: folder ${full} does not exist`, EXIT_REFUSED);
    return path.join(full, base);
  }
  if (stat && !stat.isFile()) throw new CliError(`-o ${dest}: ${full} exists and is not a regular file`, EXIT_REFUSED);
  const parent = statOrNull(path.dirname(full));
  if (!parent) throw new CliError(`-o ${dest}: folder ${path.dirname(full)} does not exist`, EXIT_REFUSED);
  if (!parent.isDirectory()) throw new CliError(`-o ${dest}: ${path.dirname(full)} is not a folder`, EXIT_REFUSED);
  return full;
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

export async function downloadArtifact(api: AxiosInstance, run: string, artifactPath: string, dest: string): Promise<DownloadResult> {
  const res = await api.get<Readable>(artifactUrl(run, artifactPath), { responseType: 'stream', validateStatus: () => true });
  if (res.status !== 200) throw await errorFromStream(res.status, res.data);
  const size = Number(res.headers['content-length']);
  const sha256 = String(res.headers['x-outpost-sha256'] ?? '');
  const version = Number(res.headers['x-outpost-version'] ?? 0);
  if (!Number.isSafeInteger(size) || !/^[0-9a-f]{64}$/.test(sha256)) {
    res.data.destroy();
    throw new CliError(`the service sent "${artifactPath}" without a valid Content-Length and x-outpost-sha256; refusing an unverifiable download`);
  }
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.part`);
  const counter = new HashingCounter(size, () => new CliError(`"${artifactPath}": the service sent more than the declared ${size} bytes`));
  const bar = progressBar(size);
  let received = 0;
  if (bar) res.data.on('data', (chunk: Buffer) => bar.increment(chunk.length, { done: formatBytes((received += chunk.length)) }));
  try {
    await pipeline(res.data, counter, createWriteStream(tmp, { flags: 'wx' }));
    bar?.stop();
    const got = counter.hash.digest('hex');
    if (counter.size !== size) throw new CliError(`"${artifactPath}": received ${counter.size} bytes, the service declared ${size}`);
    if (got !== sha256) throw new CliError(`"${artifactPath}": sha256 of the download is ${got}, the service declared ${sha256}; nothing was written`);
    const fh = await fsp.open(tmp, 'r');
    await fh.sync().finally(() => fh.close());
    await fsp.rename(tmp, dest);
  } catch (err) {
    bar?.stop();
    await fsp.rm(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code && !(err instanceof CliError)) {
      throw new CliError(`cannot write ${dest}: ${(err as Error).message}`);
    }
    throw err;
  }
  return { run, path: artifactPath, dest, size, sha256, version };
}

function progressBar(size: number): SingleBar | undefined {
  if (!process.stderr.isTTY || size <= PROGRESS_MIN_BYTES) return undefined;
  const bar = new SingleBar({
    stream: process.stderr,
    format: `{bar} {percentage}% | {done} of ${formatBytes(size)} | {eta_formatted}`,
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(size, 0, { done: formatBytes(0) });
  return bar;
}

/** The JSON error of a failed streamed request (axios leaves it unread). */
async function errorFromStream(status: number, body: Readable): Promise<ApiError> {
  let text = '';
  for await (const chunk of body) {
    text += chunk.toString();
    if (text.length > 64 * 1024) break;
  }
  body.destroy();
  try {
    const parsed = JSON.parse(text) as ApiErrorBody;
    return new ApiError(parsed.error.message, { status, code: parsed.error.code, field: parsed.error.field });
  } catch {
    return new ApiError(`HTTP ${status}: ${text.slice(0, 200)}`, { status });
  }
}
