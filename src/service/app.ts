/** The history service: a fastify app over a Store, its API under /api/v1 and the page at /. */
import Fastify, { FastifyInstance } from 'fastify';
import { settings } from '../../config';
import secureJson from 'secure-json-parse';
import { API_PREFIX, E } from '../protocol';
import type { Logger } from '../log/logger';
import type { Store } from '../store/store';
import { artifactRoutes } from './routes-artifacts';
import { assetRoutes } from './routes-assets';
import { installAuth } from './auth';
import { installBodyIntake } from './body-intake';
import { errorBody, installErrorHandler } from './error-handler';
import { clientErrorHandler, frameworkErrors } from './framework-errors';
import { metricRoutes } from './routes-metrics';
import { JSON_TYPE } from './route-config';
import { runRoutes } from './routes-runs';
import { installUnicodeCheck } from './unicode-body';
import { uploadChunkRoute, uploadRoutes } from './routes-uploads';
import { webRoutes } from './routes-web';

export interface AppOptions {
  store: Store;
  log: Logger;
  token?: string;
}

// The router measures a param partly decoded (reserved characters stay percent-encoded): 12
// bytes per character bound every spelling of a metric name or run id of the longest length.
const MAX_PARAM_LENGTH = 12 * Math.max(settings.limits.maxNameChars, settings.limits.maxIdChars);

export async function buildApp({ store, log, token }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: settings.limits.maxRequestBodyBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Keep-alive sockets of idle agents must not hold a SIGTERM'd server open.
    forceCloseConnections: 'idle',
    // Answered below, in the service's shape and with Retry-After.
    return503OnClosing: false,
    frameworkErrors,
    clientErrorHandler,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false, allowUnionTypes: true } },
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
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply
      .status(503)
      .header('retry-after', String(settings.service.busyRetryAfterS))
      .header('connection', 'close')
      .send(errorBody(E.closing()));
    return reply;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  installErrorHandler(app, log);
  installBodyIntake(app, settings.service);
  installUnicodeCheck(app);
  // Bodies are JSON unless a route says otherwise (fastify would also take text/plain as a string).
  app.removeAllContentTypeParsers();
  // fastify's own JSON parser answers every bad body with "Body is not valid JSON", even valid
  // JSON it refuses for a "__proto__" key: this one says what was wrong, and where.
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(E.emptyJsonBody(), undefined);
    try {
      done(null, secureJson.parse(body as string, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      const message = (err as Error).message;
      done(/forbidden prototype/.test(message) ? E.prototypeKey() : E.notJson(message), undefined);
    }
  });
  app.get(`${API_PREFIX}/health`, async () => ({ ok: true }));
  await app.register(
    async (api) => {
      installAuth(api, token);
      runRoutes(api, store);
      assetRoutes(api, store);
      uploadRoutes(api, store);
      // Scopes of their own: their content-type parsers differ from the JSON of every other route.
      await api.register(async (scope) => metricRoutes(scope, store));
      await api.register(async (scope) => {
        await artifactRoutes(scope, store);
        uploadChunkRoute(scope, store, log);
      });
    },
    { prefix: API_PREFIX },
  );
  await webRoutes(app);
  return app;
}
