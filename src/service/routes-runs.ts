/** Runs: create or update, list (filtered, sorted), get, the last one, events; what people change: patch, delete, restore, purge. */
import type { FastifyInstance } from 'fastify';
import { settings } from '../../config';
import { checkTags, E, PurgeRequest, RecordEvent, RunPatch, RunStatus, RunUpsert } from '../protocol';
import type { RunQuery } from '../store/run-query';
import type { Store } from '../store/store';
import { parseRunFilter, parseSortKey } from './run-filter';
import { eventBody, purgeBody, runIdParam, runListQuery, runPatchBody, runUpsertBody } from './schemas';

interface ListQuery {
  experiment?: string;
  status?: RunStatus;
  limit?: number;
  offset?: number;
  include?: 'metrics';
  filter?: string;
  sort?: string;
  deleted?: boolean;
}

export function runRoutes(app: FastifyInstance, store: Store): void {
  app.get<{ Querystring: ListQuery }>('/runs', { schema: { querystring: runListQuery } }, async (request, reply) => {
    const { include, filter, sort, ...rest } = request.query;
    const query: RunQuery = { ...rest };
    if (filter !== undefined && filter.trim() !== '') query.filter = parseRunFilter(filter);
    if (sort !== undefined && sort.trim() !== '') query.sort = parseSortKey(sort);
    const runs = await store.listRuns(query);
    reply.header('x-total-count', String(await store.countRuns(query)));
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

  app.patch<{ Params: { id: string }; Body: RunPatch }>('/runs/:id', { schema: { params: runIdParam, body: runPatchBody } }, async (request) => {
    const patch = request.body ?? {};
    // Tag names and values by the rules of a tags line (names, Unicode), whoever sets them.
    if (patch.tags !== undefined && Object.keys(patch.tags).length > 0) {
      const r = checkTags(patch.tags, { maxNameChars: settings.limits.maxNameChars, maxEntries: settings.limits.maxMetricsPerLine });
      if (!r.ok) throw E.invalidField('body.tags', r.reason);
    }
    return store.patchRun(request.params.id, patch);
  });

  app.delete<{ Params: { id: string } }>('/runs/:id', { schema: { params: runIdParam } }, async (request) => store.deleteRun(request.params.id));

  app.post<{ Params: { id: string } }>('/runs/:id/restore', { schema: { params: runIdParam } }, async (request) => store.restoreRun(request.params.id));

  app.post<{ Body: PurgeRequest }>('/purge', { schema: { body: purgeBody } }, async (request) => store.purge(request.body ?? {}));

  app.get('/experiments', async () => store.listExperiments());
}
