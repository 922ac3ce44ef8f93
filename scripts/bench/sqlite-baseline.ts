/** The baseline for metric throughput: the same rows inserted straight into SQLite, no HTTP, no agent. */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { openSqliteStore } from '../../src/store/open-store';

/** Inserts `lines` numeric points into a fresh store's points table, `batch` per transaction; lines/s. */
export async function straightSqliteInsert(lines: number, batch = 10_000): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-sqlite-'));
  const store = await openSqliteStore(dir);
  try {
    await store.upsertRun('baseline', {});
    const db = store.db;
    const seriesId = Number(db.prepare(`INSERT INTO series (run_id, name, type) VALUES ('baseline', 'i', 'float')`).run().lastInsertRowid);
    const insert = db.prepare('INSERT INTO points (series_id, idx, stream_id, seq, step, time, kind, value) VALUES (?, ?, 1, ?, ?, ?, 1, ?)');
    const tx = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(seriesId, i, i + 1, i, 1764000000 + i / 1000, i * 0.5);
    });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < lines; i += batch) tx(i, Math.min(lines, i + batch));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return lines / seconds;
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
