/**
 * Local mode: without --server or OUTPOST_SERVER, the embedded store in the project's .outpost/
 * is served in-process on a loopback port, so every caller still speaks HTTP (one data path).
 */
import path from 'path';
import type { Logger } from '../log/logger';
import { OUTPOST_DIR } from '../protocol';
import { RunningService, startService } from './server';

export { findProjectDir } from '../protocol';

export function localDataDir(projectDir: string): string {
  return path.join(projectDir, OUTPOST_DIR);
}

export async function startLocalService(projectDir: string, log: Logger): Promise<RunningService> {
  return startService({ host: '127.0.0.1', port: 0, dataDir: localDataDir(projectDir), log });
}
