/**
 * Values computed from the database, kept until it next changes: a change by this connection
 * moves total_changes(), a commit by any other moves PRAGMA data_version. At most `entries` are
 * kept, the least recently used dropped first; 0 keeps none.
 */
import type Database from 'better-sqlite3';

export class ChangeCache<T> {
  private readonly values = new Map<string, T>();
  private version = '';
  private readonly changes: Database.Statement;
  private readonly dataVersion: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly entries: number,
  ) {
    this.changes = db.prepare('SELECT total_changes()').pluck();
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  get(key: string, compute: () => T): T {
    // Inside a transaction a value may be one that a rollback takes back: never kept.
    if (this.entries === 0 || this.db.inTransaction) return compute();
    const version = `${this.dataVersion.get() as number}:${this.changes.get() as number}`;
    if (version !== this.version) {
      this.values.clear();
      this.version = version;
    }
    if (this.values.has(key)) {
      const hit = this.values.get(key)!;
      // Map keeps insertion order: re-inserting makes it the most recently used.
      this.values.delete(key);
      this.values.set(key, hit);
      return hit;
    }
    const value = compute();
    this.values.set(key, value);
    if (this.values.size > this.entries) this.values.delete(this.values.keys().next().value!);
    return value;
  }
}
