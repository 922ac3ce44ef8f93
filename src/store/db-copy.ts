/**
 * `outpost db copy`: a SQLite store copied whole into an empty PostgreSQL database, table by table
 * in one PostgreSQL transaction (all or nothing), by COPY. Ids, stream positions and version
 * numbers are kept, so agents resume against the new service where they stopped, and each
 * sequence continues after the copied rows. The blobs stay where they are (serve them with
 * --blobs), unless a blob store to copy them into is given.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { E } from '../protocol';
import type { BlobStore } from './blob-store';
import { KIND } from './metric-codec';
import { migratePg } from './pg-migrations';
import { migrate } from './sqlite-migrations';

/** Each table: PostgreSQL's columns, and the SQLite query giving them in that order. */
const TABLES: { table: string; columns: string; select: string }[] = [
  { table: 'experiments', columns: 'id, name, created_time', select: 'SELECT id, name, created_time FROM experiments ORDER BY id' },
  {
    table: 'runs',
    columns: 'id, n, experiment_id, name, status, exit_code, start_time, end_time, command, cwd, host, git_commit, git_dirty, rejected_lines, note, deleted_time',
    select: `SELECT id, rowid, experiment_id, name, status, exit_code, start_time, end_time, command, cwd, host, git_commit,
               CASE WHEN git_dirty IS NULL THEN NULL WHEN git_dirty THEN 't' ELSE 'f' END, rejected_lines, note, deleted_time FROM runs ORDER BY rowid`,
  },
  { table: 'streams', columns: 'id, run_id, name, file, acked_seq', select: 'SELECT id, run_id, name, file, acked_seq FROM streams ORDER BY id' },
  {
    table: 'series',
    columns: 'id, run_id, name, type, count, last_kind, last_num, last_text, last_step, min_value, max_value',
    select: `SELECT id, run_id, name, type, count, last_kind,
               CASE WHEN last_kind IN (${KIND.string}, ${KIND.list}) THEN NULL ELSE last_value END,
               CASE WHEN last_kind IN (${KIND.string}, ${KIND.list}) THEN last_value END, last_step, min_value, max_value FROM series ORDER BY id`,
  },
  {
    table: 'points',
    columns: 'series_id, idx, stream_id, seq, step, time, kind, num, text',
    select: `SELECT series_id, idx, stream_id, seq, step, time, kind,
               CASE WHEN kind IN (${KIND.string}, ${KIND.list}) THEN NULL ELSE value END,
               CASE WHEN kind IN (${KIND.string}, ${KIND.list}) THEN value END FROM points ORDER BY series_id, idx`,
  },
  { table: 'point_blocks', columns: 'series_id, block, min_idx, min_value, max_idx, max_value', select: 'SELECT series_id, block, min_idx, min_value, max_idx, max_value FROM point_blocks' },
  { table: 'rejected', columns: 'id, run_id, stream_id, seq, reason, time', select: 'SELECT id, run_id, stream_id, seq, reason, time FROM rejected ORDER BY id' },
  { table: 'events', columns: 'id, run_id, time, kind, path, message', select: 'SELECT id, run_id, time, kind, path, message FROM events ORDER BY id' },
  {
    table: 'artifact_versions',
    columns: 'id, run_id, path, size, sha256, time, deleted',
    select: "SELECT id, run_id, path, size, sha256, time, CASE WHEN deleted THEN 't' ELSE 'f' END FROM artifact_versions ORDER BY id",
  },
  { table: 'inline_blobs', columns: 'sha256, data', select: 'SELECT sha256, data FROM inline_blobs' },
  { table: 'assets', columns: 'id, name, version, source_run, prefix, created_time', select: 'SELECT id, name, version, source_run, prefix, created_time FROM assets ORDER BY id' },
  { table: 'asset_files', columns: 'asset_id, path, size, sha256', select: 'SELECT asset_id, path, size, sha256 FROM asset_files' },
  { table: 'params', columns: 'run_id, key, kind, num, text', select: 'SELECT run_id, key, kind, num, text FROM params' },
  { table: 'tags', columns: 'run_id, key, value', select: 'SELECT run_id, key, value FROM tags' },
];

