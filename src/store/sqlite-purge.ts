/**
 * Deleted runs removed for good: their rows in every table, and the blobs that no other run's
 * artifact version nor any asset refers to (blobs are content-addressed and shared). The rows go
 * in one transaction; the blobs after it, so a crash in between leaves blobs nothing refers to,
 * never a version without its bytes.
 */
import type Database from 'better-sqlite3';
import type { PurgeResult } from '../protocol';
import type { BlobStore } from './blob-store';

export interface PurgeContext {
  db: Database.Database;
  blobs: BlobStore;
  write<T>(fn: () => T): Promise<T>;
  /** A write transaction held while `fn` awaits (SQLite's lock, taken by every process on the file). */
  writeAwaiting<T>(fn: () => Promise<T>): Promise<T>;
}

export async function purgeDeletedRuns({ db, blobs, write, writeAwaiting }: PurgeContext, olderThanSeconds: number, dryRun: boolean): Promise<PurgeResult> {
  const cutoff = new Date(Date.now() - olderThanSeconds * 1000).toISOString();
  const doomed = await write(() => {
    db.exec('CREATE TEMP TABLE IF NOT EXISTS purge_runs (id TEXT PRIMARY KEY); DELETE FROM purge_runs');
    db.prepare('INSERT INTO purge_runs SELECT id FROM runs WHERE deleted_time IS NOT NULL AND deleted_time <= ?').run(cutoff);
    const runs = db.prepare('SELECT p.id FROM purge_runs p JOIN runs r ON r.id = p.id ORDER BY r.deleted_time').pluck().all() as string[];
    // Blobs of these runs that nothing else refers to: no other run's version, no asset.
    const orphans = db
      .prepare(
        `SELECT DISTINCT v.sha256, v.size, (SELECT 1 FROM inline_blobs i WHERE i.sha256 = v.sha256) AS inline FROM artifact_versions v
           WHERE v.run_id IN (SELECT id FROM purge_runs)
             AND NOT EXISTS (SELECT 1 FROM artifact_versions o WHERE o.sha256 = v.sha256 AND o.run_id NOT IN (SELECT id FROM purge_runs))
             AND NOT EXISTS (SELECT 1 FROM asset_files a WHERE a.sha256 = v.sha256)`,
      )
      .all() as { sha256: string; size: number; inline: number | null }[];
    if (!dryRun) {
      const byRun = 'WHERE run_id IN (SELECT id FROM purge_runs)';
      db.exec(`
        DELETE FROM point_blocks WHERE series_id IN (SELECT id FROM series ${byRun});
        DELETE FROM points WHERE series_id IN (SELECT id FROM series ${byRun});
        DELETE FROM series ${byRun};
        DELETE FROM rejected ${byRun};
        DELETE FROM streams ${byRun};
        DELETE FROM events ${byRun};
        DELETE FROM params ${byRun};
        DELETE FROM tags ${byRun};
        DELETE FROM artifact_versions ${byRun};
        DELETE FROM runs WHERE id IN (SELECT id FROM purge_runs);
      `);
      const dropInline = db.prepare('DELETE FROM inline_blobs WHERE sha256 = ?');
      for (const o of orphans) if (o.inline) dropInline.run(o.sha256);
    }
    db.exec('DELETE FROM purge_runs');
    return { runs, orphans };
  });
  let bytes = 0;
  // Asked again just before each blob goes, under the lock an upload takes between checking that
  // its blob is there and writing the row naming it: an upload of the same bytes to another run
  // since refers to the blob again, and keeps it.
  const referred = db.prepare('SELECT 1 FROM artifact_versions WHERE sha256 = ? UNION ALL SELECT 1 FROM asset_files WHERE sha256 = ? LIMIT 1').pluck();
  for (const o of doomed.orphans) {
    if (!dryRun && !o.inline) {
      await writeAwaiting(async () => {
        if (!referred.get(o.sha256, o.sha256)) await blobs.delete(o.sha256);
      });
    }
    bytes += o.size;
  }
  return { runs: doomed.runs, blobs: doomed.orphans.length, bytes, dryRun };
}
