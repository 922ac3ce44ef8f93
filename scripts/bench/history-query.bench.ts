/**
 * history-query: p50 latency of fetching a 1,000,000-point metric downsampled to 2,000 points
 * over HTTP, beside fetching a 2,000-point metric raw (the same number of points on the wire, no
 * downsampling) in the same run.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { createApiClient } from '../../src/http/api-client';
import { createLogger } from '../../src/log/logger';
import type { MetricHistory, WireLine } from '../../src/protocol';
import { checkJsonBatch } from '../../src/service/json-batch';
import { startService } from '../../src/service/server';
import { settings } from '../../config';
import { Benchmark, percentile, ratio } from './harness';

const POINTS = 1_000_000;
const MAX_POINTS = 2_000;
const ROUNDS = 40;

export const benchmark: Benchmark = {
  name: 'history-query',
  description: `p50 ms to fetch a ${POINTS.toLocaleString('en-US')}-point metric downsampled to ${MAX_POINTS} points over HTTP`,
  run: () => historyQuery('history-query'),
};

/** The same measure over the store `db` names (default: SQLite in a temp folder). */
export async function historyQuery(name: string, db?: string, storeLabel = 'SQLite') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-history-'));
  const service = await startService({ host: '127.0.0.1', port: 0, dataDir: dir, db, log: createLogger('service', 'error') });
  const api = createApiClient({ baseUrl: service.url });
  try {
    // Setup goes straight to the store: only the query is measured.
    await service.store.upsertRun('bench', {});
    const BATCH = 50_000;
    for (let first = 1; first <= POINTS; first += BATCH) {
      const lines: WireLine[] = [];
      for (let seq = first; seq < first + BATCH; seq++) {
        const metrics: Record<string, number> = { big: Math.sin(seq / 5000) + (seq === 777_777 ? 50 : 0) };
        if (seq <= MAX_POINTS) metrics.small = Math.cos(seq / 50);
        lines.push({ seq, time: 1_700_000_000 + seq, step: seq, metrics });
      }
      await service.store.ingestMetrics('bench', checkJsonBatch({ stream: 'spool', lines }, settings.limits));
    }
    const time = async (url: string, params: Record<string, number>, expectPoints: number) => {
      const samples: number[] = [];
      for (let i = 0; i < ROUNDS + 3; i++) {
        const start = process.hrtime.bigint();
        const { data } = await api.get<MetricHistory>(url, { params });
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (data.points.length > expectPoints || data.points.length < expectPoints * 0.9) throw new Error(`${url}: got ${data.points.length} points`);
        if (i >= 3) samples.push(ms); // the first rounds warm caches and the JIT
      }
      return percentile(samples.sort((a, b) => a - b), 50);
    };
    const value = await time('/runs/bench/metrics/big', { maxPoints: MAX_POINTS }, MAX_POINTS);
    const baseline = await time('/runs/bench/metrics/small', { limit: MAX_POINTS }, MAX_POINTS);
    return [
      {
        name,
        unit: 'ms (p50)',
        value: Number(value.toFixed(2)),
        baseline: Number(baseline.toFixed(2)),
        ratio: ratio(value, baseline),
        aim: 'value < 100',
        baselineLabel: `a ${MAX_POINTS}-point metric fetched raw`,
        notes: `${storeLabel}; ${ROUNDS} rounds after 3 warm-ups, in-process service on 127.0.0.1:0; ratio = downsampled/raw (1 means downsampling costs nothing extra)`,
      },
    ];
  } finally {
    (api.defaults.httpAgent as { destroy(): void }).destroy();
    await service.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
