/**
 * How the store reads a page of runs: plans that walk an index in the sort's order and stop at the
 * page's end, counts remembered only until the store changes, and each run's params and tags.
 * (Without ANALYZE, which the store never runs, SQLite plans a table of three runs as it plans one
 * of a million: these plans are the ones a big store gets.)
 */
import { parseRunFilter, parseSortKey } from '../../src/service/run-filter';
import type { RunQuery } from '../../src/store/run-query';
import { SqliteRunList } from '../../src/store/sqlite-run-list';
import { openSqliteStore } from '../../src/store/open-store';
import type { SqliteStore } from '../../src/store/sqlite-store';
import { checked, openTempStore } from './store-fixture';

describe('run list', () => {
  let store: SqliteStore;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ store, dir, cleanup } = await openTempStore());
    for (const [i, id] of ['a', 'b', 'c'].entries()) {
      await store.upsertRun(id, { startTime: `2025-01-0${i + 1}T00:00:00.000Z` });
      await store.ingestMetrics(
        id,
        checked({
          stream: 's',
          lines: [
            { seq: 1, time: 1, params: { lr: [0.1, 0.01, 0.001][i], seed: i } },
            { seq: 2, time: 1, tags: { team: ['vision', 'audio', 'vision'][i] } },
            { seq: 3, time: 1, metrics: { val_acc: 0.5 + i / 10 } },
            { seq: 4, time: 2, metrics: { val_acc: 0.6 + i / 10 } },
          ],
        }),
      );
    }
  });
  afterAll(() => cleanup());

  const query = (filter?: string, sort?: string): RunQuery => ({
    filter: filter === undefined ? undefined : parseRunFilter(filter),
    sort: sort === undefined ? undefined : parseSortKey(sort),
    limit: 50,
  });
  /** Each segment's plan; setRuns 0: every set checked run by run, as the big sets of a big store are. */
  const plan = (filter?: string, sort?: string, setRuns = 0) => new SqliteRunList(store.db, 'r.id', { setRuns, countCacheEntries: 0 }).explain(query(filter, sort));
  const FULL_SORT = 'USE TEMP B-TREE FOR ORDER BY';

  test('a filter on a metric, sorted by it: the metric index walked from the top within the range, no sort of every match, no look at runs without it', () => {
    const segments = plan('params.lr = 0.01 and metrics.val_acc > 0.9', 'metrics.val_acc desc');
    expect(segments).toHaveLength(1);
    expect(segments[0][0]).toBe('SEARCH sk USING INDEX series_by_last (name=? AND last_value>?)');
    expect(segments[0]).not.toContain(FULL_SORT);
  });

  test('newest first: runs_by_start walked, not every live run read and sorted', () => {
    const [segment] = plan("tags.team = 'nlp'");
    expect(segment[0]).toBe('SCAN r USING INDEX runs_by_start');
    expect(segment).not.toContain(FULL_SORT);
  });

  test('a sort on a param walks its index; a condition on it bounds the range and rules out the runs with text or none', () => {
    const segments = plan('params.seed < 10', 'params.seed');
    expect(segments).toHaveLength(1);
    expect(segments[0][0]).toBe('SEARCH sk USING INDEX params_by_number (key=? AND num>? AND num<?)');
    expect(segments[0]).not.toContain(FULL_SORT);
    // Without a condition on the key: its runs by number, by text, then those without it, each walked in order.
    expect(plan(undefined, 'tags.team desc').map((s) => s[0])).toEqual(['SEARCH sk USING COVERING INDEX tags_by_value (key=?)', 'SCAN r USING INDEX runs_by_start']);
  });

  test('a small set is read whole and may lead; a big one is checked run by run', () => {
    expect(plan('params.lr = 0.01', undefined, 1_000_000)[0].join('\n')).toContain('LIST SUBQUERY');
    const checkedPerRun = plan('params.lr = 0.01', undefined, 0)[0];
    expect(checkedPerRun[0]).toBe('SCAN r USING INDEX runs_by_start');
    expect(checkedPerRun.join('\n')).not.toContain('LIST SUBQUERY');
  });

  test("a count follows every change, this store's and another connection's, however often it was asked before", async () => {
    const team = (name: string) => store.countRuns({ filter: parseRunFilter(`tags.team = '${name}'`) });
    expect(await team('vision')).toBe(2);
    expect(await team('vision')).toBe(2);
    await store.patchRun('b', { tags: { team: 'vision' } });
    expect(await team('vision')).toBe(3);
    const other = await openSqliteStore(dir);
    try {
      await other.patchRun('a', { tags: { team: 'audio' } });
      expect(await team('vision')).toBe(2);
      expect(await team('audio')).toBe(1);
      await other.deleteRun('c');
      expect(await team('vision')).toBe(1);
      expect(await store.countRuns({ deleted: true })).toBe(1);
      await other.restoreRun('c');
      expect(await team('vision')).toBe(2);
    } finally {
      await other.close();
    }
    await store.ingestMetrics('a', checked({ stream: 's', lines: [{ seq: 5, time: 3, metrics: { val_acc: 0.99 } }] }));
    expect(await store.countRuns({ filter: parseRunFilter('metrics.val_acc > 0.95') })).toBe(1);
  });

  test('a page carries every kind of param as it was logged, and tags, keys in order', async () => {
    const params = { lr: 1e-7, big: 12345678901234567000, name: 'say "hi"\n', flag: false, layers: [64, 0.5, 'relu', true], zero: -0 };
    await store.upsertRun('kinds', { startTime: '2030-01-01T00:00:00.000Z' });
    await store.ingestMetrics('kinds', checked({ stream: 's', lines: [{ seq: 1, time: 1, params }, { seq: 2, time: 1, tags: JSON.parse('{"z": "1", "a": "ü", "__proto__": "x"}') }] }));
    const [run] = await store.listRuns({ filter: parseRunFilter("id = 'kinds'") });
    expect(run.params).toEqual({ ...params, zero: 0 });
    expect(Object.keys(run.params)).toEqual(['big', 'flag', 'layers', 'lr', 'name', 'zero']);
    expect(Object.keys(run.tags)).toEqual(['__proto__', 'a', 'z']);
    expect(Object.getPrototypeOf(run.tags)).toBe(Object.prototype);
    expect((await store.getRun('kinds'))!.params).toEqual(run.params);
  });
});
