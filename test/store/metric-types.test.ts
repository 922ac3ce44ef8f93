import type { Store } from '../../src/store/store';
import { checked, openStoreOf, STORE_KINDS } from './store-fixture';

describe.each(STORE_KINDS)('metric types (%s)', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ store, cleanup } = await openStoreOf(kind));
    await store.upsertRun('r1', {});
    const metrics = {
      'simple integer value': 7,
      'simple float value': 3.5,
      'simple string value': 'this is a string metric',
      'a flag': true,
      'chart data points': [1, 3, 5, 10, 6, 4],
    };
    await store.ingestMetrics('r1', checked({ stream: 's', lines: [{ seq: 1, time: 1_700_000_000.25, step: 10, metrics }] }));
  });
  afterAll(() => cleanup());

  test.each([
    ['simple integer value', 'integer', 7],
    ['simple float value', 'float', 3.5],
    ['simple string value', 'string', 'this is a string metric'],
    ['a flag', 'boolean', true],
    ['chart data points', 'list', [1, 3, 5, 10, 6, 4]],
  ])('%s keeps its type (%s) and value in the run summary and the history', async (name, type, value) => {
    const run = (await store.getRun('r1'))!;
    expect(run.metrics[name]).toEqual({ type, count: 1, last: value, lastStep: 10 });
    const history = (await store.metricHistory('r1', name, {}))!;
    expect(history.type).toBe(type);
    expect(history.points).toEqual([{ index: 0, step: 10, time: 1_700_000_000.25, value }]);
  });

  test('an integer stays an integer number, not 7.0 or "7"', async () => {
    const [p] = (await store.metricHistory('r1', 'simple integer value', {}))!.points;
    expect(Number.isInteger(p.value)).toBe(true);
    expect(JSON.stringify(p.value)).toBe('7');
  });

  test('an integer series widens to float when a float follows', async () => {
    await store.ingestMetrics('r1', checked({ stream: 's', lines: [{ seq: 2, time: 1, metrics: { 'simple integer value': 7.25 } }] }));
    const history = (await store.metricHistory('r1', 'simple integer value', {}))!;
    expect(history.type).toBe('float');
    expect(history.points.map((p) => p.value)).toEqual([7, 7.25]);
  });
});
