/**
 * Local mode: without --server or OUTPOST_SERVER, the embedded store in the project's .outpost/
 * is served in-process on a loopback port, so every caller still speaks HTTP (one data path).
 */
import fs from 'fs';
import path from 'path';
import { OUTPOST_DIR } from '../protocol';
import type { Logger } from '../log/logger';
import { RunningService, startService } from './server';

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

export function localDataDir(projectDir: string): string {
  return path.join(projectDir, OUTPOST_DIR);
}

export async function startLocalService(projectDir: string, log: Logger): Promise<RunningService> {
  return startService({ host: '127.0.0.1', port: 0, dataDir: localDataDir(projectDir), log });
}
