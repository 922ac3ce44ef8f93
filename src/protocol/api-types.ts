/** Shapes of the HTTP API (/api/v1) and of the CLI's --json output. */
import type { MetricType, MetricValue } from './metric-line';
import type { ParamValue } from './run-meta-line';

export const API_PREFIX = '/api/v1';

/**
 * Run ids and asset names appear in URLs and folder names: a letter or digit, then letters,
 * digits, ".", "_" or "-", at most `maxChars` in all (limits.maxIdChars; protocol reads no config,
 * so every door passes the setting).
 */
export function idPattern(maxChars: number): string {
  return `^[A-Za-z0-9][A-Za-z0-9._-]{0,${Math.max(0, Math.floor(maxChars) - 1)}}$`;
}

/** The rule of idPattern in words, for error messages. */
export function idRule(maxChars: number): string {
  return `1 to ${maxChars} characters: letters, digits, ".", "_" or "-", the first a letter or digit`;
}


export type RunStatus = 'running' | 'completed' | 'failed' | 'killed';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'killed'];

/** One entry of `history list --json`. Times are ISO 8601 strings. */
export interface RunSummary {
  id: string;
  experiment: string;
  name: string;
  status: RunStatus;
  startTime: string;
  endTime: string | null;
  /** Hyperparameters, flattened (model.depth): each keeps its first value. */
  params: Record<string, ParamValue>;
  tags: Record<string, string>;
  /** Deleted (hidden from lists, restorable until purged). */
  deleted: boolean;
}

export interface MetricSummary {
  type: MetricType;
  count: number;
  last: MetricValue;
  lastStep: number | null;
}

export interface ArtifactInfo {
  path: string;
  size: number;
  sha256: string;
  time: string;
  versions: number;
}

export interface RejectedLineInfo {
  stream: string;
  file: string;
  line: number;
  reason: string;
}

export interface RunEvent {
  time: string;
  kind: 'file-refused' | 'stream-reset' | 'warning';
  path?: string;
  message: string;
}

/** `history info -r RUN --json`. */
export interface RunInfo extends RunSummary {
  exitCode: number | null;
  command: string | null;
  cwd: string | null;
  host: string | null;
  gitCommit: string | null;
  gitDirty: boolean | null;
  metrics: Record<string, MetricSummary>;
  artifacts: ArtifactInfo[];
  deletedArtifacts: string[];
  rejectedLines: number;
  rejected: RejectedLineInfo[];
  events: RunEvent[];
  /** Free text (Markdown, shown as text-safe HTML by the page), or null. */
  note: string | null;
  /** When the run was deleted; null while it is not. */
  deletedTime: string | null;
}

/** PATCH /runs/:id: what people change about a run. A tag set to null is removed. */
export interface RunPatch {
  name?: string;
  note?: string | null;
  tags?: Record<string, string | number | boolean | null>;
}

/** POST /purge: deleted runs removed for good, with the blobs nothing else refers to. */
export interface PurgeRequest {
  /** Only runs deleted at least this long ago (seconds); default: every deleted run. */
  olderThanSeconds?: number;
  /** Say what would go, and remove nothing. */
  dryRun?: boolean;
}

export interface PurgeResult {
  runs: string[];
  blobs: number;
  bytes: number;
  dryRun: boolean;
}

/** PUT /runs/:id (create or update; idempotent, so an offline agent can retry it). */
export interface RunUpsert {
  experiment?: string;
  name?: string;
  status?: RunStatus;
  exitCode?: number | null;
  startTime?: string;
  endTime?: string | null;
  command?: string;
  cwd?: string;
  host?: string;
  gitCommit?: string | null;
  gitDirty?: boolean | null;
  note?: string | null;
}

/** One line of a metric batch: a valid line, or a rejected one (it still takes its place). */
export type WireLine =
  | { seq: number; time: number; step?: number; metrics: Record<string, MetricValue> }
  | { seq: number; time: number; params: Record<string, ParamValue> }
  | { seq: number; time: number; tags: Record<string, string | null> }
  | { seq: number; time: number; error: string };

/**
 * POST /runs/:id/metrics. `seq` is the line's number in its stream (1, 2, 3...) and must increase;
 * a seq missing between two lines is a blank line. The batch covers its first to its last line's
 * seq and may not start after the stream's last stored line + 1 (OUTPOST_ERR_SEQUENCE_GAP).
 */
