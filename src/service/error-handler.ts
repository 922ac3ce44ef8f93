/** Every failure leaves the service as {"error": {"code", "message", "field"}} with a 4xx or 5xx status. */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { settings } from '../../config';
import { ApiErrorBody, E, ErrorCode, OutpostError, idPattern, idRule } from '../protocol';
import type { Logger } from '../log/logger';
import { storageFull } from '../store/storage-full';
import { JSON_TYPE } from './route-config';

export function errorBody({ code, message, field }: OutpostError): ApiErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

// Patterns said in words: "must match pattern ^[A-Za-z0-9]..." tells a person little.
const PATTERN_RULES = new Map([[idPattern(settings.limits.maxIdChars), idRule(settings.limits.maxIdChars)]]);

/** Headers an error answer carries besides its body. */
function errorHeaders(code: ErrorCode, request: FastifyRequest, reply: FastifyReply): void {
  if (code === 'OUTPOST_ERR_STORAGE_FULL') reply.header('retry-after', String(settings.service.storageFullRetryAfterS));
  if (code === 'OUTPOST_ERR_UNAVAILABLE') reply.header('retry-after', String(settings.service.busyRetryAfterS));
  // A body not read to its end would be taken for the next request on this connection.
  if (code === 'OUTPOST_ERR_TIMEOUT' || !request.raw.complete) reply.header('connection', 'close');
}

export function installErrorHandler(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | OutpostError, request, reply) => {
    const send = (e: OutpostError) => {
      if (e.code === 'OUTPOST_ERR_STORAGE_FULL') log.warn(`${request.method} ${request.url}: ${e.message}`);
      if (e.status === undefined) log.error(`${request.method} ${request.url} failed: ${e.message}`);
      errorHeaders(e.code, request, reply);
      return reply.status(e.status ?? 500).send(errorBody(e));
    };
    if (err instanceof OutpostError) return send(err);
    if ((err as FastifyError).validation) {
      const v = (err as FastifyError).validation![0];
      const field = `${(err as FastifyError).validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}`;
      const { missingProperty, additionalProperty, pattern } = v.params as { missingProperty?: string; additionalProperty?: string; pattern?: string };
      const extra = missingProperty ?? additionalProperty;
      const name = extra ? `${field}.${extra}` : field;
      const rule = pattern === undefined ? undefined : PATTERN_RULES.get(pattern);
      const message = additionalProperty ? 'is not a known field' : rule ? `must be ${rule}` : (v.message ?? 'is not valid');
      return send(E.invalidField(name, message));
    }
    // fastify's own errors, said in ours so clients see one vocabulary.
    switch ((err as FastifyError).code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(E.unsupportedMediaType(request.headers['content-type'], request.routeOptions.config?.accepts ?? [JSON_TYPE]));
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(
          E.bodyOverLimit(request.routeOptions.bodyLimit ?? settings.limits.maxRequestBodyBytes, request.routeOptions.config?.bodyLimitSetting ?? 'limits.maxRequestBodyBytes'),
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return send(E.emptyJsonBody());
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return send(E.contentLengthWrong(err.message));
    }
    if (err instanceof SyntaxError || (err as FastifyError).statusCode === 400) return send(E.malformedBody(err.message));
    // The client went away mid-body (the agent drops an upload whose file changed): nobody to answer.
    if (request.raw.destroyed && (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
      log.debug(`${request.method} ${request.url}: the client closed the connection (${err.message})`);
      return reply;
    }
    // A full disk met outside the store's own writes (it names the file it was writing itself).
    const full = storageFull(err, 'the data folder');
    if (full) return send(full);
    const status = (err as FastifyError).statusCode ?? 500;
    if (status === 413) return send(E.tooLarge(err.message));
    if (status < 500) return send(E.malformedBody(err.message));
    log.error(`${request.method} ${request.url} failed: ${err.stack ?? err.message}`);
    return reply.status(500).send(errorBody(E.internal()));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody(E.routeNotFound(request.method, request.url)));
  });
}
