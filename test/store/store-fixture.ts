/** A fresh SqliteStore in a temp folder, removed afterwards. */
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { MetricValue, WireLine } from '../../src/protocol';
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
