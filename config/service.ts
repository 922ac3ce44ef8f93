/** The history service's defaults. */
export interface ServiceSettings {
  host: string;
  port: number;
  closeGraceMs: number;
  sqliteBusyTimeoutMs: number;
  inlineBlobBytes: number;
  ingestSliceCells: number;
  bodyTimeoutMs: number;
  uploadIdleTimeoutMs: number;
  minUploadBytesPerSec: number;
  maxBufferedBodyBytes: number;
  busyRetryAfterS: number;
  storageFullRetryAfterS: number;
  minTokenChars: number;
  db: string;
  blobs: string;
  blobTempMaxAgeS: number;
  blobTempSweepS: number;
  pgPoolSize: number;
  pgRetries: number;
  s3ForcePathStyle: boolean;
  s3PartBytes: number;
  s3QueueSize: number;
  runFilterSetRuns: number;
  runCountCacheEntries: number;
  uploadChunkMaxBytes: number;
  uploadChunkMinBytes: number;
  uploadPartialMaxAgeS: number;
}

export const serviceDefaults: Readonly<ServiceSettings> = Object.freeze({
  host: '127.0.0.1', // loopback: no token needed
  port: 8787, // `outpost server` and `outpost ui`
  closeGraceMs: 10_000, // ms in-flight requests get after SIGTERM before the process exits anyway
  sqliteBusyTimeoutMs: 10_000, // ms a writer waits for another process's lock
  inlineBlobBytes: 64 * 1024, // 64 KiB: artifacts up to this size are kept in the database, not as files in blobs/
  ingestSliceCells: 10_000, // metric values stored per transaction; between two, other requests are answered
  bodyTimeoutMs: 30_000, // ms a JSON or NDJSON body has to arrive whole; also when an upload's rate floor starts
  uploadIdleTimeoutMs: 30_000, // ms an artifact upload may go without a byte arriving
  minUploadBytesPerSec: 64 * 1024, // 64 KiB/s: the least average rate of an upload once bodyTimeoutMs has passed
  maxBufferedBodyBytes: 256 * 1024 * 1024, // 256 MiB: request bodies held in memory at once, over all requests in flight
  busyRetryAfterS: 2, // seconds, the Retry-After of a 503 (memory for bodies in use, or the service closing)
  storageFullRetryAfterS: 30, // seconds, the Retry-After of a 507 (the store's disk is full)
  minTokenChars: 16, // characters a configured bearer token must have, surrounding whitespace not counted
  db: '', // the database, as --db takes it (sqlite:PATH or postgresql://...); empty: sqlite:<data>/outpost.db
  blobs: '', // where artifact bytes go, as --blobs takes it (a folder or s3://bucket/prefix); empty: <data>/blobs
  blobTempMaxAgeS: 6 * 3600, // seconds an upload's temp object may sit unchanged before it is taken for abandoned and removed (longer than the slowest allowed upload)
  blobTempSweepS: 3600, // seconds between two sweeps of abandoned temp objects (and one at start)
  pgPoolSize: 10, // connections each service process keeps to PostgreSQL at most
  pgRetries: 5, // times a PostgreSQL transaction is tried again after a serialization failure or a deadlock
  s3ForcePathStyle: false, // S3 URLs as endpoint/bucket/key instead of bucket.endpoint/key (MinIO and other S3-compatible servers)
  s3PartBytes: 8 * 1024 * 1024, // 8 MiB: the part size of S3 multipart uploads (memory per upload: this times s3QueueSize)
  s3QueueSize: 4, // parts of one S3 upload in flight at once
  runFilterSetRuns: 1_000, // a run filter's condition on a param, tag or metric that fewer runs than this meet is read as a whole set (the query may start from it); one that more meet is checked run by run, so that a sorted page stops at its end
  runCountCacheEntries: 100, // run counts (x-total-count), one per filter, and as many sizes of filter conditions (runFilterSetRuns), remembered until the store next changes; 0 remembers none
  uploadChunkMaxBytes: 64 * 1024 * 1024, // 64 MiB: the largest chunk of a resumable upload (a bigger ask is lowered to it)
  uploadChunkMinBytes: 1024 * 1024, // 1 MiB: the smallest chunk of a resumable upload (S3 blobs: never under S3's 5 MiB part minimum)
  uploadPartialMaxAgeS: 24 * 3600, // seconds a resumable upload may go without a chunk before it is taken for abandoned and removed
});

/** Upper bounds, where a bigger value would be a mistake. */
export const serviceMaxima: Readonly<Partial<Record<keyof ServiceSettings, number>>> = Object.freeze({
  inlineBlobBytes: 1024 * 1024, // such a body is held in memory while it arrives
  ingestSliceCells: 1_000_000, // one transaction holds the database's write lock for all of them
  pgPoolSize: 1000, // PostgreSQL's max_connections bounds them all
  s3PartBytes: 5 * 1024 * 1024 * 1024, // S3's own limit of a part
  uploadChunkMaxBytes: 5 * 1024 * 1024 * 1024, // S3's own limit of a part (a chunk is one)
});
