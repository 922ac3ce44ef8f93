/**
 * Artifact bytes, content-addressed by sha256, in a backend of their own (a folder, S3). Every
 * backend gives the same promises: a blob is visible under its sha256 only once every byte is in
 * and the hash and size were checked, never torn; identical files are stored once; temp objects of
 * uploads abandoned anywhere (another host included) are cleaned by age, never by whose they are.
 */
import type { Readable } from 'stream';

export interface WrittenBlob {
  sha256: string;
  size: number;
}

/** Bytes start..end of a blob, both included (as in an HTTP Range). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobPut {
  /** More bytes than this are refused with tooLarge(), and nothing is kept. */
  maxBytes: number;
  tooLarge: () => Error;
  /** Sees the size and hash once every byte is in, before the blob becomes visible; throws to refuse it. */
  verify?: (b: WrittenBlob) => void;
}

export interface BlobStore {
  /** Where the blobs are, for messages and logs: a folder or an s3:// URL. */
  readonly location: string;
  /** Streams `source` in while hashing it; visible under its sha256 once verified. */
  put(source: Readable, opts: BlobPut): Promise<WrittenBlob>;
  /** The blob's bytes, or only `range` of them; null when there is no such blob. */
  open(sha256: string, range?: ByteRange): Promise<Readable | null>;
  exists(sha256: string): Promise<boolean>;
  /** Removes a blob (purge); removing one that is not there is not an error. */
  delete(sha256: string): Promise<void>;
  /** Removes temp objects of uploads idle for longer than `olderThanMs` before `now`; returns how many went. */
  sweepTemp(olderThanMs: number, now?: number): Promise<number>;
  close(): Promise<void>;
}

/** Sweeps `blobs` now and every `everyMs` (the timer keeps no process alive); returns the stop. */
export function sweepEvery(blobs: BlobStore, everyMs: number, maxAgeMs: number, onError: (err: Error) => void = () => undefined): () => void {
  const sweep = () => void blobs.sweepTemp(maxAgeMs).catch(onError);
  sweep();
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
