/**
 * Errors fastify and Node's HTTP parser answer before any route runs (a URL that does not decode,
 * a param over the router's length, headers too large, a malformed request), in the service's
 * one shape: {"error": {"code", "message"}}.
 */
import http from 'http';
import type { Socket } from 'net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, ErrorCode, quote } from '../protocol';
import { errorBody } from './error-handler';

/** fastify's `frameworkErrors`: the router's refusals. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const url = quote(request.raw.url ?? '');
  if (err.code === 'FST_ERR_BAD_URL') {
    reply.status(400).send(errorBody('OUTPOST_ERR_BAD_REQUEST', `the URL ${url} does not decode: a "%" is not followed by two hex digits, or the bytes are not UTF-8`, 'url'));
    return;
  }
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply.status(414).send(errorBody('OUTPOST_ERR_URI_TOO_LONG', `a part of the URL ${url} is longer than the service takes`, 'url'));
    return;
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  reply.status(status).send(errorBody(status === 500 ? 'OUTPOST_ERR_INTERNAL' : 'OUTPOST_ERR_BAD_REQUEST', status === 500 ? 'internal error' : err.message));
}

const CLIENT_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: { code: 'OUTPOST_ERR_HEADERS_TOO_LARGE', message: `the request's headers are over the size this service takes (${http.maxHeaderSize} bytes)` },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'OUTPOST_ERR_TIMEOUT', message: 'the request did not arrive in time' },
};

/** fastify's `clientErrorHandler`: Node could not parse the request, so the answer is written on the socket. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[err.code ?? ''] ?? { code: 'OUTPOST_ERR_BAD_REQUEST' as const, message: `malformed HTTP request (${err.code ?? err.message})` };
  const status = ERRORS[known.code].status;
  const body = JSON.stringify(errorBody(known.code, known.message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
