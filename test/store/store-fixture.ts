/** A fresh SqliteStore in a temp folder, removed afterwards. */
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { MetricBatch, MetricValue, WireLine } from '../../src/protocol';
import type { CheckedBatch } from '../../src/store/store';
import { SqliteStore } from '../../src/store/sqlite-store';

export async function openTempStore(): Promise<{ store: SqliteStore; dir: string; cleanup(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-store-'));
  const store = await SqliteStore.open(dir);
  return {
    store,
    dir,
    async cleanup() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Lines seq from..to, each one metric `name` whose value is f(seq). */
export function lines(from: number, to: number, name = 'loss', f: (seq: number) => MetricValue = (s) => s): WireLine[] {
  const out: WireLine[] = [];
  for (let seq = from; seq <= to; seq++) out.push({ seq, time: 1_700_000_000 + seq, step: seq, metrics: { [name]: f(seq) } });
  return out;
}

/**
 * A batch as the service hands it to the store once checked (src/service/json-batch.ts checks
 * the JSON form): the store's tests give it well-formed batches and test what it stores.
 */
export function checked(batch: MetricBatch): CheckedBatch {
  const first = batch.lines[0]?.seq ?? 1;
  const last = batch.lines[batch.lines.length - 1]?.seq ?? first - 1;
  return { ...batch, firstSeq: first, lastSeq: last } as CheckedBatch;
}