export interface MetricBatch {
  stream: string;
  file?: string;
  /**
   * What wrote the lines, when it is not the run's spool (a TensorBoard folder, a CSV log, the
   * machine's load): a series belongs to the source that wrote it first, and another source's
   * values of that name go to a series of their own, `NAME (SOURCE)` (docs/metric-line.md).
   */
  source?: string;
  lines: WireLine[];
}

/**
 * `ackedSeq`: every line of the stream up to it is stored (or recorded as rejected). `skipped`: lines
 * of this batch that were stored already (a retry), `stored`: the others.
 */
export interface BatchAck {
  stream: string;
  ackedSeq: number;
  stored: number;
  skipped: number;
}

/** One point of `history metric --json`. */
export interface MetricPoint {
  step: number | null;
  time: number;
  value: MetricValue;
}

/** GET /runs/:id/metrics/:name; `index` is the point's position in the series. */
export interface MetricHistory {
  name: string;
  type: MetricType;
  count: number;
  downsampled: boolean;
  points: (MetricPoint & { index: number })[];
  nextOffset: number | null;
}

export interface AssetFile {
  path: string;
  size: number;
  sha256: string;
}

export interface AssetVersion {
  name: string;
  version: number;
  sourceRun: string;
  prefix: string;
  createdTime: string;
  files: AssetFile[];
}

export interface AssetSummary {
  name: string;
  latestVersion: number;
  versions: number;
  updatedTime: string;
}

export interface PromoteRequest {
  run: string;
  prefix: string;
  name: string;
}

export interface RecordEvent {
  kind: RunEvent['kind'];
  path?: string;
  message: string;
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

/**
 * The agent's form of a metric batch: POST /runs/:id/metrics with Content-Type
 * application/x-ndjson and the spool's lines exactly as written (each ended by "\n"). Line i of
 * the body has sequence `first-seq + i`; blank lines take their number and carry nothing. Lines
 * without "time" get `time` from the header (when the agent read them).
 */
export const NDJSON_TYPE = 'application/x-ndjson';
export const BATCH_HEADERS = {
  stream: 'x-outpost-stream',
  firstSeq: 'x-outpost-first-seq',
  file: 'x-outpost-file',
  time: 'x-outpost-time',
  /** The batch's `source` (MetricBatch), percent-encoded (UTF-8); absent: the spool. */
  source: 'x-outpost-source',
} as const;

/** Characters in a source's name (MetricBatch.source). */
export const MAX_SOURCE_CHARS = 512;

/**
 * The series a source's values of `name` go to when another source has that name already:
 * `NAME (SOURCE)`, cut to `maxChars` (the source's start goes first, then the name's end), and
 * numbered from 2 if even that is taken by yet another source.
 */
export function sourceSeriesName(name: string, source: string, maxChars: number, n = 1): string {
  const number = n > 1 ? ` ${n}` : '';
  let label = source;
  const room = maxChars - name.length - number.length - 3;
  if (label.length > Math.max(room, 8)) label = `\u2026${label.slice(label.length - Math.max(room, 8) + 1)}`;
  const suffix = ` (${label})${number}`;
  return name.slice(0, Math.max(0, maxChars - suffix.length)) + suffix;
}

/**
 * Headers of an artifact upload. The hash may come first, as a header, or after the bytes, as an
 * HTTP trailer (chunked body, `trailer: x-outpost-sha256`): then the client hashes while it sends
 * and reads the file once. A chunked body declares its length in `x-outpost-size`.
 */
export const ARTIFACT_HEADERS = {
  sha256: 'x-outpost-sha256',
  size: 'x-outpost-size',
} as const;

/**
 * A resumable upload of one big file, in chunks (docs/http-api.md, "Resumable uploads"): opened
 * with its path and size, each chunk PUT at its offset and acknowledged once durable, committed
 * with the whole file's sha256. `received` counts the bytes stored, always whole chunks (or all).
 */
export interface UploadOpenRequest {
  path: string;
  size: number;
  /** The whole file's sha256, when the sender knows it already (else declared at the commit). */
  sha256?: string;
  /** The chunk size the sender would like; the service answers the one it uses. */
  chunkBytes?: number;
}

export interface UploadState {
  uploadId: string;
  path: string;
  size: number;
  chunkBytes: number;
  received: number;
  sha256: string | null;
}

export interface UploadCommitRequest {
  sha256?: string;
}

/** The answer to a metric batch: the ack, plus the rejected lines this request stored. */
export interface NdjsonBatchAck extends BatchAck {
  rejected: { seq: number; reason: string }[];
}
