/** Every failure leaves the service as {"error": {"code", "message", "field"}} with a 4xx or 5xx status. */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { settings } from '../../config';
import { ApiErrorBody, ERRORS, ErrorCode, OutpostError, idPattern, idRule, quote } from '../protocol';
import type { Logger } from '../log/logger';
import { storageFull } from '../store/storage-full';
import { JSON_TYPE } from './route-config';

export function errorBody(code: ErrorCode, message: string, field?: string): ApiErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

// fastify's own errors, mapped onto ours so clients see one vocabulary.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'OUTPOST_ERR_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'OUTPOST_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'OUTPOST_ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'OUTPOST_ERR_LENGTH_MISMATCH',
};

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
    const send = (status: number, code: ErrorCode, message: string, field?: string) => {
      if (code === 'OUTPOST_ERR_STORAGE_FULL') log.warn(`${request.method} ${request.url}: ${message}`);
      errorHeaders(code, request, reply);
      return reply.status(status).send(errorBody(code, message, field));
    };
    if (err instanceof OutpostError) return send(err.status, err.code, err.message, err.field);
    if ((err as FastifyError).validation) {
      const v = (err as FastifyError).validation![0];
      const field = `${(err as FastifyError).validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}`;
      const { missingProperty, additionalProperty, pattern } = v.params as { missingProperty?: string; additionalProperty?: string; pattern?: string };
      const extra = missingProperty ?? additionalProperty;
      const name = extra ? `${field}.${extra}` : field;
      const rule = pattern === undefined ? undefined : PATTERN_RULES.get(pattern);
      const message = additionalProperty ? 'is not a known field' : rule ? `must be ${rule}` : v.message;
      return send(400, 'OUTPOST_ERR_BAD_REQUEST', `${name}: ${message}`, name);
    }
    const fastifyCode = (err as FastifyError).code ?? '';
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const type = request.headers['content-type'];
      const accepts = request.routeOptions.config?.accepts ?? [JSON_TYPE];
      const got = type === undefined ? 'no Content-Type' : `Content-Type ${quote(type)}`;
      return send(415, 'OUTPOST_ERR_UNSUPPORTED_MEDIA_TYPE', `${got} is not accepted here: send ${accepts.join(' or ')}`, 'content-type');
    }
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = request.routeOptions.bodyLimit ?? settings.limits.maxRequestBodyBytes;
      const setting = request.routeOptions.config?.bodyLimitSetting ?? 'limits.maxRequestBodyBytes';
      return send(413, 'OUTPOST_ERR_TOO_LARGE', `the body is over the ${limit}-byte limit of this request (${setting})`, 'body');
    }
    const mapped = FASTIFY_CODES[fastifyCode];
    if (mapped) return send(ERRORS[mapped].status, mapped, err.message);
    if (err instanceof SyntaxError || (err as FastifyError).statusCode === 400) {
      return send(400, 'OUTPOST_ERR_BAD_REQUEST', `malformed body: ${err.message}`, 'body');
    }
    // The client went away mid-body (the agent drops an upload whose file changed): nobody to answer.
    if (request.raw.destroyed && (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
      log.debug(`${request.method} ${request.url}: the client closed the connection (${err.message})`);
      return reply;
    }
    // A full disk met outside the store's own writes (it names the file it was writing itself).
    const full = storageFull(err, 'the data folder');
    if (full) return send(full.status, full.code, full.message);
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 500) log.error(`${request.method} ${request.url} failed: ${err.stack ?? err.message}`);
    const code: ErrorCode = status === 413 ? 'OUTPOST_ERR_TOO_LARGE' : status >= 500 ? 'OUTPOST_ERR_INTERNAL' : 'OUTPOST_ERR_BAD_REQUEST';
    return send(status, code, status >= 500 ? 'internal error' : err.message);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody('OUTPOST_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
