/** The end of a run, shared by `run`, `agent` and `sync`: final sync, final status, a line for people. */
import { type RunEnd, type RunFolder, writeFinalRecord } from '../run-folder';
import type { Agent, AgentProgress } from './agent';

/**
 * "35 metric lines and 1 file shipped", "35 metric lines (2 rejected) and 1 file shipped", or
 * "35 metric lines (1 rejected: the last had no newline) and 1 file shipped".
 */
export function shipped(p: Pick<AgentProgress, 'linesAcked' | 'linesRejected' | 'linesUnterminated' | 'uploads'>): string {
  const { linesAcked: lines, linesRejected: rejected, uploads: files } = p;
  const unterminated = p.linesUnterminated > 0 ? `${rejected === 1 ? ':' : ';'} the last had no newline` : '';
  const bad = rejected > 0 ? ` (${rejected} rejected${unterminated})` : '';
  return `${lines} metric line${lines === 1 ? '' : 's'}${bad} and ${plural(files, 'file')} shipped`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Ships what is left, marks the run; true when everything reached the service. `laterHint`: what ships the rest. */
export async function finishRun(agent: Agent, folder: RunFolder, end: RunEnd, started?: Date, graceMs?: number, laterHint = '`outpost sync` ships them later'): Promise<boolean> {
  const result = await agent.finish(graceMs);
  const marked = result.synced && (await agent.markRun(end, graceMs));
  const p = agent.progress;
  const took = started ? ` in ${((Date.parse(end.endTime) - started.getTime()) / 1000).toFixed(1)} s` : '';
  if (marked) {
    await writeFinalRecord(folder.runDir, end);
    process.stderr.write(`outpost: run ${folder.id} ${end.status}${took}; ${shipped(p)}\n`);
    return true;
  }
  const why = result.refused ? `the service refused the run (${result.refused})` : 'the service could not be reached';
  process.stderr.write(
    `outpost: run ${folder.id} ${end.status}${took}, but ${why}: ${plural(result.pendingLines, 'metric line')} and ${plural(result.pendingFiles, 'file')} are kept on disk; ${laterHint}\n`,
  );
  return false;
}
