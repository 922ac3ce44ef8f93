/** Runs: create or update, list, get, the last one, events. */
import type { FastifyInstance } from 'fastify';
import { E, RecordEvent, RunStatus, RunUpsert } from '../protocol';
import type { Store } from '../store/store';
import { eventBody, runIdParam, runListQuery, runUpsertBody } from './schemas';

interface ListQuery {
  experiment?: string;
  status?: RunStatus;
  limit?: number;
  offset?: number;
  include?: 'metrics';
}

export function runRoutes(app: FastifyInstance, store: Store): void {
  app.get<{ Querystring: ListQuery }>('/runs', { schema: { querystring: runListQuery } }, async (request, reply) => {
    const { include, ...filter } = request.query;
    const runs = await store.listRuns(filter);
    reply.header('x-total-count', String(await store.countRuns({ experiment: filter.experiment, status: filter.status })));
    if (include !== 'metrics') return runs;
    const last = await store.lastMetrics(runs.map((r) => r.id));
    return runs.map((r) => ({ ...r, metrics: last[r.id] ?? {} }));
  });

  app.get<{ Querystring: { experiment?: string } }>('/runs/last', async (request) => {
    const run = await store.lastRun({ experiment: request.query.experiment });
    if (!run) throw E.noRunsYet(request.query.experiment);
    return run;
  });

  app.get<{ Params: { id: string } }>('/runs/:id', { schema: { params: runIdParam } }, async (request) => {
    const run = await store.getRun(request.params.id);
    if (!run) throw E.runNotFound(request.params.id);
    return run;
  });

  app.put<{ Params: { id: string }; Body: RunUpsert }>(
    '/runs/:id',
    { schema: { params: runIdParam, body: runUpsertBody } },
    async (request) => store.upsertRun(request.params.id, request.body ?? {}),
  );

  app.post<{ Params: { id: string }; Body: RecordEvent }>('/runs/:id/events', { schema: { params: runIdParam, body: eventBody } }, async (request, reply) => {
    await store.recordEvent(request.params.id, request.body);
    reply.status(201);
    return { ok: true };
  });

  app.get('/experiments', async () => store.listExperiments());
}
