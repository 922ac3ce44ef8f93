/**
 * What describes a run beside its metrics, over SQLite: its params and tags (read in bulk for a
 * page of runs), and what people change: name, note, tags, deleted or not.
 */
import type Database from 'better-sqlite3';
import { E, type ParamValue, type RunPatch, setOwn, tagText } from '../protocol';
import { paramValue } from './metric-codec';

type ParamRow = { run_id: string; key: string; kind: string; text: string };
type TagRow = { run_id: string; key: string; value: string };

export interface RunMeta {
  params: Record<string, ParamValue>;
  tags: Record<string, string>;
}

export class SqliteRunMeta {
  constructor(private readonly db: Database.Database) {}

  /** Params and tags of each of `ids`, in two queries whatever their number. */
  of(ids: string[]): Map<string, RunMeta> {
    const out = new Map<string, RunMeta>(ids.map((id) => [id, { params: {}, tags: {} }]));
    if (ids.length === 0) return out;
    // One statement per chunk: SQLite binds at most 32,766 values.
    for (let i = 0; i < ids.length; i += 10_000) {
      const chunk = ids.slice(i, i + 10_000);
      const marks = chunk.map(() => '?').join(', ');
      for (const p of this.db.prepare(`SELECT run_id, key, kind, text FROM params WHERE run_id IN (${marks}) ORDER BY key`).all(...chunk) as ParamRow[]) {
        setOwn(out.get(p.run_id)!.params, p.key, paramValue(p.kind, p.text));
      }
      for (const t of this.db.prepare(`SELECT run_id, key, value FROM tags WHERE run_id IN (${marks}) ORDER BY key`).all(...chunk) as TagRow[]) {
        setOwn(out.get(t.run_id)!.tags, t.key, t.value);
      }
    }
    return out;
  }

  /** In the caller's transaction. */
  patch(id: string, patch: RunPatch): void {
    if (patch.name !== undefined) this.db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(patch.name, id);
    if (patch.note !== undefined) this.db.prepare('UPDATE runs SET note = ? WHERE id = ?').run(patch.note, id);
    for (const [key, raw] of Object.entries(patch.tags ?? {})) {
      const value = tagText(raw);
      if (value === undefined) throw E.invalidField(`body.tags.${key}`, 'must be a string, number, boolean or null');
      if (value === null) this.db.prepare('DELETE FROM tags WHERE run_id = ? AND key = ?').run(id, key);
      else this.db.prepare('INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value').run(id, key, value);
    }
  }

  /** Deleted now, or restored (null). A run deleted twice keeps its first deletion time. */
  setDeleted(id: string, deleted: boolean): void {
    if (deleted) this.db.prepare('UPDATE runs SET deleted_time = coalesce(deleted_time, ?) WHERE id = ?').run(new Date().toISOString(), id);
    else this.db.prepare('UPDATE runs SET deleted_time = NULL WHERE id = ?').run(id);
  }
}
