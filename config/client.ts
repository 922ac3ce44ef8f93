/** The TypeScript logger's defaults (the Python helper's are generated from them: _contract.py). */
export interface ClientSettings {
  flushIntervalMs: number;
  flushMaxBytes: number;
  spoolCheckMs: number;
  maxHeldBytes: number;
  waitTimeoutMs: number;
  ackPollMs: number;
  strictWait: boolean;
}

export const clientDefaults: Readonly<ClientSettings> = Object.freeze({
  flushIntervalMs: 50, // ms between retries of the lines held while the spool cannot be written (each log() otherwise appends its line at once)
  flushMaxBytes: 1024 * 1024, // 1 MiB: the most bytes of held lines appended in one write once the spool can be written again
  spoolCheckMs: 50, // ms between checks that the spool's path still names the file appended to (a spool moved away or removed is followed)
  maxHeldBytes: 64 * 1024 * 1024, // 64 MiB: lines held while the spool cannot be written (disk full, say); past it log() throws
  waitTimeoutMs: 60_000, // ms wait() waits for the acknowledgement before giving up (see strictWait)
  ackPollMs: 100, // ms between reads of the ack watermark while a wait() is pending (fs.watch usually wakes us sooner)
  strictWait: false, // true: on timeout wait() rejects even while a live agent owns the run (false: it returns, warning once); OUTPOST_STRICT_WAIT=1 sets it
});
