/** wait() ran out of time: says whether an agent is running at all, since that decides what to do next. */
import { AckWatermark, OutpostError } from '../protocol';
import type { AgentStatus } from './agent-status';

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

function describe(d: AckTimeoutDetails): string {
  const w = d.watermark;
  const progress = !w
    ? 'nothing acknowledged yet'
    : w.ino !== d.ino
      ? 'the acknowledgements are for an older spool file'
      : `acknowledged up to byte ${w.offset}, the line ends by byte ${d.end}`;
  const head = `timed out after ${d.timeoutMs} ms waiting for the service to acknowledge ${d.what} (${d.spoolFile}: ${progress})`;
  if (d.agent.running) {
    return `${head}: an agent is running (pid ${d.agent.pid}, server ${d.agent.server}) but has not had it acknowledged; the service may be down or slow, the line is safe in the spool`;
  }
  return `${head}: no agent is running for run ${d.runId} (${d.agent.why}); start the program with "outpost run", or run "outpost agent --run ${d.runId}" beside it, or "outpost sync" afterwards`;
}
