/** Metric batches in (gzip allowed), one metric's history out (paged, or downsampled). */
import { createGunzip } from 'zlib';
import type { FastifyInstance } from 'fastify';
import { settings } from '../../config';
import { BATCH_HEADERS, MetricBatch, NDJSON_TYPE, NdjsonBatchAck, OutpostError } from '../protocol';
import type { Store } from '../store/store';
import { parseNdjsonBatch } from './ndjson-batch';
import { historyQuery, metricBatchBody } from './schemas';

export function metricRoutes(app: FastifyInstance, store: Store): void {
  // Raw spool lines from the agent: kept as bytes here, parsed line by line in the handler.
  app.addContentTypeParser(NDJSON_TYPE, { parseAs: 'buffer', bodyLimit: settings.limits.maxBatchBodyBytes }, (_request, body, done) => done(null, body));

  app.post<{ Params: { id: string }; Body: MetricBatch | Buffer }>(
    '/runs/:id/metrics',
    {
      bodyLimit: settings.limits.maxBatchBodyBytes,
      // The JSON schema is for JSON bodies; NDJSON bodies are checked line by line.
      schema: { body: { content: { 'application/json': { schema: metricBatchBody }, [NDJSON_TYPE]: { schema: {} } } } },
      preParsing: async (request, _reply, payload) => {
        const encoding = request.headers['content-encoding'];
        if (!encoding || encoding === 'identity') return payload;
        if (encoding !== 'gzip') throw new OutpostError('OUTPOST_ERR_BAD_REQUEST', `unsupported Content-Encoding "${encoding}"`, 'content-encoding');
        // fastify compares Content-Length with what the wire carried, and bodyLimit with what we decode.
        const gunzip = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength: number };
        gunzip.receivedEncodedLength = 0;
        payload.on('data', (chunk: Buffer) => (gunzip.receivedEncodedLength += chunk.length));
        payload.on('error', (err) => gunzip.destroy(err));
        return payload.pipe(gunzip);
      },
    },
    async (request) => {
      if (!Buffer.isBuffer(request.body)) return store.ingestMetrics(request.params.id, request.body);
      const batch = parseNdjsonBatch(request.body, ndjsonHeaders(request.headers), settings.limits);
      const ack = await store.ingestMetrics(request.params.id, batch, { linesValidated: true });
      // Skipped lines are a prefix (sequences increase): the newly stored ones are the rest.
      const rejected: NdjsonBatchAck['rejected'] = [];
      for (let i = batch.lines.length - ack.stored; i < batch.lines.length; i++) {
        const l = batch.lines[i];
        if ('error' in l) rejected.push({ seq: l.seq, reason: l.error });
      }
      const reply: NdjsonBatchAck = { ...ack, rejected };
      return reply;
    },
  );

  app.get<{ Params: { id: string; name: string }; Querystring: { maxPoints?: number; offset?: number; limit?: number } }>(
    '/runs/:id/metrics/:name',
    { schema: { querystring: historyQuery } },
    async (request) => {
      const { id, name } = request.params;
      const history = await store.metricHistory(id, name, request.query);
      if (history) return history;
      if (!(await store.runExists(id))) throw new OutpostError('OUTPOST_ERR_RUN_NOT_FOUND', `unknown run "${id}"`, 'run');
      throw new OutpostError('OUTPOST_ERR_METRIC_NOT_FOUND', `run "${id}" has no metric "${name}"`, 'name');
    },
  );
}

function ndjsonHeaders(headers: Record<string, string | string[] | undefined>) {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const stream = one(BATCH_HEADERS.stream);
  if (!stream || stream.length > 512) throw new OutpostError('OUTPOST_ERR_BAD_REQUEST', `header ${BATCH_HEADERS.stream} is required (at most 512 characters)`, BATCH_HEADERS.stream);
  const firstSeq = Number(one(BATCH_HEADERS.firstSeq));
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) {
    throw new OutpostError('OUTPOST_ERR_BAD_REQUEST', `header ${BATCH_HEADERS.firstSeq} must be an integer >= 1`, BATCH_HEADERS.firstSeq);
  }
  const timeHeader = one(BATCH_HEADERS.time);
  const time = timeHeader === undefined ? Date.now() / 1000 : Number(timeHeader);
  if (!Number.isFinite(time) || time < 0) throw new OutpostError('OUTPOST_ERR_BAD_REQUEST', `header ${BATCH_HEADERS.time} must be seconds since the epoch`, BATCH_HEADERS.time);
  const file = (one(BATCH_HEADERS.file) ?? 'metrics.jsonl').slice(0, 256);
  return { stream, firstSeq, file, time };
}
