/** Assets: a prefix of a run's artifacts promoted to a named, versioned asset. */
import type { FastifyInstance } from 'fastify';
import { settings } from '../../config';
import { E, PromoteRequest, artifactPrefixProblem } from '../protocol';
import type { Store } from '../store/store';
import { assetNameParam, promoteBody } from './schemas';

export function assetRoutes(app: FastifyInstance, store: Store): void {
  app.post<{ Body: PromoteRequest }>('/assets', { schema: { body: promoteBody } }, async (request, reply) => {
    const problem = artifactPrefixProblem(request.body.prefix, settings.limits.maxArtifactPathChars);
    if (problem) throw E.badPrefix(request.body.prefix, problem);
    const asset = await store.promote(request.body);
    reply.status(201);
    return asset;
  });

  app.get('/assets', async () => store.listAssets());

  app.get<{ Params: { name: string } }>('/assets/:name', { schema: { params: assetNameParam } }, async (request) => {
    const versions = await store.getAsset(request.params.name);
    if (!versions) throw E.assetNotFound(request.params.name);
    return { name: request.params.name, versions };
  });
}
