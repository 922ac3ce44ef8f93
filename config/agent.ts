/** The sync agent's defaults: batching, file stability, scans and retries. */
export interface AgentSettings {
  batchMaxLines: number;
  batchMaxBytes: number;
  batchWindowMs: number;
  spoolPollMs: number;
  readChunkBytes: number;
  maxBufferedLines: number;
  fileStableMs: number;
  reconcileIntervalMs: number;
  reconcileMaxIntervalMs: number;
  uploadConcurrency: number;
  fileStateFlushMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  retryJitter: number;
  requestTimeoutMs: number;
  finalSyncGraceMs: number;
  uploadExisting: boolean;
  compressBatchesOverBytes: number;
  tfeventsFiles: string;
  csvFiles: string;
  trainerStateFiles: string;
  hparamsFiles: string;
  tfeventsMaxRecordBytes: number;
  sourceMaxFileBytes: number;
  systemMetricsIntervalMs: number;
  uploadChunkBytes: number;
}

export const agentDefaults: Readonly<AgentSettings> = Object.freeze({
  batchMaxLines: 10_000, // lines in one metric batch
  batchMaxBytes: 4 * 1024 * 1024, // 4 MiB: encoded size of one metric batch
  batchWindowMs: 25, // ms a batch waits for more lines after its first; bounds freshness
  spoolPollMs: 500, // ms between spool checks when fs.watch says nothing (it wakes the reader at once)
  readChunkBytes: 1024 * 1024, // 1 MiB: one read from the spool
  maxBufferedLines: 40_000, // lines read but not yet acknowledged; reading pauses above it
  fileStableMs: 300, // ms a file's size and mtime must stay unchanged before it is uploaded
  reconcileIntervalMs: 15_000, // ms between full scans of outputs/ while files change (watch events can be lost)
  reconcileMaxIntervalMs: 240_000, // ms between scans once nothing changes: the gap quadruples up to this
  uploadConcurrency: 8, // files uploaded at once (small files are latency-bound)
  fileStateFlushMs: 500, // ms between writes of the outputs/ state file
  retryInitialMs: 200, // ms before the first retry
  retryMaxMs: 30_000, // ms, the longest wait between retries
  retryJitter: 0.5, // fraction of each wait that is random
  requestTimeoutMs: 120_000, // ms before one request is abandoned and retried
  finalSyncGraceMs: 30_000, // ms the end of a run waits for an unreachable service before leaving the rest to `outpost sync`
  uploadExisting: false, // upload files already in outputs/ when the run starts
  compressBatchesOverBytes: 256 * 1024, // gzip a metric batch above this size; 0 never compresses
  tfeventsFiles: '**/events.out.tfevents.*', // globs (comma-separated, relative to outputs/) of TensorBoard event files read as metrics; '' turns the source off
  csvFiles: '**/*.csv,**/training.log', // globs of CSV logs read as metrics (only those with an "epoch" or "step" column); '' turns the source off
  trainerStateFiles: '**/trainer_state.json', // globs of Hugging Face Trainer states whose log_history is read as metrics; '' turns the source off
  hparamsFiles: '**/hparams.yaml', // globs of YAML files read as the run's params (Lightning's hparams.yaml); '' turns the source off
  tfeventsMaxRecordBytes: 16 * 1024 * 1024, // 16 MiB: an event file record larger than this (a big graph) is skipped unread
  sourceMaxFileBytes: 64 * 1024 * 1024, // 64 MiB: a CSV log, trainer state or hparams file larger than this is not read (each is read whole when it changes)
  systemMetricsIntervalMs: 10_000, // ms between two samples of the machine's and the job's load (system/...); 0 turns sampling off (as does --no-system-metrics)
  uploadChunkBytes: 8 * 1024 * 1024, // 8 MiB: files bigger than this go as a resumable upload in chunks of this size (the service may round it); 0: always one request
});
