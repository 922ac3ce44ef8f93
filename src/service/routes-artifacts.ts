/** Artifacts: streamed uploads (hashed on the way in), listing, streamed downloads with Range and ETag whatever the backend. */
import path from 'path';
import parseRange from 'range-parser';
import { Readable } from 'stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { settings } from '../../config';
import { ARTIFACT_HEADERS, E, OutpostError, artifactPathProblem } from '../protocol';
import type { ByteRange, WrittenBlob } from '../store/blob-store';
import type { ArtifactBlobRef, Store } from '../store/store';
import { runIdParam } from './schemas';

/**
 * The router decodes the URL once; the decoded name is what is judged and stored. So
 * "v1%2e0.txt" (sent as v1%252e0.txt) is a legal literal name, and "..%2Fx" sent as such decodes
 * to "../x" and is refused.
 */
export function checkedArtifactPath(raw: string | undefined): string {
  const p = raw ?? '';
  const problem = artifactPathProblem(p, settings.limits.maxArtifactPathChars);
  if (problem) throw E.badArtifactPath(p, problem);
  return p;
}

/** Content-Length, or x-outpost-size for a chunked body (one that carries its hash as a trailer). */
function declaredLength(request: FastifyRequest): number {
  const raw = request.headers['content-length'] ?? request.headers[ARTIFACT_HEADERS.size];
  const field = lengthField(request);
  if (raw === undefined) throw E.lengthRequired(ARTIFACT_HEADERS.size);
  const length = Number(raw);
  if (!Number.isSafeInteger(length) || length < 0) throw E.lengthNotNumber(field, raw);
  return length;
}

function lengthField(request: FastifyRequest): string {
  return request.headers['content-length'] === undefined ? ARTIFACT_HEADERS.size : 'content-length';
}

type ArtifactRequest = FastifyRequest<{ Params: { id: string; '*': string }; Querystring: { version?: string } }>;

/**
 * Registered in a plugin scope of its own: an upload is the file's bytes whatever its Content-Type
 * says (application/json included), so every type reaches the handler as the raw stream, and
 * nothing is buffered in memory.
 */
export async function artifactRoutes(app: FastifyInstance, store: Store): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  const params = { schema: { params: runIdParam } };

  app.put('/runs/:id/artifacts/*', { ...params, config: { upload: true } }, async (request: ArtifactRequest, reply) => {
    const { id } = request.params;
    const artifactPath = checkedArtifactPath(request.params['*']);
    const length = declaredLength(request);
    const max = settings.limits.maxFileBytes;
    if (length > max) {
      reply.header('connection', 'close');
      throw E.artifactTooLarge(artifactPath, length, max, lengthField(request));
    }
    if (!(await store.runExists(id))) {
      reply.header('connection', 'close');
      throw E.runNotFound(id);
    }
    const hashInTrailer = (request.headers.trailer ?? '').toLowerCase().includes(ARTIFACT_HEADERS.sha256);
    const body = (request.body as Readable | undefined) ?? Readable.from([]);
    const tooLarge = () => E.bodyLongerThanDeclared(artifactPath, length);
    // Runs once every byte has arrived, so a trailer is there to read.
    const check = (b: WrittenBlob) => {
      if (b.size !== length) throw E.bodyLengthDiffers(artifactPath, b.size, length);
      const expected = request.headers[ARTIFACT_HEADERS.sha256] ?? (hashInTrailer ? request.raw.trailers[ARTIFACT_HEADERS.sha256] : undefined);
      if (hashInTrailer && typeof expected !== 'string') {
        // A proxy that buffers bodies drops trailers: the agent then declares the hash up front.
        throw E.trailerMissing(artifactPath, ARTIFACT_HEADERS.sha256);
      }
      if (typeof expected === 'string' && expected.toLowerCase() !== b.sha256) {
        throw E.hashMismatch(artifactPath, b.sha256, expected, ARTIFACT_HEADERS.sha256);
      }
    };
    try {
      const result = await store.putArtifact(id, artifactPath, { body, size: length, tooLarge, verify: check });
      reply.status(result.unchanged ? 200 : 201);
      return result;
    } catch (err) {
      // Name the file the full disk refused.
      if (err instanceof OutpostError && err.code === 'OUTPOST_ERR_STORAGE_FULL') throw E.artifactNotStored(artifactPath, length, err);
      throw err;
    }
  });

  app.delete('/runs/:id/artifacts/*', params, async (request: ArtifactRequest) => {
    const artifactPath = checkedArtifactPath(request.params['*']);
    const deleted = await store.deleteArtifact(request.params.id, artifactPath);
    return { path: artifactPath, deleted };
  });

  app.get<{ Params: { id: string } }>('/runs/:id/artifacts', params, async (request) => store.listArtifacts(request.params.id));

  app.get('/runs/:id/artifacts/*', params, async (request: ArtifactRequest, reply) => downloadArtifact(store, request, reply));
}

