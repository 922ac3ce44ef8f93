/**
 * Local mode: without --server or OUTPOST_SERVER, the embedded store in the project's .outpost/
 * is served in-process on a loopback port, so every caller still speaks HTTP (one data path).
 */
import { randomBytes } from 'crypto';
import path from 'path';
import type { Logger } from '../log/logger';
import { RunningService, startService } from './server';
import { OUTPOST_DIR } from '../run-folder';

export function localDataDir(projectDir: string): string {
  return path.join(projectDir, OUTPOST_DIR);
}

/**
 * The local store on a loopback port, with a token of its own (random, per process): any process
 * of this machine can reach a loopback port, and only this process's callers may use this one.
 */
export async function startLocalService(projectDir: string, log: Logger): Promise<RunningService & { token: string }> {
  const token = randomBytes(24).toString('base64url');
  const service = await startService({ host: '127.0.0.1', port: 0, dataDir: localDataDir(projectDir), token, log });
  return { ...service, token };
}
