/** The options every history/assets command shares, and a connection that is always closed. */
import fs from 'fs';
import path from 'path';
import type { Command } from 'commander';
import { localDataDir } from '../service/local-service';
import { Connection, connect, serverUrlFrom } from './connect';
import { CliError, EXIT_REFUSED } from './exit-codes';
import { findProjectDir } from '../run-folder';

export interface ConnectionFlags {
  server?: string;
  dir?: string;
  json?: boolean;
}

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print JSON for scripts (stable shapes, see the README)')
    .option('--server <url>', 'history service URL (else $OUTPOST_SERVER, else the local store)')
    .option('--dir <dir>', 'project folder holding .outpost/ (local mode; default: the current folder or the nearest one above)');
}

/**
 * Runs `fn` over a connection and closes it however `fn` ends, so the process exits promptly.
 * Local mode reads an existing store only: a read must not leave a new .outpost/ behind.
 */
export async function withConnection<T>(flags: ConnectionFlags, fn: (conn: Connection) => Promise<T>): Promise<T> {
  if (!serverUrlFrom(flags)) existingLocalStore(flags.dir);
  const conn = await connect({ server: flags.server, dir: flags.dir });
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/**
 * The data folder of the local store that `dir` (default: the current folder) or a folder above it
 * holds. Whatever only reads (history, assets, ui) must not leave a new, empty store behind.
 */
export function existingLocalStore(dir: string | undefined): string {
  const from = path.resolve(dir ?? process.cwd());
  if (dir !== undefined && !fs.existsSync(from)) throw new CliError(`--dir ${dir}: no such folder`, EXIT_REFUSED);
  const dataDir = localDataDir(findProjectDir(from));
  if (!fs.existsSync(dataDir)) {
    throw new CliError(
      `no local store: there is no .outpost/ in ${from} or above; run from a project folder, pass --dir, or use --server URL (or OUTPOST_SERVER)`,
      EXIT_REFUSED,
    );
  }
  return dataDir;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
