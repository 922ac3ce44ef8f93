/** Metric batches in (gzip allowed), one metric's history out (paged, or downsampled). */
import { createGunzip } from 'zlib';
import type { FastifyInstance } from 'fastify';
import { settings } from '../../config';
import { MetricBatch, OutpostError } from '../protocol';
import type { Store } from '../store/store';
import { historyQuery, metricBatchBody } from './schemas';

export function metricRoutes(app: FastifyInstance, store: Store): void {
  app.post<{ Params: { id: string }; Body: MetricBatch }>(
    '/runs/:id/metrics',
    {
      bodyLimit: settings.limits.maxBatchBodyBytes,
      schema: { body: metricBatchBody },
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
    async (request) => store.ingestMetrics(request.params.id, request.body),
  );

  app.get<{ Params: { id: string; name: string }; Querystring: { maxPoints?: number; offset?: number; limit?: number } }>(
    '/runs/:id/metrics/:name',
    { schema: { querystring: historyQuery } },
    async (request) => {
      const { id, name } = request.params;
      const history = await store.metricHistory(id, name, request.query);
      if (history) return history;
      if (!(await store.getRun(id))) throw new OutpostError('OUTPOST_ERR_RUN_NOT_FOUND', `unknown run "${id}"`, 'run');
      throw new OutpostError('OUTPOST_ERR_METRIC_NOT_FOUND', `run "${id}" has no metric "${name}"`, 'name');
    },
  );
}
