/** Bearer-token check. Required whenever a token is configured; the server refuses to listen beyond loopback without one. */
import { createHash, timingSafeEqual } from 'crypto';
import type { FastifyInstance } from 'fastify';
import { E } from '../protocol';
import { errorBody } from './error-handler';

/** "Bearer <token>", the scheme in any case (RFC 7235: schemes are case-insensitive). */
const BEARER = /^bearer +(.*)$/is;

const digest = (s: string) => createHash('sha256').update(s).digest();

export function installAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  // Digests are compared, not the tokens: both are 32 bytes whatever was sent, so neither the
  // comparison nor a length check before it tells anything about the token's length.
  const expected = digest(token);
  // Installed on the API's own plugin scope, so it guards every request routed there however its
  // URL is spelled (%61pi, absolute forms); the page's files outside carry no data.
  app.addHook('onRequest', async (request, reply) => {
    const presented = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      reply.status(401).header('www-authenticate', 'Bearer').send(errorBody(E.unauthorized()));
      return reply;
    }
  });
}
