/** Limits shared by the agent, the service and the clients. One named setting each. */
export interface Limits {
  maxFileBytes: number;
  maxLineBytes: number;
  maxBatchBodyBytes: number;
  maxBatchLines: number;
  maxNameChars: number;
  maxIdChars: number;
  maxMetricsPerLine: number;
  maxBatchCells: number;
  maxArtifactPathChars: number;
  maxHistoryPageSize: number;
  maxHistoryPoints: number;
  maxRequestBodyBytes: number;
  maxFilterChars: number;
  maxFilterDepth: number;
  maxNoteChars: number;
}

export const limitDefaults: Readonly<Limits> = Object.freeze({
  maxFileBytes: 512 * 1024 * 1024, // 512 MiB: one artifact file (the Workbench cap); larger is refused
  maxLineBytes: 64 * 1024, // 64 KiB: one metric line in the spool, newline excluded
  maxBatchBodyBytes: 32 * 1024 * 1024, // 32 MiB: one metric batch request body, after decompression
  maxBatchLines: 50_000, // lines in one metric batch request
  maxNameChars: 256, // characters in a metric or experiment name, or a run's display name
  maxIdChars: 128, // characters in a run id or an asset name (they appear in URLs and folder names)
  maxMetricsPerLine: 1_000, // metrics in one metric line (MLflow's log_batch takes 1,000); more is a rejected line
  maxBatchCells: 100_000, // metric values in one batch request; more is a 413 (the agent halves the batch)
  maxArtifactPathChars: 1024, // characters in an artifact path
  maxHistoryPageSize: 100_000, // points in one page of a metric's raw history
  maxHistoryPoints: 10_000, // points a downsampled history may ask for
  maxRequestBodyBytes: 1024 * 1024, // 1 MiB: any other JSON request body
  maxFilterChars: 4096, // characters in a run filter (history list --filter, GET /runs?filter=)
  maxFilterDepth: 32, // parentheses and nots nested in a run filter (the parser recurses on them)
  maxNoteChars: 64 * 1024, // characters in a run's note
});
