/** The end of a run, shared by `run`, `agent` and `sync`: final sync, final status, a line for people. */
import path from 'path';
import { EXIT_FILE, FINAL_FILE, RunStatus } from '../protocol';
import type { Agent, AgentProgress } from './agent';
import { readJsonFile, writeFileAtomic } from './atomic-file';
import type { RunFolder } from './run-folder';

export interface RunEnd {
  status: RunStatus;
  exitCode: number | null;
  endTime: string;
}

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

/** Written before the final sync, so `outpost sync` knows how the run ended if the sync cannot finish. */
export async function writeExitRecord(runDir: string, end: RunEnd): Promise<void> {
  await writeFileAtomic(path.join(runDir, EXIT_FILE), JSON.stringify(end));
}

export async function readExitRecord(runDir: string): Promise<RunEnd | null> {
  return readJsonFile<RunEnd>(path.join(runDir, EXIT_FILE));
}

export async function isFinal(runDir: string): Promise<boolean> {
  return (await readJsonFile(path.join(runDir, FINAL_FILE))) !== null;
}

/** Ships what is left, marks the run; true when everything reached the service. `laterHint`: what ships the rest. */
export async function finishRun(agent: Agent, folder: RunFolder, end: RunEnd, started?: Date, graceMs?: number, laterHint = '`outpost sync` ships them later'): Promise<boolean> {
  const result = await agent.finish(graceMs);
  const marked = result.synced && (await agent.markRun(end, graceMs));
  const p = agent.progress;
  const took = started ? ` in ${((Date.parse(end.endTime) - started.getTime()) / 1000).toFixed(1)} s` : '';
  if (marked) {
    await writeFileAtomic(path.join(folder.runDir, FINAL_FILE), JSON.stringify({ ...end, syncedTime: new Date().toISOString() }));
    process.stderr.write(`outpost: run ${folder.id} ${end.status}${took}; ${shipped(p)}\n`);
    return true;
  }
  process.stderr.write(
    `outpost: run ${folder.id} ${end.status}${took}, but the service could not be reached: ${plural(result.pendingLines, 'metric line')} and ${plural(result.pendingFiles, 'file')} are kept on disk; ${laterHint}\n`,
  );
  return false;
}
