/**
 * Artifact bytes, content-addressed by sha256, in a backend of their own (a folder, S3). Every
 * backend gives the same promises: a blob is visible under its sha256 only once every byte is in
 * and the hash and size were checked, never torn; identical files are stored once; temp objects of
 * uploads abandoned anywhere (another host included) are cleaned by age, never by whose they are.
 */
import { Transform, type Readable, type TransformCallback } from 'stream';

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

/**
 * A resumable upload on its way in (src/store/resumable-uploads.ts): what the service learnt when it
 * was opened. `handle` is the backend's own (S3: the multipart upload's id).
 */
export interface PartialMeta {
  runId: string;
  path: string;
  size: number;
  sha256: string | null;
  chunkBytes: number;
  created: string;
  handle?: string;
}

/** A partial upload and the bytes of it stored durably: whole chunks from the start (or all of it). */
export interface PartialState {
  meta: PartialMeta;
  received: number;
}

/**
 * Partial uploads kept between requests, on any host: each chunk is durable before it is
 * acknowledged, the bytes stored are always whole chunks from the start, and the blob becomes
 * visible only when completed with the whole size and sha256 checked.
 */
export interface PartialBlobs {
  /** The least chunk size this backend takes (S3: its 5 MiB part minimum). */
  readonly minChunkBytes: number;
  createPartial(id: string, meta: PartialMeta): Promise<PartialMeta>;
  readPartial(id: string): Promise<PartialState | null>;
  /** Stores `length` bytes of `source` at `offset` (a chunk boundary), durably; `onBytes` sees them in order. */
  writeChunk(id: string, meta: PartialMeta, offset: number, source: Readable, length: number, onBytes?: (b: Buffer) => void): Promise<void>;
  /** Every chunk is in: hashed (unless `knownSha256`), verified, made visible under its sha256; the partial goes either way. */
  completePartial(id: string, meta: PartialMeta, knownSha256: string | null, verify: (b: WrittenBlob) => void): Promise<WrittenBlob>;
  deletePartial(id: string): Promise<void>;
  /** Removes partial uploads without a chunk for longer than `olderThanMs`; returns how many went. */
  sweepPartials(olderThanMs: number, now?: number): Promise<number>;
}

/**
 * Exactly `length` bytes pass, each seen by `onBytes`; more or fewer fail the stream with the
 * error `wrongLength(received)` makes.
 */
export function exactBytes(length: number, wrongLength: (received: number) => Error, onBytes?: (b: Buffer) => void): Transform {
  let received = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      received += chunk.length;
      if (received > length) return done(wrongLength(received));
      onBytes?.(chunk);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      done(received === length ? null : wrongLength(received));
    },
  });
}

export interface BlobStore extends PartialBlobs {
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

/**
 * Sweeps `blobs` now and every `everyMs` (the timer keeps no process alive): temp objects idle for
 * `maxAgeMs`, partial uploads without a chunk for `partialMaxAgeMs`. Returns the stop.
 */
export function sweepEvery(blobs: BlobStore, everyMs: number, maxAgeMs: number, partialMaxAgeMs: number, onError: (err: Error) => void = () => undefined): () => void {
  const sweep = () => {
    void blobs.sweepTemp(maxAgeMs).catch(onError);
    void blobs.sweepPartials(partialMaxAgeMs).catch(onError);
  };
  sweep();
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
