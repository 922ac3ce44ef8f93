/** Bearer-token check. Required whenever a token is configured; the server refuses to listen beyond loopback without one. */
import { timingSafeEqual } from 'crypto';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-handler';

export function installAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  const expected = Buffer.from(`Bearer ${token}`);
  // Installed on the API's own plugin scope, so it guards every request routed there however its
  // URL is spelled (%61pi, absolute forms); the page's files outside carry no data.
  app.addHook('onRequest', async (request, reply) => {
    const got = Buffer.from(request.headers.authorization ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      reply.status(401).header('www-authenticate', 'Bearer').send(errorBody('OUTPOST_ERR_UNAUTHORIZED', 'a valid bearer token is required (Authorization: Bearer <token>)'));
      return reply;
    }
  });
}
