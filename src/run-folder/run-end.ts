/** exit.json (how a run's command ended, written before its final sync) and final.json (the service knows it). */
import fs from 'fs';
import path from 'path';
import type { RunStatus } from '../protocol';
import { readJsonFile, writeFileAtomic } from './atomic-file';
import { EXIT_FILE, FINAL_FILE } from './layout';

export interface RunEnd {
  status: RunStatus;
  exitCode: number | null;
  endTime: string;
}

/** Written before the final sync, so `outpost sync` knows how the run ended if the sync cannot finish. */
export async function writeExitRecord(runDir: string, end: RunEnd): Promise<void> {
  await writeFileAtomic(path.join(runDir, EXIT_FILE), JSON.stringify(end));
}

/**
 * The same, from a process's 'exit' handler, where nothing asynchronous runs. Not atomic: a
 * reader may find it missing or half-written after a crash right then, and takes the run as killed.
 */
export function writeExitRecordNow(runDir: string, end: RunEnd): void {
  fs.writeFileSync(path.join(runDir, EXIT_FILE), JSON.stringify(end));
}

export async function readExitRecord(runDir: string): Promise<RunEnd | null> {
  return readJsonFile<RunEnd>(path.join(runDir, EXIT_FILE));
}

/** The run's final status reached the service: nothing is left to mark. */
export async function writeFinalRecord(runDir: string, end: RunEnd): Promise<void> {
  await writeFileAtomic(path.join(runDir, FINAL_FILE), JSON.stringify({ ...end, syncedTime: new Date().toISOString() }));
}

export async function isFinal(runDir: string): Promise<boolean> {
  return (await readJsonFile(path.join(runDir, FINAL_FILE))) !== null;
}
