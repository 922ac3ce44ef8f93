/**
 * Resumable uploads (docs/http-api.md, "Resumable uploads"): POST /runs/:id/uploads opens one for
 * a path and size; PUT /runs/:id/uploads/:upload?offset=N stores a chunk, acknowledged once
 * durable; GET says how far it got; POST .../commit makes the version once the whole size and
 * sha256 match; DELETE abandons it.
 */
import { Readable } from 'stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { settings } from '../../config';
import { E, OutpostError, type UploadCommitRequest, type UploadOpenRequest } from '../protocol';
import type { Logger } from '../log/logger';
import type { Store } from '../store/store';
import { bytesArrived } from './body-intake';
import { checkedArtifactPath } from './routes-artifacts';
import { runIdParam, uploadChunkQuery, uploadCommitBody, uploadOpenBody, uploadParams } from './schemas';

type UploadRequest = FastifyRequest<{ Params: { id: string; upload: string } }>;

/** The JSON routes: open, state, commit, abandon. */
export function uploadRoutes(app: FastifyInstance, store: Store): void {
  app.post<{ Params: { id: string }; Body: UploadOpenRequest }>(
    '/runs/:id/uploads',
    { schema: { params: runIdParam, body: uploadOpenBody } },
    async (request, reply) => {
      const artifactPath = checkedArtifactPath(request.body.path);
      const max = settings.limits.maxFileBytes;
      if (request.body.size > max) throw E.artifactTooLarge(artifactPath, request.body.size, max, 'size');
      const state = await store.openUpload(request.params.id, { ...request.body, path: artifactPath });
      return reply.status(201).send(state);
    },
  );

  app.get('/runs/:id/uploads/:upload', { schema: { params: uploadParams } }, async (request: UploadRequest) =>
    store.uploadState(request.params.id, request.params.upload),
  );

  app.post<{ Params: { id: string; upload: string }; Body: UploadCommitRequest | undefined }>(
    '/runs/:id/uploads/:upload/commit',
    { schema: { params: uploadParams, body: uploadCommitBody } },
    async (request, reply) => {
      const result = await store.commitUpload(request.params.id, request.params.upload, request.body?.sha256);
      return reply.status(result.unchanged ? 200 : 201).send(result);
    },
  );

  app.delete('/runs/:id/uploads/:upload', { schema: { params: uploadParams } }, async (request: UploadRequest) => {
    await store.abortUpload(request.params.id, request.params.upload);
    return { uploadId: request.params.upload, deleted: true };
  });
}

/**
 * The chunk route, in the scope whose body is the raw stream (the artifacts' scope). Each chunk
 * request says at debug level how many of its bytes arrived, stored or not: the service's own
 * count of what senders sent.
 */
export function uploadChunkRoute(app: FastifyInstance, store: Store, log: Logger): void {
  app.put<{ Params: { id: string; upload: string }; Querystring: { offset: number } }>(
    '/runs/:id/uploads/:upload',
    { schema: { params: uploadParams, querystring: uploadChunkQuery }, config: { upload: true } },
    async (request, reply) => {
      const { id, upload } = request.params;
      const offset = request.query.offset;
      const raw = request.headers['content-length'];
      if (raw === undefined) throw E.lengthRequired('content-length');
      const length = Number(raw);
      if (!Number.isSafeInteger(length) || length < 0) throw E.lengthNotNumber('content-length', raw);
      const body = (request.body as Readable | undefined) ?? Readable.from([]);
      let outcome = 'stored';
      // Once the request is over, all its bytes that came are counted (a drained duplicate, a cut one).
      request.raw.once('close', () => log.debug(`upload ${upload} of run ${id}: chunk at ${offset}, ${bytesArrived(request.body)} bytes received, ${outcome}`));
      try {
        return await store.putUploadChunk(id, upload, offset, body, length);
      } catch (err) {
        // A refusal before the bytes were read: they are not wanted, and the socket is not reused.
        reply.header('connection', 'close');
        outcome = `not stored: ${err instanceof OutpostError ? err.code : (err as Error).message}`;
        throw err;
      }
    },
  );
}
