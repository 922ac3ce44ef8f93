/**
 * Versioned schema migrations, tracked by PRAGMA user_version. Each step runs once, in its own
 * transaction, so a newer outpost opens an older store. Append; never edit a released step.
 */
import type Database from 'better-sqlite3';
import { E } from '../protocol';

export const MIGRATIONS: readonly string[] = [
  // 1: runs, metric streams and series, artifacts
  `
  CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_time TEXT NOT NULL
  );
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    start_time TEXT NOT NULL,
    end_time TEXT,
    command TEXT,
    host TEXT,
    git_commit TEXT,
    rejected_lines INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX runs_by_start ON runs(start_time DESC);
  CREATE INDEX runs_by_experiment ON runs(experiment_id, start_time DESC);
  CREATE TABLE streams (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    file TEXT,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run_id, name)
  );
  CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    last_kind INTEGER,
    last_value,
    last_step INTEGER,
    UNIQUE (run_id, name)
  );
  -- value has no type affinity: numbers stay numbers and text stays text; kind says which
  CREATE TABLE points (
    series_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    stream_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    step INTEGER,
    time REAL NOT NULL,
    kind INTEGER NOT NULL,
    value,
    PRIMARY KEY (series_id, idx)
  ) WITHOUT ROWID;
  -- min and max of each block of BLOCK_POINTS numeric points: downsampling reads these, not every point
  CREATE TABLE point_blocks (
    series_id INTEGER NOT NULL,
    block INTEGER NOT NULL,
    min_idx INTEGER NOT NULL,
    min_value REAL NOT NULL,
    max_idx INTEGER NOT NULL,
    max_value REAL NOT NULL,
    PRIMARY KEY (series_id, block)
  ) WITHOUT ROWID;
  CREATE TABLE rejected (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    stream_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    time REAL NOT NULL
  );
  CREATE INDEX rejected_by_run ON rejected(run_id, id);
  CREATE TABLE artifact_versions (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    time TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX artifact_versions_by_path ON artifact_versions(run_id, path, id);
  `,
  // 2: promoted assets
  `
  CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    source_run TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_time TEXT NOT NULL,
    UNIQUE (name, version)
  );
  CREATE TABLE asset_files (
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (asset_id, path)
  );
  `,
  // 3: run facts recorded by `outpost run`, and run events (refused files, stream resets)
  `
  ALTER TABLE runs ADD COLUMN cwd TEXT;
  ALTER TABLE runs ADD COLUMN git_dirty INTEGER;
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT,
    message TEXT NOT NULL
  );
  CREATE INDEX events_by_run ON events(run_id, id);
  `,
  // 4: small artifact bytes kept in the database, committed with their version row
  `
  CREATE TABLE inline_blobs (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL
  );
  `,
  // 5: runs people can describe, find and tidy: params, tags, a note, soft deletion; per-series
  // min and max, and indexes so that a filter or a sort on them is an index lookup
  `
  ALTER TABLE runs ADD COLUMN note TEXT;
  ALTER TABLE runs ADD COLUMN deleted_time TEXT;
  ALTER TABLE series ADD COLUMN min_value REAL;
  ALTER TABLE series ADD COLUMN max_value REAL;
  UPDATE series SET
    min_value = (SELECT min(min_value) FROM point_blocks b WHERE b.series_id = series.id),
    max_value = (SELECT max(max_value) FROM point_blocks b WHERE b.series_id = series.id);
  -- kind: number, string, boolean or list; text: the value's JSON (a string's own text); num: a number's value
  CREATE TABLE params (
    run_id TEXT NOT NULL REFERENCES runs(id),
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    num REAL,
    text TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
  ) WITHOUT ROWID;
  CREATE INDEX params_by_number ON params(key, num);
  CREATE INDEX params_by_text ON params(key, text);
  CREATE TABLE tags (
    run_id TEXT NOT NULL REFERENCES runs(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
  ) WITHOUT ROWID;
  CREATE INDEX tags_by_value ON tags(key, value);
  CREATE INDEX series_by_last ON series(name, last_value);
  CREATE INDEX series_by_min ON series(name, min_value);
  CREATE INDEX series_by_max ON series(name, max_value);
  CREATE INDEX runs_by_deleted ON runs(deleted_time);
  `,
  // 6: the deleted runs alone in their index. Nearly every run has no deletion time: an index of
  // all of them led the planner to read the runs through it and sort them all, where walking
  // runs_by_start finds a page of the newest in its first rows.
  `
  DROP INDEX runs_by_deleted;
  CREATE INDEX runs_deleted ON runs(deleted_time) WHERE deleted_time IS NOT NULL;
  `,
  // 7: which source wrote a series first (null: the run's spool): another source's values of
  // that name go to a series of their own
  `
  ALTER TABLE series ADD COLUMN source TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings `db` up to `target` (default: the newest). Refuses a store newer than this outpost. */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw E.storeTooNew(current, SCHEMA_VERSION);
  }
  for (let v = current; v < target; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return Math.max(current, target);
}
