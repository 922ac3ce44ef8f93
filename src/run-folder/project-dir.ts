/**
 * Where a project's .outpost/ is, and whether a process named in agent.json still lives: part of
 * the run-folder contract shared by the loggers, the agent, the store and the CLI. Node's own
 * modules only.
 */
import fs from 'fs';
import path from 'path';
import { OUTPOST_DIR } from './layout';

/** The nearest folder at or above `from` holding .outpost/, else `from` itself. */
export function findProjectDir(from: string = process.cwd()): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, OUTPOST_DIR))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(from);
    dir = parent;
  }
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
