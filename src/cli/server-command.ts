/** `outpost server` (the history service and page) and `outpost ui` (the page over the local store). */
import path from 'path';
import type { Command } from 'commander';
import { settings } from '../../config';
import { createLogger } from '../log/logger';
import { findProjectDir, localDataDir } from '../service/local-service';
import { RunningService, resolveToken, startService } from '../service/server';
import { parsePort } from './parse';

export function registerServerCommands(program: Command): void {
  program
    .command('server')
    .description('run the history service and the web page')
    .option('--host <host>', 'address to listen on (beyond loopback a token is required)', settings.service.host)
    .option('--port <port>', 'port to listen on', parsePort, settings.service.port)
    .option('--data <dir>', 'data folder (SQLite store and blobs)', '.outpost')
    .option('--token-file <file>', `file holding the bearer token (else $${settings.service.tokenEnv})`)
    .action(async (opts: { host: string; port: number; data: string; tokenFile?: string }) => {
      const log = createLogger('service');
      const service = await startService({ host: opts.host, port: opts.port, dataDir: path.resolve(opts.data), token: resolveToken(opts.tokenFile), log });
      log.info(`outpost service listening on ${service.url} (data: ${path.resolve(opts.data)})`);
      closeOnSignals(service, log);
    });

  program
    .command('ui')
    .description('serve the web page over the local store (.outpost/)')
    .option('--port <port>', 'port to listen on', parsePort, settings.service.port)
    .option('--dir <dir>', 'project folder', '.')
    .action(async (opts: { port: number; dir: string }) => {
      const log = createLogger('service');
      const dataDir = localDataDir(findProjectDir(opts.dir));
      const service = await startService({ host: '127.0.0.1', port: opts.port, dataDir, log });
      log.info(`outpost ui on ${service.url}/ (data: ${dataDir})`);
      process.stdout.write(`${service.url}/\n`);
      closeOnSignals(service, log);
    });
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
