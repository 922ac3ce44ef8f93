/**
 * What describes a run beside its metrics, over SQLite: its params and tags (read in bulk for a
 * page of runs), and what people change: name, note, tags, deleted or not.
 */
import type Database from 'better-sqlite3';
import { E, type ParamValue, type RunPatch, tagText } from '../protocol';

export interface RunMeta {
  params: Record<string, ParamValue>;
  tags: Record<string, string>;
}

/**
 * Each run's params and tags as two JSON objects, for any number of runs in one statement (the ids
 * bound as one JSON array): a row per run costs far less than a row per param and tag. A param's
 * text is its JSON (a string's is itself), which json() puts in the object as it is written.
 * The keys come in order: a run's rows are read along the primary key (run_id, key), the only
 * index that starts with run_id. (An ORDER BY in the aggregate sorted them again: twice the time.)
 */
const META_SQL = `SELECT j.value,
    (SELECT json_group_object(key, CASE kind WHEN 'string' THEN text ELSE json(text) END) FROM params WHERE run_id = j.value),
    (SELECT json_group_object(key, value) FROM tags WHERE run_id = j.value)
  FROM json_each(?) j`;

export class SqliteRunMeta {
  private readonly metaOf: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.metaOf = db.prepare(META_SQL).raw();
  }

  /** Params and tags of each of `ids`. (JSON.parse makes own properties, "__proto__" included.) */
  of(ids: string[]): Map<string, RunMeta> {
    const out = new Map<string, RunMeta>();
    if (ids.length === 0) return out;
    for (const [id, params, tags] of this.metaOf.all(JSON.stringify(ids)) as [string, string, string][]) {
      out.set(id, { params: JSON.parse(params) as RunMeta['params'], tags: JSON.parse(tags) as RunMeta['tags'] });
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
