/** `outpost server` (the history service and page) and `outpost ui` (the page over the local store). */
import path from 'path';
import type { Command } from 'commander';
import { settings } from '../../config';
import { createLogger } from '../log/logger';
import { OutpostError } from '../protocol';
import { RunningService, resolveToken, ServiceOptions, startService } from '../service/server';
import { CliError, EXIT_USAGE } from './exit-codes';
import { parsePort } from './parse';
import { existingLocalStore } from './with-connection';
import { redact } from '../store/open-store';
import { ENV } from '../run-folder';

export function registerServerCommands(program: Command): void {
  program
    .command('server')
    .description('run the history service and the web page')
    .option('--host <host>', 'address to listen on (beyond loopback a token is required)', settings.service.host)
    .option('--port <port>', 'port to listen on', parsePort, settings.service.port)
    .option('--data <dir>', 'data folder (the default SQLite store and blob folder)', '.outpost')
    .option('--db <url>', `the database: sqlite:PATH or postgresql://user:password@host:port/dbname (else $${ENV.db}, service.db, sqlite:<data>/outpost.db)`)
    .option('--blobs <url>', `where artifact bytes go: a folder (replicas may share one) or s3://bucket/prefix (else $${ENV.blobs}, service.blobs, <data>/blobs)`)
    .option('--token-file <file>', `file holding the bearer token (else $${ENV.token})`)
    .action(async (opts: { host: string; port: number; data: string; db?: string; blobs?: string; tokenFile?: string }) => {
      const log = createLogger('service');
      const dataDir = path.resolve(opts.data);
      const db = opts.db ?? (process.env[ENV.db] || settings.service.db || undefined);
      const blobs = opts.blobs ?? (process.env[ENV.blobs] || settings.service.blobs || undefined);
      const service = await listen({ host: opts.host, port: opts.port, dataDir, db, blobs, token: tokenFrom(opts.tokenFile), log });
      log.info(`outpost service listening on ${service.url} (db: ${redact(db ?? `sqlite:${path.join(dataDir, 'outpost.db')}`)}, blobs: ${blobs ?? path.join(dataDir, 'blobs')})`);
      closeOnSignals(service, log);
    });

  program
    .command('ui')
    .description('serve the web page over the local store (.outpost/)')
    .option('--port <port>', 'port to listen on', parsePort, settings.service.port)
    .option('--dir <dir>', 'project folder', '.')
    .action(async (opts: { port: number; dir: string }) => {
      const log = createLogger('service');
      const dataDir = existingLocalStore(opts.dir);
      const service = await listen({ host: '127.0.0.1', port: opts.port, dataDir, log });
      log.info(`outpost ui on ${service.url}/ (data: ${dataDir})`);
      process.stdout.write(`${service.url}/\n`);
      closeOnSignals(service, log);
    });
}

const isStartupError = (err: unknown): err is OutpostError => err instanceof OutpostError && err.code === 'OUTPOST_ERR_STARTUP';

function tokenFrom(tokenFile: string | undefined): string | undefined {
  try {
    return resolveToken(tokenFile);
  } catch (err) {
    if (isStartupError(err)) throw new CliError(err.message, EXIT_USAGE);
    const e = err as NodeJS.ErrnoException;
    throw new CliError(e.code === 'ENOENT' ? `--token-file ${tokenFile}: no such file` : `--token-file ${tokenFile}: ${e.message}`, EXIT_USAGE);
  }
}

/** startService, its failures said in one line (a port in use, a missing token), not as a stack. */
async function listen(opts: ServiceOptions): Promise<RunningService> {
  try {
    return await startService(opts);
  } catch (err) {
    // The settings themselves (a token missing or too short): the message says which.
    if (isStartupError(err)) throw new CliError(err.message, EXIT_USAGE);
    const where = `${opts.host}:${opts.port}`;
    switch ((err as NodeJS.ErrnoException).code) {
      case 'EADDRINUSE':
        throw new CliError(`cannot listen on ${where}: the port is in use (--port); choose another, or stop what listens there`);
      case 'EADDRNOTAVAIL':
        throw new CliError(`cannot listen on ${where}: --host ${opts.host} is not an address of this machine`, EXIT_USAGE);
      case 'EACCES':
        throw new CliError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`);
      default:
        throw new CliError(`cannot start the service (${(err as Error).message})`);
    }
  }
}

/** SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the store, exit 0. */
function closeOnSignals(service: RunningService, log: ReturnType<typeof createLogger>): void {
  const stop = (signal: string) => {
    log.info(`${signal}: finishing in-flight requests`);
    const force = setTimeout(() => {
      log.warn('requests still running after the grace period; exiting');
      process.exit(1);
    }, settings.service.closeGraceMs);
    force.unref();
    service.close().then(
      () => process.exit(0),
      (err) => {
        log.error(`close failed: ${err}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
