/** Every failure leaves the service as {"error": {"code", "message", "field"}} with a 4xx or 5xx status. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiErrorBody, ERRORS, ErrorCode, OutpostError } from '../protocol';
import type { Logger } from '../log/logger';

export function errorBody(code: ErrorCode, message: string, field?: string): ApiErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

// fastify's own errors, mapped onto ours so clients see one vocabulary.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'OUTPOST_ERR_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'OUTPOST_ERR_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'OUTPOST_ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'OUTPOST_ERR_LENGTH_MISMATCH',
};

export function installErrorHandler(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | OutpostError, request, reply) => {
    if (err instanceof OutpostError) {
      return reply.status(err.status).send(errorBody(err.code, err.message, err.field));
    }
    if ((err as FastifyError).validation) {
      const v = (err as FastifyError).validation![0];
      const field = `${(err as FastifyError).validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}`;
      const { missingProperty, additionalProperty } = v.params as { missingProperty?: string; additionalProperty?: string };
      const extra = missingProperty ?? additionalProperty;
      const name = extra ? `${field}.${extra}` : field;
      const message = additionalProperty ? 'is not a known field' : v.message;
      return reply.status(400).send(errorBody('OUTPOST_ERR_BAD_REQUEST', `${name}: ${message}`, name));
    }
    const mapped = FASTIFY_CODES[(err as FastifyError).code ?? ''];
    if (mapped) return reply.status(ERRORS[mapped].status).send(errorBody(mapped, err.message));
    if (err instanceof SyntaxError || (err as FastifyError).statusCode === 400) {
      return reply.status(400).send(errorBody('OUTPOST_ERR_BAD_REQUEST', `malformed body: ${err.message}`, 'body'));
    }
    // The client went away mid-body (the agent drops an upload whose file changed): nobody to answer.
    if (request.raw.destroyed && (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
      log.debug(`${request.method} ${request.url}: the client closed the connection (${err.message})`);
      return reply;
    }
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 500) log.error(`${request.method} ${request.url} failed: ${err.stack ?? err.message}`);
    const code: ErrorCode = status === 413 ? 'OUTPOST_ERR_TOO_LARGE' : status >= 500 ? 'OUTPOST_ERR_INTERNAL' : 'OUTPOST_ERR_BAD_REQUEST';
    return reply.status(status).send(errorBody(code, status >= 500 ? 'internal error' : err.message));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody('OUTPOST_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
