/** The history service's defaults. */
export interface ServiceSettings {
  host: string;
  port: number;
  tokenEnv: string;
  defaultHistoryPoints: number;
  closeGraceMs: number;
  sqliteBusyTimeoutMs: number;
  inlineBlobBytes: number;
}

export const serviceDefaults: Readonly<ServiceSettings> = Object.freeze({
  host: '127.0.0.1', // loopback: no token needed
  port: 8787, // `outpost server` and `outpost ui`
  tokenEnv: 'OUTPOST_TOKEN', // environment variable holding the bearer token
  defaultHistoryPoints: 2_000, // points the web page asks for when it charts a metric
  closeGraceMs: 10_000, // ms in-flight requests get after SIGTERM before the process exits anyway
  sqliteBusyTimeoutMs: 10_000, // ms a writer waits for another process's lock
  inlineBlobBytes: 64 * 1024, // 64 KiB: artifacts up to this size are kept in the database, not as files in blobs/
});

/** Upper bounds, where a bigger value would be a mistake. */
export const serviceMaxima: Readonly<Partial<Record<keyof ServiceSettings, number>>> = Object.freeze({
  inlineBlobBytes: 1024 * 1024, // such a body is held in memory while it arrives
});