/** The serial columns whose sequences must continue after the copied rows. */
const SEQUENCES: [table: string, column: string][] = [
  ['experiments', 'id'],
  ['runs', 'n'],
  ['streams', 'id'],
  ['series', 'id'],
  ['rejected', 'id'],
  ['events', 'id'],
  ['artifact_versions', 'id'],
  ['assets', 'id'],
];

const ROWS_PER_COPY_CHUNK = 5_000;

export interface CopyProgress {
  table: string;
  rows: number;
}

export interface CopyResult {
  tables: CopyProgress[];
  blobsCopied: number;
}

/** One value in COPY's text format. */
function field(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (Buffer.isBuffer(v)) return `\\\\x${v.toString('hex')}`;
  const s = typeof v === 'bigint' ? v.toString() : String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (ch) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[ch]!) : s;
}

/** The rows of `select` as COPY text, in chunks. */
function* copyText(rows: IterableIterator<unknown[]>, count: { n: number }): Generator<string> {
  let chunk: string[] = [];
  for (const row of rows) {
    chunk.push(`${row.map(field).join('\t')}\n`);
    count.n++;
    if (chunk.length >= ROWS_PER_COPY_CHUNK) {
      yield chunk.join('');
      chunk = [];
    }
  }
  if (chunk.length) yield chunk.join('');
}

export async function copySqliteToPg(
  sqliteFile: string,
  pgUrl: string,
  opts: { where: string; fromBlobs?: BlobStore; toBlobs?: BlobStore; onTable?: (p: CopyProgress) => void } = { where: 'the PostgreSQL database' },
): Promise<CopyResult> {
  const source = new Database(sqliteFile, { fileMustExist: true });
  const pool = new pg.Pool({ connectionString: pgUrl, max: 2 });
  pool.on('error', () => undefined);
  try {
    // An older store is brought to this outpost's schema first, as `outpost server` would.
    migrate(source);
    source.pragma('query_only = ON');
    await migratePg(pool);
    const client = await pool.connect();
    const tables: CopyProgress[] = [];
    try {
      const held = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM runs')).rows[0].n);
      if (held > 0) throw E.copyTargetNotEmpty(opts.where, held);
      await client.query('BEGIN');
      for (const t of TABLES) {
        const count = { n: 0 };
        const rows = source.prepare(t.select).raw().iterate() as IterableIterator<unknown[]>;
        await pipeline(Readable.from(copyText(rows, count)), client.query(copyFrom(`COPY ${t.table} (${t.columns}) FROM STDIN`)));
        const p = { table: t.table, rows: count.n };
        tables.push(p);
        opts.onTable?.(p);
      }
      for (const [table, column] of SEQUENCES) {
        await client.query(`SELECT setval(pg_get_serial_sequence('${table}', '${column}'), coalesce((SELECT max(${column}) FROM ${table}), 0) + 1, false)`);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    const blobsCopied = opts.fromBlobs && opts.toBlobs ? await copyBlobs(source, opts.fromBlobs, opts.toBlobs) : 0;
    return { tables, blobsCopied };
  } finally {
    source.close();
    await pool.end();
  }
}

/** Every blob a version or an asset names and that is not kept in the database, into `to` (hash checked on the way). */
async function copyBlobs(source: Database.Database, from: BlobStore, to: BlobStore): Promise<number> {
  const shas = source
    .prepare(
      `SELECT DISTINCT sha256, size FROM (SELECT sha256, size FROM artifact_versions UNION SELECT sha256, size FROM asset_files)
         WHERE sha256 NOT IN (SELECT sha256 FROM inline_blobs)`,
    )
    .raw()
    .all() as [string, number][];
  let copied = 0;
  for (const [sha256, size] of shas) {
    if (await to.exists(sha256)) continue;
    const stream = await from.open(sha256);
    if (!stream) throw E.blobMissing(sha256, from.location);
    await to.put(stream, {
      maxBytes: size,
      tooLarge: () => E.blobMissing(sha256, `${from.location} (its bytes differ from its record)`),
      verify: (b) => {
        if (b.sha256 !== sha256 || b.size !== size) throw E.blobMissing(sha256, `${from.location} (its bytes differ from its record)`);
      },
    });
    copied++;
  }
  return copied;
}

