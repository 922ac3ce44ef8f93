/** The TypeScript logger's defaults (the Python helper's are generated from them: _contract.py). */
export interface ClientSettings {
  flushIntervalMs: number;
  flushMaxBytes: number;
  maxHeldBytes: number;
  waitTimeoutMs: number;
  ackPollMs: number;
  strictWait: boolean;
}

export const clientDefaults: Readonly<ClientSettings> = Object.freeze({
  flushIntervalMs: 50, // ms a logged line may wait in memory before it is appended to the spool
  flushMaxBytes: 1024 * 1024, // 1 MiB: buffered bytes that force an immediate flush (bounds memory in tight loops)
  maxHeldBytes: 64 * 1024 * 1024, // 64 MiB: lines held while the spool cannot be written (disk full, say); past it log() throws
  waitTimeoutMs: 60_000, // ms wait() waits for the acknowledgement before giving up (see strictWait)
  ackPollMs: 100, // ms between reads of the ack watermark while a wait() is pending (fs.watch usually wakes us sooner)
  strictWait: false, // true: on timeout wait() rejects even while a live agent owns the run (false: it returns, warning once); OUTPOST_STRICT_WAIT=1 sets it
});
