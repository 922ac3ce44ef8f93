/** Starts the service on a host and port over a data folder; used by `outpost server`, `ui` and local mode. */
import fs from 'fs';
import type { FastifyInstance } from 'fastify';
import { settings } from '../../config';
import { E, isLoopback } from '../protocol';
import type { Logger } from '../log/logger';
import { openStore } from '../store/open-store';
import type { Store } from '../store/store';
import { buildApp } from './app';
import { ENV } from '../run-folder';

export interface ServiceOptions {
  host?: string;
  port?: number;
  dataDir: string;
  /** The database and the blob store (see src/store/open-store.ts); defaults: in dataDir. */
  db?: string;
  blobs?: string;
  token?: string;
  log: Logger;
}

export interface RunningService {
  url: string;
  app: FastifyInstance;
  store: Store;
  close(): Promise<void>;
}

/** The token: OUTPOST_TOKEN, else the file named by --token-file; surrounding whitespace is not part of it. */
export function resolveToken(tokenFile?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (tokenFile) {
    const token = fs.readFileSync(tokenFile, 'utf8').trim();
    if (!token) throw E.startup(`token file ${tokenFile} is empty`);
    return token;
  }
  const token = env[ENV.token];
  // Set but blank is a mistake to report, not "no token".
  return token === undefined || token === '' ? undefined : token.trim();
}

/** A configured token must be long enough to guess at no better than by chance. */
export function tokenProblem(token: string, minChars = settings.service.minTokenChars): string | undefined {
  const length = token.trim().length;
  if (length >= minChars) return undefined;
  return `the token has ${length} character${length === 1 ? '' : 's'} (surrounding whitespace not counted); a token needs at least ${minChars} (service.minTokenChars)`;
}

export async function startService(opts: ServiceOptions): Promise<RunningService> {
  const host = opts.host ?? settings.service.host;
  if (opts.token !== undefined) {
    const problem = tokenProblem(opts.token);
    if (problem) throw E.startup(`${problem}: set ${ENV.token} (or --token-file) to a longer one, such as the output of \`openssl rand -hex 32\``);
  }
  if (!isLoopback(host) && !opts.token) {
    throw E.startup(`listening on ${host} (beyond loopback) needs a token: set ${ENV.token} or pass --token-file`);
  }
  const store = await openStore({ dataDir: opts.dataDir, db: opts.db, blobs: opts.blobs });
  let app: FastifyInstance;
  try {
    app = await buildApp({ store, log: opts.log, token: opts.token?.trim() });
    await app.listen({ host, port: opts.port ?? settings.service.port });
  } catch (err) {
    await store.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    app,
    store,
    close() {
      // In-flight requests finish (fastify waits for them), then the store closes.
      closing ??= app.close().then(() => store.close());
      return closing;
    },
  };
}