async function downloadArtifact(store: Store, request: ArtifactRequest, reply: FastifyReply) {
  const { id } = request.params;
  const artifactPath = checkedArtifactPath(request.params['*']);
  const version = request.query.version === undefined ? undefined : Number(request.query.version);
  if (version !== undefined && (!Number.isInteger(version) || version < 1)) {
    throw E.badVersion();
  }
  const ref = await store.getArtifact(id, artifactPath, version);
  if (!ref) {
    if (!(await store.runExists(id))) throw E.runNotFound(id);
    throw E.artifactNotFound(id, artifactPath, version);
  }
  return sendBlob(store, request, reply, ref);
}

/** Set last, once nothing can fail: an error answer carries none of them. */
function downloadHeaders(reply: FastifyReply, ref: ArtifactBlobRef): void {
  reply.header('content-type', 'application/octet-stream');
  reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(path.posix.basename(ref.path))}`);
  reply.header(ARTIFACT_HEADERS.sha256, ref.sha256);
  reply.header('x-outpost-version', String(ref.version));
}

function rangeError(artifactPath: string, size: number): OutpostError {
  return E.rangeNotSatisfiable(artifactPath, size);
}

/**
 * A stored version's bytes, answered the same whichever store and blob backend keeps them:
 * If-None-Match (304), If-Range, one byte range (206) or the whole file, 416 for a range it cannot
 * serve. The ETag is the sha256, strong: a version's bytes never change.
 */
async function sendBlob(store: Store, request: ArtifactRequest, reply: FastifyReply, ref: ArtifactBlobRef) {
  const size = ref.size;
  const etag = `"${ref.sha256}"`;
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch && ifNoneMatch.split(',').some((t) => ['*', etag, `W/${etag}`].includes(t.trim()))) {
    return reply.status(304).header('etag', etag).send();
  }
  // A Range meant for another version (If-Range names another ETag, or a date) gets the whole file.
  const ifRange = request.headers['if-range'];
  let range = request.headers.range && (!ifRange || ifRange === etag) ? request.headers.range : undefined;
  // RFC 9110 14.1.2: a suffix range longer than the file selects all of it (range-parser refuses it).
  const suffix = /^bytes=-(\d+)$/.exec(range ?? '');
  if (suffix && Number(suffix[1]) >= size && size > 0) range = 'bytes=0-';
  const ranges = range ? parseRange(size, range, { combine: true }) : undefined;
  if (ranges === -1 || ranges === -2) {
    reply.header('content-range', `bytes */${size}`);
    throw rangeError(ref.path, size);
  }
  // Several ranges or another unit: the whole file, as RFC 9110 allows.
  const one: ByteRange | undefined = ranges && ranges.type === 'bytes' && ranges.length === 1 ? ranges[0] : undefined;
  const stream = await store.openBlob(ref.sha256, one);
  downloadHeaders(reply, ref);
  reply.header('etag', etag);
  reply.header('accept-ranges', 'bytes');
  if (!one) return reply.status(200).header('content-length', String(size)).send(stream);
  reply.header('content-range', `bytes ${one.start}-${one.end}/${size}`);
  return reply.status(206).header('content-length', String(one.end - one.start + 1)).send(stream);
}
