import type { Store } from '../../src/store/store';
import { checked, lines, openStoreOf, STORE_KINDS } from './store-fixture';

describe.each(STORE_KINDS)('metric history downsampling and paging (%s)', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  const N = 100_000;
  const SPIKE = 63_217;

  beforeAll(async () => {
    ({ store, cleanup } = await openStoreOf(kind));
    await store.upsertRun('r1', {});
    // A gentle sine with one spike up and one down, in batches that cut rollup blocks in two.
    const f = (seq: number) => (seq === SPIKE ? 1000 : seq === 7_001 ? -1000 : Math.sin(seq / 500));
    for (let from = 1; from <= N; from += 9_999) {
      await store.ingestMetrics('r1', checked({ stream: 's', lines: lines(from, Math.min(N, from + 9_998), 'wave', f) }));
    }
    await store.ingestMetrics('r1', checked({ stream: 't', lines: lines(1, 300, 'short', (s) => (s === 150 ? 99 : 0)) }));
    await store.ingestMetrics('r1', checked({ stream: 'u', lines: lines(1, 5_000, 'label', (s) => `epoch ${s}`) }));
  });
  afterAll(() => cleanup());

  test.each([2, 10, 500, 2_000, 10_000])('asking for at most %i points gets at most that many, in order, spikes kept', async (maxPoints) => {
    const h = (await store.metricHistory('r1', 'wave', { maxPoints }))!;
    expect(h.downsampled).toBe(true);
    expect(h.count).toBe(N);
    expect(h.points.length).toBeLessThanOrEqual(maxPoints);
    const idx = h.points.map((p) => p.index);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    if (maxPoints >= 10) {
      expect(h.points.map((p) => p.value)).toContain(1000);
      expect(h.points.map((p) => p.value)).toContain(-1000);
      expect(idx[0]).toBe(0);
      expect(idx[idx.length - 1]).toBe(N - 1);
    }
  });

  test('a short series is downsampled from its points and keeps its spike', async () => {
    const h = (await store.metricHistory('r1', 'short', { maxPoints: 20 }))!;
    expect(h.points.length).toBeLessThanOrEqual(20);
    expect(h.points.find((p) => p.value === 99)).toMatchObject({ index: 149, step: 150 });
  });

  test('a series no longer than maxPoints comes back whole', async () => {
    const h = (await store.metricHistory('r1', 'short', { maxPoints: 300 }))!;
    expect(h.downsampled).toBe(false);
    expect(h.points).toHaveLength(300);
  });

  test('non-numeric series are thinned evenly within maxPoints', async () => {
    const h = (await store.metricHistory('r1', 'label', { maxPoints: 100 }))!;
    expect(h.points.length).toBeLessThanOrEqual(100);
    expect(h.points[0].value).toBe('epoch 1');
  });

  test('raw paging walks the whole series through nextOffset, each point once', async () => {
    let offset: number | null = 0;
    let seen = 0;
    let pages = 0;
    while (offset !== null) {
      const h: Awaited<ReturnType<typeof store.metricHistory>> = await store.metricHistory('r1', 'wave', { offset, limit: 30_000 });
      expect(h!.points[0].index).toBe(seen);
      seen += h!.points.length;
      offset = h!.nextOffset;
      pages++;
    }
    expect(seen).toBe(N);
    expect(pages).toBe(4);
  });
});
