/** Where the CLI's data lives: a service named by --server / OUTPOST_SERVER, or the local store served in-process. */
import type { AxiosInstance } from 'axios';
import { createApiClient } from '../http/api-client';
import { createLogger } from '../log/logger';
import { CliError, EXIT_USAGE } from './exit-codes';
import { startLocalService } from '../service/local-service';
import type { RunningService } from '../service/server';
import { ENV, findProjectDir } from '../run-folder';

export interface Connection {
  api: AxiosInstance;
  url: string;
  token?: string;
  /** Set in local mode: the in-process service over <project>/.outpost. */
  local?: RunningService;
  projectDir: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  server?: string;
  dir?: string;
}

/** --server, else OUTPOST_SERVER; a value that is not an http(s) URL is refused, naming where it came from. */
export function serverUrlFrom(opts: ConnectOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = opts.server ?? (env[ENV.server] || undefined);
  if (url === undefined) return undefined;
  const source = opts.server !== undefined ? `--server ${url}` : `${ENV.server}=${url}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`${source}: not a URL; expected http://HOST:PORT (or https://...), e.g. http://${url.replace(/^\/+/, '')}`, EXIT_USAGE);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(`${source}: expected an http:// or https:// URL, e.g. http://HOST:PORT`, EXIT_USAGE);
  }
  return url;
}

export async function connect(opts: ConnectOptions = {}): Promise<Connection> {
  const projectDir = findProjectDir(opts.dir ?? process.cwd());
  const token = process.env[ENV.token]?.trim() || undefined;
  const remote = serverUrlFrom(opts);
  if (remote) {
    const api = createApiClient({ baseUrl: remote, token });
    return { api, url: remote, token, projectDir, close: async () => destroyAgents(api) };
  }
  const local = await startLocalService(projectDir, createLogger('service', process.env.OUTPOST_LOG_LEVEL ?? 'warn'));
  const api = createApiClient({ baseUrl: local.url, token: local.token });
  return {
    api,
    url: local.url,
    token: local.token,
    local,
    projectDir,
    close: async () => {
      destroyAgents(api);
      await local.close();
    },
  };
}

function destroyAgents(api: AxiosInstance): void {
  (api.defaults.httpAgent as { destroy?: () => void } | undefined)?.destroy?.();
  (api.defaults.httpsAgent as { destroy?: () => void } | undefined)?.destroy?.();
}
