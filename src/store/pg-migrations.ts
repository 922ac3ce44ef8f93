/**
 * PostgreSQL's schema, in versioned steps recorded in outpost_schema. They run at start under an
 * advisory lock, so replicas starting together migrate once, each step in its own transaction; a
 * newer outpost opens an older database, an older one refuses a newer. Append; never edit a
 * released step. Text that filters and sorts compare is COLLATE "C": by code point, as SQLite does.
 */
import type { Pool } from 'pg';
import { E } from '../protocol';

export const PG_MIGRATIONS: readonly string[] = [
  // 1: everything SQLite's first five steps made
  `
  CREATE TABLE experiments (
    id bigserial PRIMARY KEY,
    name text COLLATE "C" NOT NULL UNIQUE,
    created_time text NOT NULL
  );
  CREATE TABLE runs (
    id text COLLATE "C" PRIMARY KEY,
    -- the order runs were made in: the last tie-break of every sort, as SQLite's rowid
    n bigserial NOT NULL UNIQUE,
    experiment_id bigint NOT NULL REFERENCES experiments(id),
    name text COLLATE "C" NOT NULL,
    status text COLLATE "C" NOT NULL,
    exit_code integer,
    start_time text COLLATE "C" NOT NULL,
    end_time text COLLATE "C",
    command text,
    cwd text,
    host text,
    git_commit text,
    git_dirty boolean,
    rejected_lines integer NOT NULL DEFAULT 0,
    note text,
    deleted_time text COLLATE "C"
  );
  -- the run list and the last run: newest first among the runs not deleted
  CREATE INDEX runs_by_start ON runs (start_time DESC, n DESC) WHERE deleted_time IS NULL;
  CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time DESC, n DESC);
  CREATE INDEX runs_by_deleted ON runs (deleted_time) WHERE deleted_time IS NOT NULL;
  CREATE TABLE streams (
    id bigserial PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    name text NOT NULL,
    file text,
    acked_seq bigint NOT NULL DEFAULT 0,
    UNIQUE (run_id, name)
  );
  -- last_kind says which of last_num and last_text holds the last value (metric-codec.ts KIND)
  CREATE TABLE series (
    id bigserial PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    name text COLLATE "C" NOT NULL,
    type text NOT NULL,
    count bigint NOT NULL DEFAULT 0,
    last_kind smallint,
    last_num double precision,
    last_text text COLLATE "C",
    last_step bigint,
    min_value double precision,
    max_value double precision,
    UNIQUE (run_id, name)
  );
  CREATE INDEX series_by_last_num ON series (name, last_num);
  CREATE INDEX series_by_last_text ON series (name, last_text);
  CREATE INDEX series_by_min ON series (name, min_value);
  CREATE INDEX series_by_max ON series (name, max_value);
  -- a history is a range of this primary key
  CREATE TABLE points (
    series_id bigint NOT NULL,
    idx integer NOT NULL,
    stream_id bigint NOT NULL,
    seq bigint NOT NULL,
    step bigint,
    time double precision NOT NULL,
    kind smallint NOT NULL,
    num double precision,
    text text,
    PRIMARY KEY (series_id, idx)
  );
  CREATE TABLE point_blocks (
    series_id bigint NOT NULL,
    block integer NOT NULL,
    min_idx integer NOT NULL,
    min_value double precision NOT NULL,
    max_idx integer NOT NULL,
    max_value double precision NOT NULL,
    PRIMARY KEY (series_id, block)
  );
  CREATE TABLE rejected (
    id bigserial PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL,
    stream_id bigint NOT NULL,
    seq bigint NOT NULL,
    reason text NOT NULL,
    time double precision NOT NULL
  );
  CREATE INDEX rejected_by_run ON rejected (run_id, id);
  CREATE TABLE events (
    id bigserial PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    time text NOT NULL,
    kind text NOT NULL,
    path text,
    message text NOT NULL
  );
  CREATE INDEX events_by_run ON events (run_id, id);
  CREATE TABLE artifact_versions (
    id bigserial PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    path text COLLATE "C" NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL,
    time text NOT NULL,
    deleted boolean NOT NULL DEFAULT false
  );
  CREATE INDEX artifact_versions_by_path ON artifact_versions (run_id, path, id);
  CREATE INDEX artifact_versions_by_sha ON artifact_versions (sha256);
  CREATE TABLE inline_blobs (
    sha256 text PRIMARY KEY,
    data bytea NOT NULL
  );
  CREATE TABLE assets (
    id bigserial PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    source_run text NOT NULL,
    prefix text NOT NULL,
    created_time text NOT NULL,
    UNIQUE (name, version)
  );
  CREATE TABLE asset_files (
    asset_id bigint NOT NULL REFERENCES assets(id),
    path text COLLATE "C" NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL,
    PRIMARY KEY (asset_id, path)
  );
  CREATE INDEX asset_files_by_sha ON asset_files (sha256);
  CREATE TABLE params (
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    key text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    num double precision,
    text text COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, key)
  );
  CREATE INDEX params_by_number ON params (key, num);
  CREATE INDEX params_by_text ON params (key, text);
  CREATE TABLE tags (
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    key text COLLATE "C" NOT NULL,
    value text COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, key)
  );
  CREATE INDEX tags_by_value ON tags (key, value);
  `,
  // 2: which source wrote a series first (null: the run's spool): another source's values of
  // that name go to a series of their own (SQLite's step 7)
  `
  ALTER TABLE series ADD COLUMN source text COLLATE "C";
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** The advisory lock held while migrating ("outpo" in ASCII). */
const MIGRATION_LOCK = 0x6f7574706f;

/** Brings the database up to `target` (default: the newest), once however many replicas start together. */
export async function migratePg(pool: Pool, target = PG_SCHEMA_VERSION): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS outpost_schema (version integer NOT NULL)');
      const rows = (await client.query<{ version: number }>('SELECT version FROM outpost_schema')).rows;
      const current = rows[0]?.version ?? 0;
      if (current > PG_SCHEMA_VERSION) throw E.storeTooNew(current, PG_SCHEMA_VERSION);
      for (let v = current; v < target; v++) {
        await client.query('BEGIN');
        try {
          await client.query(PG_MIGRATIONS[v]);
          await client.query('DELETE FROM outpost_schema');
          await client.query('INSERT INTO outpost_schema (version) VALUES ($1)', [v + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
      return Math.max(current, target);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
