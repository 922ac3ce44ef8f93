/**
 * wait() ran out of time. With no live agent it rejects (AckTimeoutError, saying how to fix the
 * set-up); with one, by default, it returns and says so once per process (warnNotAcknowledged).
 */
import { OutpostError } from '../protocol';
import { AckWatermark } from '../run-folder';

import type { AgentStatus } from '../run-folder';

export interface AckTimeoutDetails {
  what: string;
  timeoutMs: number;
  runId: string;
  spoolFile: string;
  end: number;
  ino: number;
  watermark: AckWatermark | undefined;
  agent: AgentStatus;
}

export class AckTimeoutError extends OutpostError {
  readonly agentRunning: boolean;

  constructor(readonly details: AckTimeoutDetails) {
    super('OUTPOST_ERR_UNAVAILABLE', describe(details));
    this.name = 'AckTimeoutError';
    this.agentRunning = details.agent.running;
  }
}

function progressOf(d: AckTimeoutDetails): string {
  const w = d.watermark;
  if (!w) return 'nothing acknowledged yet';
  if (w.ino !== d.ino) return 'the acknowledgements are for an older spool file';
  return `acknowledged up to byte ${w.offset}, the line ends by byte ${d.end}`;
}

function describe(d: AckTimeoutDetails): string {
  const head = `timed out after ${d.timeoutMs} ms waiting for the service to acknowledge ${d.what} (${d.spoolFile}: ${progressOf(d)})`;
  if (d.agent.running) {
    return `${head}: an agent is running (pid ${d.agent.pid}, server ${d.agent.server}) but has not had it acknowledged; the service may be down or slow, the line is safe in the spool`;
  }
  return `${head}: no agent is running for run ${d.runId} (${d.agent.why}); start the program with "outpost run", or run "outpost agent --run ${d.runId}" beside it, or "outpost sync" afterwards`;
}

let warned = false;

/** The one warning of a process whose wait() returned unacknowledged (the line fsynced, a live agent owning it). */
export function warnNotAcknowledged(d: AckTimeoutDetails & { agent: { running: true } }): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    `outpost: the service has not acknowledged ${d.what} within ${d.timeoutMs} ms (${d.spoolFile}: ${progressOf(d)}); ` +
      `the line is safe in the spool (fsynced) and the agent (pid ${d.agent.pid}, server ${d.agent.server}) will ship it once the service answers. ` +
      `wait() returns without the acknowledgement until the service acknowledges again (said once per process); ` +
      `set OUTPOST_STRICT_WAIT=1 or call wait({ strict: true }) to have it reject instead`,
  );
}
