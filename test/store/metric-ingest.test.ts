import type { Store } from '../../src/store/store';
import { checked, lines, openStoreOf, STORE_KINDS } from './store-fixture';

describe.each(STORE_KINDS)('metric ingest (%s)', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await openStoreOf(kind));
    await store.upsertRun('r1', { experiment: 'e' });
  });
  afterEach(() => cleanup());

  const values = async (name = 'loss') => (await store.metricHistory('r1', name, {}))!.points.map((p) => p.value);

  test('the same batch sent twice is stored once, and the second reply says it was all skipped', async () => {
    const batch = { stream: 's', lines: lines(1, 10) };
    expect(await store.ingestMetrics('r1', checked(batch))).toEqual({ stream: 's', ackedSeq: 10, stored: 10, skipped: 0, rejected: [] });
    expect(await store.ingestMetrics('r1', checked(batch))).toEqual({ stream: 's', ackedSeq: 10, stored: 0, skipped: 10, rejected: [] });
    expect(await values()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test('overlapping batches store each line once, in sequence order', async () => {
    await store.ingestMetrics('r1', checked({ stream: 's', lines: lines(1, 6) }));
    const ack = await store.ingestMetrics('r1', checked({ stream: 's', lines: lines(4, 12) }));
    expect(ack).toEqual({ stream: 's', ackedSeq: 12, stored: 6, skipped: 3, rejected: [] });
    expect(await values()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test('a batch older than the stream high-water mark is skipped, never stored out of order', async () => {
    await store.ingestMetrics('r1', checked({ stream: 's', lines: lines(1, 20) }));
    expect(await store.ingestMetrics('r1', checked({ stream: 's', lines: lines(1, 10) }))).toMatchObject({ ackedSeq: 20, stored: 0, skipped: 10 });
    expect(await values()).toEqual([...Array(20).keys()].map((i) => i + 1));
  });

  test('streams are independent: the same sequence numbers in two spools are both stored', async () => {
    await store.ingestMetrics('r1', checked({ stream: 'a', lines: lines(1, 3) }));
    await store.ingestMetrics('r1', checked({ stream: 'b', lines: lines(1, 3, 'loss', (s) => s * 10) }));
    expect(await values()).toEqual([1, 2, 3, 10, 20, 30]);
  });

  test('rejected lines take their place in the stream and are listed with file, line and reason', async () => {
    await store.ingestMetrics('r1', checked({ stream: 's', file: 'metrics.jsonl', lines: [...lines(1, 1), { seq: 2, time: 1, error: 'not valid JSON' }, ...lines(3, 3)] }));
    expect(await values()).toEqual([1, 3]);
    const run = (await store.getRun('r1'))!;
    expect(run.rejectedLines).toBe(1);
    expect(run.rejected).toEqual([{ stream: 's', file: 'metrics.jsonl', line: 2, reason: 'not valid JSON' }]);
  });

  test('a batch for an unknown run is refused', async () => {
    await expect(store.ingestMetrics('nope', checked({ stream: 's', lines: lines(1, 1) }))).rejects.toMatchObject({ code: 'OUTPOST_ERR_RUN_NOT_FOUND' });
  });
});
