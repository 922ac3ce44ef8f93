/** The run-history page: assets built by `npm run build` into dist/web, served as files (no build at run time). */
import fs from 'fs';
import path from 'path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const WEB_DIR = path.join(__dirname, '..', '..', 'web');

export async function webRoutes(app: FastifyInstance): Promise<void> {
  if (!fs.existsSync(path.join(WEB_DIR, 'index.html'))) {
    app.get('/', async (_request, reply) => reply.status(404).type('text/plain').send('The web page is not built: run `npm run build`.\n'));
    return;
  }
  await app.register(fastifyStatic, { root: WEB_DIR, prefix: '/', index: ['index.html'], cacheControl: false });
}
