/** The history service: a fastify app over a Store, its API under /api/v1 and the page at /. */
import Fastify, { FastifyInstance } from 'fastify';
import { settings } from '../../config';
import secureJson from 'secure-json-parse';
import { API_PREFIX, OutpostError } from '../protocol';
import type { Logger } from '../log/logger';
import type { Store } from '../store/store';
import { artifactRoutes } from './routes-artifacts';
import { assetRoutes } from './routes-assets';
import { installAuth } from './auth';
import { installErrorHandler } from './error-handler';
import { metricRoutes } from './routes-metrics';
import { runRoutes } from './routes-runs';
import { webRoutes } from './routes-web';

export interface AppOptions {
  store: Store;
  log: Logger;
  token?: string;
}

export async function buildApp({ store, log, token }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: settings.limits.maxRequestBodyBytes,
    // Keep-alive sockets of idle agents must not hold a SIGTERM'd server open.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  });
  app.addHook('onResponse', async (request, reply) => {
    log.debug(`${request.method} ${request.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms`);
  });
  // Replies finished after close() began end their connection: an idle keep-alive socket
  // would otherwise hold a SIGTERM'd server open until the client lets go.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  installErrorHandler(app, log);
  // fastify's own JSON parser answers every bad body with "Body is not valid JSON", even valid
  // JSON it refuses for a "__proto__" key: this one says what was wrong, and where.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(new OutpostError('OUTPOST_ERR_BAD_REQUEST', 'the JSON body is empty', 'body'), undefined);
    try {
      done(null, secureJson.parse(body as string, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      const message = (err as Error).message;
      done(
        new OutpostError(
          'OUTPOST_ERR_BAD_REQUEST',
          /forbidden prototype/.test(message)
            ? 'the JSON body has a "__proto__" (or "constructor.prototype") key, refused in JSON bodies; metric lines sent as NDJSON may use such names'
            : `the body is not valid JSON: ${message}`,
          'body',
        ),
        undefined,
      );
    }
  });
  app.get(`${API_PREFIX}/health`, async () => ({ ok: true }));
  await app.register(
    async (api) => {
      installAuth(api, token);
      runRoutes(api, store);
      metricRoutes(api, store);
      artifactRoutes(api, store);
      assetRoutes(api, store);
    },
    { prefix: API_PREFIX },
  );
  await webRoutes(app);
  return app;
}
