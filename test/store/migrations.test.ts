import Database from 'better-sqlite3';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { openSqliteStore } from '../../src/store/open-store';
import { DB_FILE } from '../../src/store/sqlite-store';
import { SCHEMA_VERSION, migrate } from '../../src/store/sqlite-migrations';
import pg from 'pg';
import { migratePg } from '../../src/store/pg-migrations';
import { PgStore } from '../../src/store/pg-store';
import { FolderBlobStore } from '../../src/store/folder-blob-store';
import { checked, lines, pgCluster } from './store-fixture';

describe('schema migrations', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-migrate-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A store as the first release wrote it: schema version 1, with a run, a metric and an artifact. */
  function writeVersion1Store(): void {
    const db = new Database(path.join(dir, DB_FILE));
    expect(migrate(db, 1)).toBe(1);
    db.exec(`
      INSERT INTO experiments (id, name, created_time) VALUES (1, 'mnist', '2024-01-01T00:00:00.000Z');
      INSERT INTO runs (id, experiment_id, name, status, exit_code, start_time, end_time, command, host, git_commit, rejected_lines)
        VALUES ('old-run', 1, 'baseline', 'completed', 0, '2024-01-01T00:00:00.000Z', '2024-01-01T01:00:00.000Z', 'python train.py', 'gpu1', 'abc123', 0);
      INSERT INTO streams (id, run_id, name, file, acked_seq) VALUES (1, 'old-run', 's', 'metrics.jsonl', 2);
      INSERT INTO series (id, run_id, name, type, count, last_kind, last_value, last_step) VALUES (1, 'old-run', 'loss', 'float', 2, 1, 0.25, 2);
      INSERT INTO points (series_id, idx, stream_id, seq, step, time, kind, value) VALUES
        (1, 0, 1, 1, 1, 1704067200, 1, 0.5), (1, 1, 1, 2, 2, 1704067201, 1, 0.25);
      INSERT INTO point_blocks (series_id, block, min_idx, min_value, max_idx, max_value) VALUES (1, 0, 1, 0.25, 0, 0.5);
      INSERT INTO artifact_versions (run_id, path, size, sha256, time) VALUES ('old-run', 'outputs/model.pt', 3, '${'a'.repeat(64)}', '2024-01-01T00:30:00.000Z');
    `);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    db.close();
  }

  test('a store at schema version 1 opens with its data intact and is brought to the current version', async () => {
    writeVersion1Store();
    const store = await openSqliteStore(dir);
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const run = (await store.getRun('old-run'))!;
      expect(run).toMatchObject({ experiment: 'mnist', name: 'baseline', status: 'completed', exitCode: 0, command: 'python train.py', host: 'gpu1', gitCommit: 'abc123' });
      expect(run.cwd).toBeNull();
      expect(run.gitDirty).toBeNull();
      expect(run.metrics.loss).toEqual({ type: 'float', count: 2, last: 0.25, lastStep: 2 });
      expect(run.artifacts).toEqual([{ path: 'outputs/model.pt', size: 3, sha256: 'a'.repeat(64), time: '2024-01-01T00:30:00.000Z', versions: 1 }]);
      expect((await store.metricHistory('old-run', 'loss', {}))!.points.map((p) => p.value)).toEqual([0.5, 0.25]);
    } finally {
      await store.close();
    }
  });

  test('a migrated store keeps ingesting where it stopped, and the newer tables work', async () => {
    writeVersion1Store();
    const store = await openSqliteStore(dir);
    try {
      const ack = await store.ingestMetrics('old-run', checked({ stream: 's', lines: lines(1, 4, 'loss', (s) => s / 10) }));
      expect(ack).toMatchObject({ ackedSeq: 4, stored: 2, skipped: 2 });
      expect((await store.metricHistory('old-run', 'loss', {}))!.points.map((p) => p.value)).toEqual([0.5, 0.25, 0.3, 0.4]);
      await store.recordEvent('old-run', { kind: 'warning', message: 'migrated' });
      expect(await store.promote({ run: 'old-run', prefix: 'outputs', name: 'model' })).toMatchObject({ name: 'model', version: 1 });
      expect((await store.getRun('old-run'))!.events).toMatchObject([{ kind: 'warning', message: 'migrated' }]);
    } finally {
      await store.close();
    }
  });

  test('an old run gets no params, tags or note, and the min and max of its metrics from its points, so filters and sorts find it', async () => {
    writeVersion1Store();
    const store = await openSqliteStore(dir);
    try {
      expect(await store.getRun('old-run')).toMatchObject({ params: {}, tags: {}, note: null, deleted: false, deletedTime: null });
      const minOf = (cmp: '<' | '>', value: number) => store.listRuns({ filter: { op: 'compare', field: { kind: 'metric', name: 'loss', agg: 'min' }, cmp, value } });
      expect((await minOf('<', 0.3)).map((r) => r.id)).toEqual(['old-run']);
      expect(await minOf('>', 0.3)).toEqual([]);
      const maxOf = await store.listRuns({ filter: { op: 'compare', field: { kind: 'metric', name: 'loss', agg: 'max' }, cmp: '=', value: 0.5 } });
      expect(maxOf.map((r) => r.id)).toEqual(['old-run']);
      await store.patchRun('old-run', { tags: { team: 'vision' }, note: 'from the first release' });
      expect(await store.getRun('old-run')).toMatchObject({ tags: { team: 'vision' }, note: 'from the first release' });
    } finally {
      await store.close();
    }
  });

  test('opening a second time runs no migration again', async () => {
    writeVersion1Store();
    await (await openSqliteStore(dir)).close();
    const store = await openSqliteStore(dir);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((await store.listRuns()).map((r) => r.id)).toEqual(['old-run']);
    await store.close();
  });

  test('a store newer than this outpost is refused with a message saying so', () => {
    const db = new Database(path.join(dir, DB_FILE));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    return expect(openSqliteStore(dir)).rejects.toThrow(/newer than this outpost knows/);
  });

  test('a store at schema version 5 gets the deleted runs in an index of their own, and finds them as before', async () => {
    const db = new Database(path.join(dir, DB_FILE));
    expect(migrate(db, 5)).toBe(5);
    db.exec(`
      INSERT INTO experiments (id, name, created_time) VALUES (1, 'mnist', '2024-01-01T00:00:00.000Z');
      INSERT INTO runs (id, experiment_id, name, status, start_time, deleted_time) VALUES
        ('kept', 1, 'kept', 'completed', '2024-01-01T00:00:00.000Z', NULL),
        ('gone', 1, 'gone', 'completed', '2024-01-02T00:00:00.000Z', '2024-02-01T00:00:00.000Z');
    `);
    db.close();
    const store = await openSqliteStore(dir);
    try {
      const indexes = store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs'`).pluck().all();
      expect(indexes).toContain('runs_deleted');
      expect(indexes).not.toContain('runs_by_deleted');
      expect((await store.listRuns({ deleted: true })).map((r) => r.id)).toEqual(['gone']);
      expect((await store.listRuns()).map((r) => r.id)).toEqual(['kept']);
      await store.deleteRun('kept');
      expect((await store.listRuns({ deleted: true })).map((r) => r.id)).toEqual(['gone', 'kept']);
      expect(await store.countRuns({ deleted: true })).toBe(2);
    } finally {
      await store.close();
    }
  });

  test('a store at schema version 6 keeps its series as the spool\'s: a source naming one later gets a series of its own', async () => {
    const db = new Database(path.join(dir, DB_FILE));
    expect(migrate(db, 6)).toBe(6);
    db.exec(`
      INSERT INTO experiments (id, name, created_time) VALUES (1, 'mnist', '2024-01-01T00:00:00.000Z');
      INSERT INTO runs (id, experiment_id, name, status, start_time) VALUES ('old', 1, 'old', 'running', '2024-01-01T00:00:00.000Z');
      INSERT INTO series (run_id, name, type, count) VALUES ('old', 'loss', 'float', 0);
    `);
    db.close();
    const store = await openSqliteStore(dir);
    try {
      await store.ingestMetrics('old', checked({ stream: 'tb', source: 'tensorboard runs', lines: lines(1, 2) }));
      await store.ingestMetrics('old', checked({ stream: 'spool', lines: lines(1, 3) }));
      const info = (await store.getRun('old'))!;
      expect(Object.keys(info.metrics).sort()).toEqual(['loss', 'loss (tensorboard runs)']);
      expect((await store.metricHistory('old', 'loss', {}))!.count).toBe(3);
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL schema migrations', () => {
  test('a database at schema version 1 is brought forward: its series stay the spool\'s, and a source naming one gets its own', async () => {
    const cluster = await pgCluster();
    const url = await cluster.createDatabase(`migrate_${process.pid}`);
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      expect(await migratePg(pool, 1)).toBe(1);
      await pool.query(`INSERT INTO experiments (name, created_time) VALUES ('e', '2024-01-01T00:00:00.000Z')`);
      await pool.query(`INSERT INTO runs (id, experiment_id, name, status, start_time) SELECT 'old', id, 'old', 'running', '2024-01-01T00:00:00.000Z' FROM experiments`);
      await pool.query(`INSERT INTO series (run_id, name, type) VALUES ('old', 'loss', 'float')`);
    } finally {
      await pool.end();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-migrate-pg-'));
    const store = await PgStore.open(url, new FolderBlobStore(dir));
    try {
      expect(cluster.sql('SELECT version FROM outpost_schema', `migrate_${process.pid}`).trim()).toBe('2');
      await store.ingestMetrics('old', checked({ stream: 'tb', source: 'tensorboard runs', lines: lines(1, 2) }));
      await store.ingestMetrics('old', checked({ stream: 'spool', lines: lines(1, 3) }));
      const info = (await store.getRun('old'))!;
      expect(Object.keys(info.metrics).sort()).toEqual(['loss', 'loss (tensorboard runs)']);
      expect((await store.metricHistory('old', 'loss', {}))!.count).toBe(3);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
