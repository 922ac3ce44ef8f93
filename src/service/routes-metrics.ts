/** Metric batches in (JSON or NDJSON, gzip allowed), one metric's history out (paged, or downsampled). */
import type { FastifyInstance } from 'fastify';
import { settings } from '../../config';
import { BATCH_HEADERS, E, MAX_SOURCE_CHARS, MetricBatch, NDJSON_TYPE, NdjsonBatchAck } from '../protocol';
import type { Store } from '../store/store';
import { checkJsonBatch } from './json-batch';
import { parseNdjsonBatch } from './ndjson-batch';
import { JSON_TYPE } from './route-config';
import { historyQuery, metricBatchBody, runIdParam } from './schemas';

/** Registered in a plugin scope of its own: the NDJSON parser is for this route only. */
export async function metricRoutes(app: FastifyInstance, store: Store): Promise<void> {
  // Raw spool lines from the agent: kept as bytes here, parsed line by line in the handler.
  app.addContentTypeParser(NDJSON_TYPE, { parseAs: 'buffer', bodyLimit: settings.limits.maxBatchBodyBytes }, (_request, body, done) => done(null, body));

  app.post<{ Params: { id: string }; Body: MetricBatch | Buffer }>(
    '/runs/:id/metrics',
    {
      bodyLimit: settings.limits.maxBatchBodyBytes,
      config: {
        accepts: [JSON_TYPE, NDJSON_TYPE],
        gzip: true,
        bodyLimitSetting: 'limits.maxBatchBodyBytes',
        // Each line's metrics are judged as a metric line: a bad one is named as that line (OUTPOST_ERR_BAD_LINE).
        ownChecks: [['lines', '*', 'metrics']],
      },
      // The JSON schema is for JSON bodies; NDJSON bodies are checked line by line.
      schema: { params: runIdParam, body: { content: { [JSON_TYPE]: { schema: metricBatchBody }, [NDJSON_TYPE]: { schema: {} } } } },
    },
    async (request) => {
      // Either form is checked here with the metric line's rules; the store trusts what it is given.
      const batch = Buffer.isBuffer(request.body)
        ? parseNdjsonBatch(request.body, ndjsonHeaders(request.headers), settings.limits)
        : checkJsonBatch(request.body, settings.limits);
      const ack: NdjsonBatchAck = await store.ingestMetrics(request.params.id, batch);
      return ack;
    },
  );

  app.get<{ Params: { id: string; name: string }; Querystring: { maxPoints?: number; offset?: number; limit?: number } }>(
    '/runs/:id/metrics/:name',
    { schema: { params: runIdParam, querystring: historyQuery } },
    async (request) => {
      const { id, name } = request.params;
      const history = await store.metricHistory(id, name, request.query);
      if (history) return history;
      if (!(await store.runExists(id))) throw E.runNotFound(id);
      throw E.metricNotFound(id, name);
    },
  );
}

function ndjsonHeaders(headers: Record<string, string | string[] | undefined>) {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const stream = one(BATCH_HEADERS.stream);
  if (!stream || stream.length > 512) throw E.badHeader(BATCH_HEADERS.stream, 'is required (at most 512 characters)');
  const firstSeq = Number(one(BATCH_HEADERS.firstSeq));
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) {
    throw E.badHeader(BATCH_HEADERS.firstSeq, 'must be an integer >= 1');
  }
  const timeHeader = one(BATCH_HEADERS.time);
  const time = timeHeader === undefined ? Date.now() / 1000 : Number(timeHeader);
  if (!Number.isFinite(time) || time < 0) throw E.badHeader(BATCH_HEADERS.time, 'must be seconds since the epoch');
  const file = (one(BATCH_HEADERS.file) ?? 'metrics.jsonl').slice(0, 256);
  const encoded = one(BATCH_HEADERS.source);
  if (encoded === undefined) return { stream, firstSeq, file, time };
  let source: string;
  try {
    source = decodeURIComponent(encoded);
  } catch {
    throw E.badHeader(BATCH_HEADERS.source, 'must be percent-encoded UTF-8');
  }
  if (source.length === 0 || source.length > MAX_SOURCE_CHARS || source.includes('\u0000')) {
    throw E.badHeader(BATCH_HEADERS.source, `must be 1 to ${MAX_SOURCE_CHARS} characters, without NUL`);
  }
  return { stream, firstSeq, file, time, source };
}
