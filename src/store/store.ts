/**
 * The Store: the service's only way to persistence. Implementations: SQLite (embedded, default) and
 * PostgreSQL (shared by replicas), each with its artifact bytes in a BlobStore (a folder or S3).
 * Nothing of a backend shows through it, and it caches nothing between calls: several processes
 * may serve one database at once, and each answer holds whatever another process wrote.
 */
import type {
  ArtifactInfo,
  AssetSummary,
  AssetVersion,
  MetricBatch,
  MetricHistory,
  NdjsonBatchAck,
  PromoteRequest,
  RecordEvent,
  PurgeRequest,
  PurgeResult,
  RunInfo,
  RunPatch,
  RunSummary,
  RunUpsert,
  UploadOpenRequest,
  UploadState,
} from '../protocol';
import type { Readable } from 'stream';
import type { ArtifactUpload } from './artifact-upload';
import type { ByteRange } from './blob-store';
import type { RunQuery } from './run-query';

export interface ExperimentSummary {
  name: string;
  runs: number;
  lastStartTime: string | null;
}

export interface HistoryQuery {
  /** Downsample to at most this many points (min and max of each bucket are kept). */
  maxPoints?: number;
  /** Raw paging, in series order. */
  offset?: number;
  limit?: number;
}

export interface ArtifactBlobRef {
  path: string;
  size: number;
  sha256: string;
  time: string;
  version: number;
}

declare const checked: unique symbol;

/**
 * A metric batch the service has checked with the metric line's rules (src/service: json-batch.ts,
 * ndjson-batch.ts), the only kind a Store takes: it trusts what it is given. `firstSeq..lastSeq`
 * are the sequence numbers it covers, blank lines included.
 */
export interface CheckedBatch extends MetricBatch {
  firstSeq: number;
  lastSeq: number;
  readonly [checked]: true;
}

export interface PutArtifactResult extends ArtifactInfo {
  unchanged: boolean;
}

export interface Store {
  upsertRun(id: string, patch: RunUpsert): Promise<RunInfo>;
  getRun(id: string): Promise<RunInfo | null>;
  /** Cheap: no metrics or artifacts gathered (hot paths such as uploads call it). */
  runExists(id: string): Promise<boolean>;
  /** The newest run the query selects (its sort ignored). */
  lastRun(query?: RunQuery): Promise<RunInfo | null>;
  /** Filtered and sorted by the store itself, with indexes: never by loading every run. */
  listRuns(query?: RunQuery): Promise<RunSummary[]>;
  countRuns(query?: RunQuery): Promise<number>;
  patchRun(id: string, patch: RunPatch): Promise<RunInfo>;
  deleteRun(id: string): Promise<RunInfo>;
  restoreRun(id: string): Promise<RunInfo>;
  /** Deleted runs removed for good, with the blobs nothing else refers to. */
  purge(req: PurgeRequest): Promise<PurgeResult>;
  /** Last value of every scalar metric of the given runs (for run tables). */
  lastMetrics(runIds: string[]): Promise<Record<string, Record<string, unknown>>>;
  listExperiments(): Promise<ExperimentSummary[]>;
  /**
   * Stores a batch exactly once: lines at or below the stream's acknowledged seq are skipped; a
   * batch starting after it + 1 is refused whole (OUTPOST_ERR_SEQUENCE_GAP). The answer lists the
   * rejected lines this call stored. A full disk is OUTPOST_ERR_STORAGE_FULL, as for every write.
   */
  ingestMetrics(runId: string, batch: CheckedBatch): Promise<NdjsonBatchAck>;
  metricHistory(runId: string, name: string, query: HistoryQuery): Promise<MetricHistory | null>;
  recordEvent(runId: string, event: RecordEvent): Promise<void>;
  /**
   * Receives the bytes (verified by `upload.verify` before anything is visible), then records a
   * version unless the latest one has these bytes. A version never names a blob that is missing.
   */
  putArtifact(runId: string, path: string, upload: ArtifactUpload): Promise<PutArtifactResult>;
  /**
   * Resumable uploads (src/store/resumable-uploads.ts): opened for a run, path and size (checked
   * by the service); chunks stored durably at their offsets; committed into a version, as
   * putArtifact does, once every chunk is there and the whole size and sha256 match.
   */
  openUpload(runId: string, req: UploadOpenRequest): Promise<UploadState>;
  uploadState(runId: string, uploadId: string): Promise<UploadState>;
  putUploadChunk(runId: string, uploadId: string, offset: number, body: Readable, length: number): Promise<UploadState>;
  commitUpload(runId: string, uploadId: string, sha256?: string): Promise<PutArtifactResult>;
  abortUpload(runId: string, uploadId: string): Promise<void>;
  deleteArtifact(runId: string, path: string): Promise<boolean>;
  listArtifacts(runId: string): Promise<ArtifactInfo[]>;
  getArtifact(runId: string, path: string, version?: number): Promise<ArtifactBlobRef | null>;
  /** The bytes of a stored version (or `range` of them), wherever this store keeps them. */
  openBlob(sha256: string, range?: ByteRange): Promise<Readable>;
  promote(req: PromoteRequest): Promise<AssetVersion>;
  listAssets(): Promise<AssetSummary[]>;
  getAsset(name: string): Promise<AssetVersion[] | null>;
  close(): Promise<void>;
}
