/** Artifacts: streamed uploads (hashed on the way to disk), listing, streamed downloads with Range. */
import path from 'path';
import send from '@fastify/send';
import { Readable } from 'stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { settings } from '../../config';
import { OutpostError, artifactPathProblem } from '../protocol';
import type { Store } from '../store/store';

// Decoded once by the router; anything still percent-encoded is a second layer of encoding.
const ENCODED_TRICK = /%(2e|2f|5c|00)/i;

export function checkedArtifactPath(raw: string | undefined): string {
  const p = raw ?? '';
  const problem = artifactPathProblem(p, settings.limits.maxArtifactPathChars) ?? (ENCODED_TRICK.test(p) ? 'path contains an encoded "." "/" "\\" or NUL' : undefined);
  if (problem) throw new OutpostError('OUTPOST_ERR_BAD_PATH', `artifact path ${JSON.stringify(p)}: ${problem}`, 'path');
  return p;
}

type ArtifactRequest = FastifyRequest<{ Params: { id: string; '*': string }; Querystring: { version?: string } }>;

export function artifactRoutes(app: FastifyInstance, store: Store): void {
  // Uploads reach the handler as the raw stream: nothing is buffered in memory.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.put('/runs/:id/artifacts/*', async (request: ArtifactRequest, reply) => {
    const { id } = request.params;
    const artifactPath = checkedArtifactPath(request.params['*']);
    const declared = request.headers['content-length'];
    if (declared === undefined) throw new OutpostError('OUTPOST_ERR_LENGTH_REQUIRED', 'Content-Length is required for uploads', 'content-length');
    const length = Number(declared);
    const max = settings.limits.maxFileBytes;
    if (length > max) {
      reply.header('connection', 'close');
      throw new OutpostError('OUTPOST_ERR_TOO_LARGE', `artifact "${artifactPath}" is ${length} bytes, over the ${max}-byte limit (limits.maxFileBytes)`, 'content-length');
    }
    if (!(await store.runExists(id))) {
      reply.header('connection', 'close');
      throw new OutpostError('OUTPOST_ERR_RUN_NOT_FOUND', `unknown run "${id}"`, 'run');
    }
    const expectedSha = request.headers['x-outpost-sha256'];
    const body = (request.body as Readable | undefined) ?? Readable.from([]);
    const tooLarge = () => new OutpostError('OUTPOST_ERR_LENGTH_MISMATCH', `artifact "${artifactPath}": body is longer than Content-Length ${length}`, 'body');
    const blob = await store.blobs.write(body, length, tooLarge, (b) => {
      if (b.size !== length) throw new OutpostError('OUTPOST_ERR_LENGTH_MISMATCH', `artifact "${artifactPath}": received ${b.size} bytes, Content-Length said ${length}`, 'body');
      if (typeof expectedSha === 'string' && expectedSha.toLowerCase() !== b.sha256) {
        throw new OutpostError('OUTPOST_ERR_HASH_MISMATCH', `artifact "${artifactPath}": sha256 is ${b.sha256}, the client declared ${expectedSha}`, 'x-outpost-sha256');
      }
    });
    const result = await store.putArtifact(id, artifactPath, blob);
    reply.status(result.unchanged ? 200 : 201);
    return result;
  });

  app.delete('/runs/:id/artifacts/*', async (request: ArtifactRequest) => {
    const artifactPath = checkedArtifactPath(request.params['*']);
    const deleted = await store.deleteArtifact(request.params.id, artifactPath);
    return { path: artifactPath, deleted };
  });

  app.get<{ Params: { id: string } }>('/runs/:id/artifacts', async (request) => store.listArtifacts(request.params.id));

  app.get('/runs/:id/artifacts/*', async (request: ArtifactRequest, reply) => downloadArtifact(store, request, reply));
}

async function downloadArtifact(store: Store, request: ArtifactRequest, reply: FastifyReply) {
  const { id } = request.params;
  const artifactPath = checkedArtifactPath(request.params['*']);
  const version = request.query.version === undefined ? undefined : Number(request.query.version);
  if (version !== undefined && (!Number.isInteger(version) || version < 1)) {
    throw new OutpostError('OUTPOST_ERR_BAD_REQUEST', 'version must be an integer >= 1', 'version');
  }
  const ref = await store.getArtifact(id, artifactPath, version);
  if (!ref) {
    if (!(await store.runExists(id))) throw new OutpostError('OUTPOST_ERR_RUN_NOT_FOUND', `unknown run "${id}"`, 'run');
    throw new OutpostError('OUTPOST_ERR_ARTIFACT_NOT_FOUND', `run "${id}" has no artifact "${artifactPath}"${version ? ` version ${version}` : ''}`, 'path');
  }
  const blobPath = store.blobs.pathOf(ref.sha256);
  // RFC 9110 14.1.2: a suffix range longer than the file selects all of it; @fastify/send answers
  // 416 instead, so such a range is rewritten to the whole file.
  const suffix = /^bytes=-(\d+)$/.exec(request.headers.range ?? '');
  if (suffix && Number(suffix[1]) >= ref.size && ref.size > 0) request.raw.headers.range = 'bytes=0-';
  const sent = await send(request.raw, `/${path.relative(store.blobs.blobDir, blobPath)}`, {
    root: store.blobs.blobDir,
    contentType: false,
    cacheControl: false,
    etag: true,
    lastModified: false,
  });
  if (sent.type === 'error') {
    const err = sent.metadata.error as Error & { status?: number };
    if (err.status === 416) throw new OutpostError('OUTPOST_ERR_RANGE', `range not satisfiable for "${artifactPath}" (${ref.size} bytes)`, 'range');
    throw err;
  }
  reply.status(sent.statusCode);
  reply.headers(sent.headers as Record<string, string>);
  reply.header('content-type', 'application/octet-stream');
  reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(path.posix.basename(artifactPath))}`);
  reply.header('x-outpost-sha256', ref.sha256);
  reply.header('x-outpost-version', String(ref.version));
  return reply.send(sent.stream);
}
