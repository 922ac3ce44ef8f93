/** Artifacts: streamed uploads (hashed on the way to disk), listing, streamed downloads with Range. */
import path from 'path';
import send from '@fastify/send';
import parseRange from 'range-parser';
import { Readable } from 'stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { settings } from '../../config';
import { ARTIFACT_HEADERS, OutpostError, artifactPathProblem } from '../protocol';
import { inlineBlob, type WrittenBlob } from '../store/blob-store';
import type { Store, StoredBlob } from '../store/store';

// Decoded once by the router; anything still percent-encoded is a second layer of encoding.
const ENCODED_TRICK = /%(2e|2f|5c|00)/i;

export function checkedArtifactPath(raw: string | undefined): string {
  const p = raw ?? '';
  const problem =
    artifactPathProblem(p, settings.limits.maxArtifactPathChars) ?? (ENCODED_TRICK.test(p) ? 'path contains an encoded "." "/" "\\" or NUL' : undefined);
  if (problem) throw new OutpostError('OUTPOST_ERR_BAD_PATH', `artifact path ${JSON.stringify(p)}: ${problem}`, 'path');
  return p;
}

/** Content-Length, or x-outpost-size for a chunked body (one that carries its hash as a trailer). */
function declaredLength(request: FastifyRequest): number {
  const raw = request.headers['content-length'] ?? request.headers[ARTIFACT_HEADERS.size];
  const field = request.headers['content-length'] === undefined ? ARTIFACT_HEADERS.size : 'content-length';
  if (raw === undefined)
    throw new OutpostError(
      'OUTPOST_ERR_LENGTH_REQUIRED',
      `Content-Length (or ${ARTIFACT_HEADERS.size} with a chunked body) is required for uploads`,
      'content-length',
    );
  const length = Number(raw);
  if (!Number.isSafeInteger(length) || length < 0)
    throw new OutpostError('OUTPOST_ERR_BAD_REQUEST', `${field} must be a whole number of bytes, not ${JSON.stringify(raw)}`, field);
  return length;
}

/** A small body, whole, in memory (at most `length` bytes: service.inlineBlobBytes bounds it). */
async function readBody(body: Readable, length: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > length) throw tooLarge();
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

type ArtifactRequest = FastifyRequest<{ Params: { id: string; '*': string }; Querystring: { version?: string } }>;

export function artifactRoutes(app: FastifyInstance, store: Store): void {
  // Uploads reach the handler as the raw stream: nothing is buffered in memory.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.put('/runs/:id/artifacts/*', async (request: ArtifactRequest, reply) => {
    const { id } = request.params;
    const artifactPath = checkedArtifactPath(request.params['*']);
    const length = declaredLength(request);
    const max = settings.limits.maxFileBytes;
    if (length > max) {
      reply.header('connection', 'close');
      throw new OutpostError(
        'OUTPOST_ERR_TOO_LARGE',
        `artifact "${artifactPath}" is ${length} bytes, over the ${max}-byte limit (limits.maxFileBytes)`,
        'content-length',
      );
    }
    if (!(await store.runExists(id))) {
      reply.header('connection', 'close');
      throw new OutpostError('OUTPOST_ERR_RUN_NOT_FOUND', `unknown run "${id}"`, 'run');
    }
    const hashInTrailer = (request.headers.trailer ?? '').toLowerCase().includes(ARTIFACT_HEADERS.sha256);
    const body = (request.body as Readable | undefined) ?? Readable.from([]);
    const tooLarge = () =>
      new OutpostError('OUTPOST_ERR_LENGTH_MISMATCH', `artifact "${artifactPath}": body is longer than the declared ${length} bytes`, 'body');
    // Runs once every byte has arrived, so a trailer is there to read.
    const check = (b: WrittenBlob) => {
      if (b.size !== length)
        throw new OutpostError('OUTPOST_ERR_LENGTH_MISMATCH', `artifact "${artifactPath}": received ${b.size} bytes, ${length} were declared`, 'body');
      const expected = request.headers[ARTIFACT_HEADERS.sha256] ?? (hashInTrailer ? request.raw.trailers[ARTIFACT_HEADERS.sha256] : undefined);
      if (hashInTrailer && typeof expected !== 'string') {
        throw new OutpostError(
          'OUTPOST_ERR_HASH_MISMATCH',
          `artifact "${artifactPath}": a ${ARTIFACT_HEADERS.sha256} trailer was announced but not sent`,
          ARTIFACT_HEADERS.sha256,
        );
      }
      if (typeof expected === 'string' && expected.toLowerCase() !== b.sha256) {
        throw new OutpostError(
          'OUTPOST_ERR_HASH_MISMATCH',
          `artifact "${artifactPath}": sha256 is ${b.sha256}, the client declared ${expected}`,
          ARTIFACT_HEADERS.sha256,
        );
      }
    };
    let blob: StoredBlob;
    if (length <= settings.service.inlineBlobBytes) {
      blob = inlineBlob(await readBody(body, length, tooLarge));
      check(blob);
    } else {
      blob = await store.blobs.write(body, length, tooLarge, check);
    }
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
  reply.header('content-type', 'application/octet-stream');
  reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(path.posix.basename(artifactPath))}`);
  reply.header(ARTIFACT_HEADERS.sha256, ref.sha256);
  reply.header('x-outpost-version', String(ref.version));
  // RFC 9110 14.1.2: a suffix range longer than the file selects all of it; @fastify/send and range-parser answer
  // 416 instead, so such a range is rewritten to the whole file.
  const suffix = /^bytes=-(\d+)$/.exec(request.headers.range ?? '');
  if (suffix && Number(suffix[1]) >= ref.size && ref.size > 0) request.raw.headers.range = 'bytes=0-';
  const inline = await store.inlineBlob(ref.sha256);
  if (inline) return sendInline(request, reply, inline, ref.sha256, artifactPath);
  const blobPath = store.blobs.pathOf(ref.sha256);
  const sent = await send(request.raw, `/${path.relative(store.blobs.blobDir, blobPath)}`, {
    root: store.blobs.blobDir,
    contentType: false,
    cacheControl: false,
    etag: true,
    lastModified: false,
  });
  if (sent.type === 'error') {
    const err = sent.metadata.error as Error & { status?: number };
    if (err.status === 416) throw rangeError(artifactPath, ref.size);
    throw err;
  }
  reply.status(sent.statusCode);
  reply.headers(sent.headers as Record<string, string>);
  reply.header('content-type', 'application/octet-stream');
  return reply.send(sent.stream);
}

function rangeError(artifactPath: string, size: number): OutpostError {
  return new OutpostError('OUTPOST_ERR_RANGE', `range not satisfiable for "${artifactPath}" (${size} bytes)`, 'range');
}

/** A small artifact from the database, with the same ETag and single-range answers as a file. */
function sendInline(request: ArtifactRequest, reply: FastifyReply, bytes: Buffer, sha256: string, artifactPath: string) {
  const etag = `"${sha256}"`;
  reply.header('etag', etag);
  reply.header('accept-ranges', 'bytes');
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  const ranges = request.headers.range ? parseRange(bytes.length, request.headers.range, { combine: true }) : -2;
  if (ranges === -1) {
    reply.header('content-range', `bytes */${bytes.length}`);
    throw rangeError(artifactPath, bytes.length);
  }
  // Malformed, several ranges, or another unit: the whole file, as RFC 9110 allows.
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return reply.status(200).send(bytes);
  const { start, end } = ranges[0];
  reply.header('content-range', `bytes ${start}-${end}/${bytes.length}`);
  return reply.status(206).send(bytes.subarray(start, end + 1));
}
