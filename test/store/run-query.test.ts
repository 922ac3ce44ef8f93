/** Runs found by value and sorted, in SQL: the filter language end to end, from its text to the runs the store picks. */
import type { RunStatus } from '../../src/protocol';
import { parseRunFilter, parseSortKey } from '../../src/service/run-filter';
import type { RunQuery } from '../../src/store/run-query';
import { SqliteRunList } from '../../src/store/sqlite-run-list';
import type { SqliteStore } from '../../src/store/sqlite-store';
import type { Store } from '../../src/store/store';
import { checked, openStoreOf, STORE_KINDS } from './store-fixture';

describe.each(STORE_KINDS)('run queries (%s)', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;

  // lr, optimizer, team, val_acc per run; r5 has no lr and no val_acc; r6 is deleted.
  const runs: [string, Record<string, unknown>, Record<string, string>, number[] | null, RunStatus][] = [
    ['r1', { lr: 0.01, optimizer: 'adam', depth: 4 }, { team: 'vision' }, [0.5, 0.95, 0.93], 'completed'],
    ['r2', { lr: 0.1, optimizer: 'sgd', depth: 8 }, { team: 'vision', baseline: 'true' }, [0.4, 0.85], 'completed'],
    ['r3', { lr: 0.01, optimizer: 'sgd' }, { team: 'audio' }, [0.2, 0.91], 'failed'],
    ['r4', { lr: '0.01', optimizer: 'Adam' }, { team: 'Vision-2' }, [0.97], 'completed'],
    ['r5', { optimizer: 'adam' }, {}, null, 'running'],
    ['r6', { lr: 0.01 }, { team: 'vision' }, [0.99], 'completed'],
  ];

  beforeAll(async () => {
    ({ store, cleanup } = await openStoreOf(kind));
    for (const [i, [id, params, tags, acc, status]] of runs.entries()) {
      await store.upsertRun(id, { experiment: i < 4 ? 'mnist' : 'cifar', name: `run ${id}`, status, startTime: `2025-01-0${i + 1}T00:00:00.000Z`, endTime: status === 'running' ? null : `2025-01-0${i + 1}T0${i}:00:00.000Z` });
      const lines: ({ seq: number; time: number } & Record<string, unknown>)[] = [{ seq: 1, time: 1, params }, { seq: 2, time: 1, tags }];
      for (const [j, v] of (acc ?? []).entries()) lines.push({ seq: 3 + j, time: 1, metrics: { val_acc: v, 'val.acc': v * 100 } });
      if (Object.keys(tags).length === 0) lines.splice(1, 1);
      lines.forEach((l, k) => (l.seq = k + 1));
      await store.ingestMetrics(id, checked({ stream: 's', lines: lines as never }));
    }
    await store.deleteRun('r6');
  });
  afterAll(() => cleanup());

  const query = (filter?: string, sort?: string): RunQuery => ({
    filter: filter === undefined ? undefined : parseRunFilter(filter),
    sort: sort === undefined ? undefined : parseSortKey(sort),
  });
  const ids = async (filter?: string, sort?: string) => (await store.listRuns(query(filter, sort))).map((r) => r.id);

  /** SQLite's list with each condition's set read whole (setRuns huge) or checked run by run (0). */
  const listWith = (setRuns: number) => new SqliteRunList((store as SqliteStore).db, 'r.id', { setRuns, countCacheEntries: 0 });
  const both = (q: RunQuery) => [0, 1e9].map((setRuns) => listWith(setRuns).list<{ id: string }>(q).map((r) => r.id));

  const FILTERS: [string, string[]][] = [
    ['params.lr = 0.01', ['r3', 'r1']], // numbers compare with numbers: r4's "0.01" is a string
    ["params.lr = '0.01'", ['r4', 'r3', 'r1']], // a string compares with any param's text
    ['params.lr > 0.05', ['r2']],
    ['params.lr != 0.01', ['r2']], // only runs that have lr
    ['not params.lr = 0.01', ['r5', 'r4', 'r2']], // runs without lr too
    ["params.optimizer = 'adam'", ['r5', 'r1']],
    ["params.optimizer ILIKE 'adam'", ['r5', 'r4', 'r1']],
    ["params.optimizer LIKE 'A%'", ['r4']],
    ["params.optimizer IN ('sgd', 'Adam')", ['r4', 'r3', 'r2']],
    ["params.optimizer NOT IN ('sgd')", ['r5', 'r4', 'r1']],
    ['params.depth >= 4 and params.depth < 8', ['r1']],
    ['metrics.val_acc > 0.9', ['r4', 'r3', 'r1']], // the last value
    ['metrics.val_acc.max > 0.94', ['r4', 'r1']],
    ['metrics.val_acc.min < 0.3', ['r3']],
    ['metrics.`val.acc` >= 95', ['r4']],
    ["tags.team = 'vision'", ['r2', 'r1']],
    ["tags.team LIKE 'vision%'", ['r2', 'r1']],
    ["tags.team ILIKE 'vision%'", ['r4', 'r2', 'r1']],
    ['tags.baseline = true', ['r2']],
    ["attributes.status = 'completed'", ['r4', 'r2', 'r1']],
    ["status in ('failed', 'running')", ['r5', 'r3']],
    ["experiment = 'cifar'", ['r5']],
    ["name = 'run r2'", ['r2']],
    ["startTime >= '2025-01-03'", ['r5', 'r4', 'r3']],
    ['duration >= 7200', ['r5', 'r4', 'r3']], // r3: 2 h, r4: 3 h (r1: 0 h, r2: 1 h); r5 runs still, since 2025
    ["(params.lr = 0.01 or params.lr = 0.1) and metrics.val_acc > 0.9 and tags.team = 'vision' and attributes.status = 'completed'", ['r1']],
    ["not (tags.team = 'vision' or tags.team = 'audio')", ['r5', 'r4']],
  ];

  test.each(FILTERS)('%s', async (filter, expected) => {
    expect(await ids(filter)).toEqual(expected);
    expect(await store.countRuns(query(filter))).toBe(expected.length);
  });

  if (kind === 'sqlite') {
    test.each(FILTERS)('%s: the same runs whether each set is read whole or checked run by run', (filter, expected) => {
      expect(both(query(filter))).toEqual([expected, expected]);
    });
  }

  test('sorting by a metric, a param, a tag or an attribute; runs without the key come last either way', async () => {
    expect(await ids(undefined, 'metrics.val_acc desc')).toEqual(['r4', 'r1', 'r3', 'r2', 'r5']);
    expect(await ids(undefined, 'metrics.val_acc asc')).toEqual(['r2', 'r3', 'r1', 'r4', 'r5']);
    expect(await ids(undefined, 'metrics.val_acc.min')).toEqual(['r3', 'r2', 'r1', 'r4', 'r5']);
    expect(await ids(undefined, 'params.depth desc')).toEqual(['r2', 'r1', 'r5', 'r4', 'r3']);
    expect(await ids(undefined, 'tags.team')).toEqual(['r4', 'r3', 'r2', 'r1', 'r5']); // by code point: "Vision-2" < "audio"
    expect(await ids(undefined, 'name desc')).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
    expect(await ids("params.lr = 0.01 or params.lr = 0.1", 'metrics.val_acc desc')).toEqual(['r1', 'r3', 'r2']);
  });

  // A condition on the sort key itself is tested on the row the sort reads (and rules out the runs
  // without the key): the same runs as when it is a set of its own.
  test.each([
    ['metrics.val_acc > 0.9', 'metrics.val_acc desc', ['r4', 'r1', 'r3']],
    ['metrics.val_acc.min < 0.45', 'metrics.val_acc desc', ['r3', 'r2']],
    ['metrics.val_acc.max >= 0.95', 'metrics.val_acc.min', ['r1', 'r4']],
    ['params.lr = 0.01', 'params.lr', ['r3', 'r1']],
    ["params.lr = '0.01'", 'params.lr desc', ['r3', 'r1', 'r4']],
    ['params.lr NOT IN (0.1)', 'params.lr', ['r3', 'r1', 'r4', 'r5']], // runs without lr too
    ["params.lr IN (0.1, '0.01') and status = 'completed'", 'params.lr desc', ['r2', 'r1', 'r4']],
    ["params.optimizer NOT LIKE 'a%'", 'params.optimizer', ['r4', 'r3', 'r2']],
    ["tags.team ILIKE 'vision%'", 'tags.team desc', ['r2', 'r1', 'r4']],
    ["not tags.team = 'vision'", 'tags.team', ['r4', 'r3', 'r5']],
    ["tags.team != 'audio' or params.depth = 8", 'tags.team', ['r4', 'r2', 'r1']],
  ])('%s, sorted by %s', async (filter, sort, expected) => {
    expect(await ids(filter, sort)).toEqual(expected);
    if (kind === 'sqlite') expect(both(query(filter, sort))).toEqual([expected, expected]);
  });

  test('pages of any size and start, across the runs with the key and those without, make the whole list', async () => {
    for (const [filter, sort] of [
      [undefined, 'params.lr'],
      [undefined, 'params.lr desc'],
      [undefined, 'tags.team desc'],
      [undefined, 'metrics.val_acc.min'],
      ["params.optimizer != 'x'", 'metrics.val_acc desc'],
      [undefined, 'name'],
      [undefined, undefined],
    ]) {
      const all = await ids(filter, sort);
      for (const limit of [1, 2, 3]) {
        for (let offset = 0; offset <= all.length; offset++) {
          const page = (await store.listRuns({ ...query(filter, sort), limit, offset })).map((r) => r.id);
          expect({ filter, sort, limit, offset, page }).toEqual({ filter, sort, limit, offset, page: all.slice(offset, offset + limit) });
        }
      }
    }
  });

  test('counts follow the filter, and a deleted run is only found among the deleted', async () => {
    expect(await store.countRuns({ filter: parseRunFilter('params.lr = 0.01') })).toBe(2);
    expect((await store.listRuns({ deleted: true, filter: parseRunFilter('params.lr = 0.01') })).map((r) => r.id)).toEqual(['r6']);
  });

  test('a page of runs carries their params and tags', async () => {
    const [r1] = await store.listRuns({ filter: parseRunFilter("name = 'run r1'") });
    expect(r1).toMatchObject({ params: { lr: 0.01, optimizer: 'adam', depth: 4 }, tags: { team: 'vision' }, deleted: false });
  });
});
