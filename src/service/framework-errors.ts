/**
 * Errors fastify and Node's HTTP parser answer before any route runs (a URL that does not decode,
 * a param over the router's length, headers too large, a malformed request), in the service's
 * one shape: {"error": {"code", "message"}}.
 */
import http from 'http';
import type { Socket } from 'net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { E, OutpostError } from '../protocol';
import { errorBody } from './error-handler';

/** fastify's `frameworkErrors`: the router's refusals. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const url = request.raw.url ?? '';
  const known = err.code === 'FST_ERR_BAD_URL' ? E.badUrl(url) : err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? E.urlPartTooLong(url) : undefined;
  const e = known ?? (err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? E.malformedHttp(err.message) : E.internal());
  reply.status(e.status!).send(errorBody(e));
}

const CLIENT_ERRORS: Record<string, () => OutpostError> = {
  HPE_HEADER_OVERFLOW: () => E.headersTooLarge(http.maxHeaderSize),
  ERR_HTTP_REQUEST_TIMEOUT: () => E.requestTimeout(),
};

/** fastify's `clientErrorHandler`: Node could not parse the request, so the answer is written on the socket. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[err.code ?? '']?.() ?? E.malformedHttp(err.code ?? err.message);
  const status = known.status!;
  const body = JSON.stringify(errorBody(known));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
