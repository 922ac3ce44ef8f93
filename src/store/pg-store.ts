/**
 * The Store on PostgreSQL, for a team: several `outpost server` replicas on one database and one
 * blob store. Nothing is cached between calls. Read-then-write steps hold a row lock (a stream, a
 * series, a run) or a transaction-scoped advisory lock (an artifact path, a blob, an asset name, a
 * run's params), so replicas interleave safely; a transaction that meets a serialization failure
 * or a deadlock is tried again (service.pgRetries). A lost connection is OUTPOST_ERR_UNAVAILABLE
 * (503, Retry-After): clients try again, and idempotent ingest makes that safe.
 */
import pg from 'pg';
import type { PoolClient } from 'pg';
import { Readable } from 'stream';
import { settings } from '../../config';
import {
  ArtifactInfo,
  AssetSummary,
  AssetVersion,
  E,
  MetricHistory,
  NdjsonBatchAck,
  OutpostError,
  PromoteRequest,
  PurgeRequest,
  PurgeResult,
  RecordEvent,
  RunInfo,
  RunPatch,
  RunSummary,
  RunUpsert,
  setOwn,
  tagText,
  UploadOpenRequest,
  UploadState,
} from '../protocol';
import { type ArtifactUpload, type ReceivedBlob, receiveUpload } from './artifact-upload';
import { ResumableUploads } from './resumable-uploads';
import type { BlobStore, ByteRange } from './blob-store';
import { KIND, paramValue } from './metric-codec';
import { LOCK, PgMetrics, pgValue, type Queryable } from './pg-metrics';
import { migratePg } from './pg-migrations';
import { compilePgRunQuery, numbered } from './pg-run-query';
import type { RunQuery } from './run-query';
import { storageFull } from './storage-full';
import type { ArtifactBlobRef, CheckedBatch, ExperimentSummary, HistoryQuery, PutArtifactResult, Store } from './store';
import { RUN_COLUMNS, type RunRow as RunRowOf, summaryOf } from './run-row';

const REJECTED_SHOWN = 100;

type RunRow = RunRowOf<boolean>;

// int8 and numeric as JavaScript numbers: counts, ids and sequence numbers stay far below 2^53.
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
/** The database is down, restarting or unreachable: say so, with a Retry-After. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300']);

/** An error of node-postgres said in outpost's words, when it has some. */
export function pgError(err: unknown, where: string): unknown {
  if (err instanceof OutpostError) return err;
  const code = (err as { code?: string } | null)?.code;
  const message = (err as Error | null)?.message ?? String(err);
  if ((code && UNREACHABLE.has(code)) || /Connection terminated|connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message)) {
    return E.storeUnavailable(`${where}: ${code ?? message}`);
  }
  return storageFull(err, where) ?? err;
}

export class PgStore implements Store {
  private readonly metrics: PgMetrics;
  private readonly db: Queryable;
  private readonly uploads: ResumableUploads;

  private constructor(
    readonly pool: pg.Pool,
    private readonly blobs: BlobStore,
    /** The database as it may be named in messages (no password). */
    readonly where: string,
  ) {
    this.db = { query: (sql, args) => this.query(sql, args) };
    this.metrics = new PgMetrics((fn) => this.tx(fn), this.db, settings.limits.maxNameChars);
    this.uploads = new ResumableUploads(blobs);
  }

  /** Connects (a pool of service.pgPoolSize) and migrates, once however many replicas start together. */
  static async open(url: string, blobs: BlobStore, where = 'the PostgreSQL database'): Promise<PgStore> {
    const pool = new pg.Pool({ connectionString: url, max: settings.service.pgPoolSize, types: TYPES });
    // An idle connection the server dropped (a restart): the next query opens another.
    pool.on('error', () => undefined);
    try {
      await migratePg(pool);
    } catch (err) {
      await pool.end();
      throw pgError(err, where);
    }
    return new PgStore(pool, blobs, where);
  }

  private async query<R>(sql: string, args?: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query(sql, args)).rows as R[];
    } catch (err) {
      throw pgError(err, this.where);
    }
  }

  /** One transaction on one connection, run again on a serialization failure or a deadlock. */
  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let client: PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw pgError(err, this.where);
      }
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        const code = (err as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < settings.service.pgRetries) continue;
        throw pgError(err, this.where);
      } finally {
        client.release(broken);
      }
    }
  }

  async upsertRun(id: string, patch: RunUpsert): Promise<RunInfo> {
    await this.tx(async (c) => {
      const exists = ((await c.query('SELECT 1 FROM runs WHERE id = $1 FOR UPDATE', [id])).rowCount ?? 0) > 0;
      const experimentId = patch.experiment !== undefined || !exists ? await this.experimentId(c, patch.experiment ?? 'default') : undefined;
      if (!exists) {
        await c.query(`INSERT INTO runs (id, experiment_id, name, status, start_time) VALUES ($1, $2, $3, 'running', $4) ON CONFLICT (id) DO NOTHING`, [
          id,
          experimentId,
          patch.name ?? id,
          patch.startTime ?? new Date().toISOString(),
        ]);
      }
      const columns: Record<string, unknown> = {
        experiment_id: experimentId,
        name: patch.name,
        status: patch.status,
        exit_code: patch.exitCode,
        start_time: patch.startTime,
        end_time: patch.endTime,
        command: patch.command,
        cwd: patch.cwd,
        host: patch.host,
        git_commit: patch.gitCommit,
        git_dirty: patch.gitDirty,
        note: patch.note,
      };
      const set = Object.entries(columns).filter(([, v]) => v !== undefined);
      if (set.length) {
        // The agent registers again after a restart (outpost sync): a note edited since is kept.
        const assign = (k: string, i: number) => (k === 'note' ? `note = COALESCE(note, $${i + 2})` : `${k} = $${i + 2}`);
        await c.query(`UPDATE runs SET ${set.map(([k], i) => assign(k, i)).join(', ')} WHERE id = $1`, [id, ...set.map(([, v]) => v)]);
      }
    });
    return (await this.getRun(id))!;
  }

  private async experimentId(c: PoolClient, name: string): Promise<number> {
    await c.query('INSERT INTO experiments (name, created_time) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, new Date().toISOString()]);
    return (await c.query<{ id: number }>('SELECT id FROM experiments WHERE name = $1', [name])).rows[0].id;
  }

  async getRun(id: string): Promise<RunInfo | null> {
    const [row] = await this.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = $1`, [id]);
    return row ? this.runInfo(row) : null;
  }

  async runExists(id: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM runs WHERE id = $1', [id])).length > 0;
  }

  private async runInfo(row: RunRow): Promise<RunInfo> {
    const [series, rejected, events, all, meta] = await Promise.all([
      this.query<{ name: string; type: RunInfo['metrics'][string]['type']; count: number; last_kind: number; last_num: number | null; last_text: string | null; last_step: number | null }>(
        'SELECT name, type, count, last_kind, last_num, last_text, last_step FROM series WHERE run_id = $1 ORDER BY name',
        [row.id],
      ),
      this.query<{ stream: string; file: string | null; line: number; reason: string }>(
        `SELECT st.name AS stream, st.file, rj.seq AS line, rj.reason FROM rejected rj JOIN streams st ON st.id = rj.stream_id
           WHERE rj.run_id = $1 ORDER BY rj.id LIMIT $2`,
        [row.id, REJECTED_SHOWN],
      ),
      this.query<RunInfo['events'][number] & { path: string | null }>('SELECT time, kind, path, message FROM events WHERE run_id = $1 ORDER BY id', [row.id]),
      this.latestVersions(this.db, row.id),
      this.metaOf([row.id]),
    ]);
    const metrics: RunInfo['metrics'] = {};
    for (const s of series) {
      if (s.count === 0) continue;
      setOwn(metrics, s.name, { type: s.type, count: s.count, last: pgValue(s.last_kind, s.last_num, s.last_text), lastStep: s.last_step });
    }
    return {
      ...summaryOf(row, meta.get(row.id)!),
      exitCode: row.exit_code,
      command: row.command,
      cwd: row.cwd,
      host: row.host,
      gitCommit: row.git_commit,
      gitDirty: row.git_dirty,
      metrics,
      artifacts: all.filter((a) => !a.deleted).map(({ deleted: _d, ...a }) => a),
      deletedArtifacts: all.filter((a) => a.deleted).map((a) => a.path),
      rejectedLines: row.rejected_lines,
      rejected: rejected.map((r) => ({ stream: r.stream, file: r.file ?? '', line: r.line, reason: r.reason })),
      events: events.map((e) => (e.path === null ? { time: e.time, kind: e.kind, message: e.message } : e)),
      note: row.note,
      deletedTime: row.deleted_time,
    };
  }

  /** Params and tags of each of `ids`, in two queries whatever their number. */
  private async metaOf(ids: string[]): Promise<Map<string, { params: RunSummary['params']; tags: RunSummary['tags'] }>> {
    const out = new Map(ids.map((id) => [id, { params: {} as RunSummary['params'], tags: {} as RunSummary['tags'] }]));
    if (ids.length === 0) return out;
    const [params, tags] = await Promise.all([
      this.query<{ run_id: string; key: string; kind: string; text: string }>('SELECT run_id, key, kind, text FROM params WHERE run_id = ANY($1) ORDER BY key', [ids]),
      this.query<{ run_id: string; key: string; value: string }>('SELECT run_id, key, value FROM tags WHERE run_id = ANY($1) ORDER BY key', [ids]),
    ]);
    for (const p of params) setOwn(out.get(p.run_id)!.params, p.key, paramValue(p.kind, p.text));
    for (const t of tags) setOwn(out.get(t.run_id)!.tags, t.key, t.value);
    return out;
  }

  async lastRun(query: RunQuery = {}): Promise<RunInfo | null> {
    const [first] = await this.listRuns({ ...query, limit: 1, offset: 0 });
    return first ? this.getRun(first.id) : null;
  }

  async listRuns(query: RunQuery = {}): Promise<RunSummary[]> {
    const q = compilePgRunQuery(query);
    const sql = numbered({ sql: `SELECT ${RUN_COLUMNS} ${q.from.sql} ${q.orderBy} LIMIT ? OFFSET ?`, args: [...q.from.args, query.limit ?? null, query.offset ?? 0] });
    const rows = await this.query<RunRow>(sql.sql, sql.args);
    const meta = await this.metaOf(rows.map((r) => r.id));
    return rows.map((r) => summaryOf(r, meta.get(r.id)!));
  }

  async countRuns(query: RunQuery = {}): Promise<number> {
    const q = compilePgRunQuery({ ...query, sort: undefined });
    const sql = numbered({ sql: `SELECT count(*) AS n ${q.from.sql}`, args: q.from.args });
    return (await this.query<{ n: number }>(sql.sql, sql.args))[0].n;
  }

  async patchRun(id: string, patch: RunPatch): Promise<RunInfo> {
    await this.tx(async (c) => {
      await requireRun(c, id);
      if (patch.name !== undefined) await c.query('UPDATE runs SET name = $1 WHERE id = $2', [patch.name, id]);
      if (patch.note !== undefined) await c.query('UPDATE runs SET note = $1 WHERE id = $2', [patch.note, id]);
      for (const [key, raw] of Object.entries(patch.tags ?? {})) {
        const value = tagText(raw);
        if (value === undefined) throw E.invalidField(`body.tags.${key}`, 'must be a string, number, boolean or null');
        if (value === null) await c.query('DELETE FROM tags WHERE run_id = $1 AND key = $2', [id, key]);
        else await c.query('INSERT INTO tags (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value', [id, key, value]);
      }
    });
    return (await this.getRun(id))!;
  }

  /** Hidden from lists (soft): restorable until purged. A run deleted twice keeps its first deletion time. */
  async deleteRun(id: string): Promise<RunInfo> {
    await this.tx(async (c) => {
      await requireRun(c, id);
      await c.query('UPDATE runs SET deleted_time = coalesce(deleted_time, $1) WHERE id = $2', [new Date().toISOString(), id]);
    });
    return (await this.getRun(id))!;
  }

  async restoreRun(id: string): Promise<RunInfo> {
    await this.tx(async (c) => {
      await requireRun(c, id);
      await c.query('UPDATE runs SET deleted_time = NULL WHERE id = $1', [id]);
    });
    return (await this.getRun(id))!;
  }

  /**
   * Rows in one transaction, then each blob nothing refers to any more, under the lock an upload of
   * the same bytes takes between checking its blob and writing its version: a crash in between
   * leaves blobs nothing refers to, never a version without its bytes.
   */
  async purge(req: PurgeRequest): Promise<PurgeResult> {
    const cutoff = new Date(Date.now() - (req.olderThanSeconds ?? 0) * 1000).toISOString();
    const dryRun = req.dryRun === true;
    const doomed = await this.tx(async (c) => {
      const runs = (await c.query<{ id: string }>('SELECT id FROM runs WHERE deleted_time IS NOT NULL AND deleted_time <= $1 ORDER BY deleted_time, n FOR UPDATE', [cutoff])).rows.map(
        (r) => r.id,
      );
      if (runs.length === 0) return { runs, orphans: [] as { sha256: string; size: number; inline: boolean }[] };
      const orphans = (
        await c.query<{ sha256: string; size: number; inline: boolean }>(
          `SELECT DISTINCT v.sha256, v.size, EXISTS (SELECT 1 FROM inline_blobs i WHERE i.sha256 = v.sha256) AS inline FROM artifact_versions v
             WHERE v.run_id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM artifact_versions o WHERE o.sha256 = v.sha256 AND NOT (o.run_id = ANY($1)))
               AND NOT EXISTS (SELECT 1 FROM asset_files a WHERE a.sha256 = v.sha256)`,
          [runs],
        )
      ).rows;
      if (!dryRun) {
        const series = 'ARRAY(SELECT id FROM series WHERE run_id = ANY($1))';
        for (const sql of [
          `DELETE FROM point_blocks WHERE series_id = ANY(${series})`,
          `DELETE FROM points WHERE series_id = ANY(${series})`,
          'DELETE FROM series WHERE run_id = ANY($1)',
          'DELETE FROM rejected WHERE run_id = ANY($1)',
          'DELETE FROM streams WHERE run_id = ANY($1)',
          'DELETE FROM events WHERE run_id = ANY($1)',
          'DELETE FROM params WHERE run_id = ANY($1)',
          'DELETE FROM tags WHERE run_id = ANY($1)',
          'DELETE FROM artifact_versions WHERE run_id = ANY($1)',
          'DELETE FROM runs WHERE id = ANY($1)',
        ]) {
          await c.query(sql, [runs]);
        }
        for (const o of orphans) {
          if (!o.inline) continue;
          await lockBlob(c, o.sha256);
          await c.query(`DELETE FROM inline_blobs WHERE sha256 = $1 AND NOT ${REFERRED}`, [o.sha256]);
        }
      }
      return { runs, orphans };
    });
    let bytes = 0;
    for (const o of doomed.orphans) {
      if (!dryRun && !o.inline) {
        await this.tx(async (c) => {
          await lockBlob(c, o.sha256);
          if (!(await c.query(`SELECT ${REFERRED} AS referred`, [o.sha256])).rows[0].referred) await this.blobs.delete(o.sha256);
        });
      }
      bytes += o.size;
    }
    return { runs: doomed.runs, blobs: doomed.orphans.length, bytes, dryRun };
  }

  async lastMetrics(runIds: string[]): Promise<Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const id of runIds) out[id] = {};
    if (runIds.length === 0) return out;
    const rows = await this.query<{ run_id: string; name: string; last_kind: number; last_num: number | null; last_text: string | null }>(
      `SELECT run_id, name, last_kind, last_num, last_text FROM series WHERE run_id = ANY($1) AND count > 0 AND last_kind <> ${KIND.list} ORDER BY run_id, name`,
      [runIds],
    );
    for (const r of rows) out[r.run_id][r.name] = pgValue(r.last_kind, r.last_num, r.last_text);
    return out;
  }

  async listExperiments(): Promise<ExperimentSummary[]> {
    return this.query<ExperimentSummary>(
      `SELECT e.name, count(r.id) AS runs, max(r.start_time) AS "lastStartTime" FROM experiments e
         LEFT JOIN runs r ON r.experiment_id = e.id GROUP BY e.id, e.name ORDER BY max(r.start_time) DESC NULLS LAST, e.id`,
    );
  }

  async ingestMetrics(runId: string, batch: CheckedBatch): Promise<NdjsonBatchAck> {
    return this.metrics.ingest(runId, batch);
  }

  async metricHistory(runId: string, name: string, query: HistoryQuery): Promise<MetricHistory | null> {
    return this.metrics.history(runId, name, query, settings.limits.maxHistoryPageSize);
  }

  async recordEvent(runId: string, event: RecordEvent): Promise<void> {
    if (!(await this.runExists(runId))) throw E.runNotFound(runId);
    await this.query('INSERT INTO events (run_id, time, kind, path, message) VALUES ($1, $2, $3, $4, $5)', [
      runId,
      new Date().toISOString(),
      event.kind,
      event.path ?? null,
      event.message,
    ]);
  }

  /** A new version unless the latest one already has these bytes; numbered under the path's lock, so replicas never give one number twice. */
  async putArtifact(runId: string, artifactPath: string, upload: ArtifactUpload): Promise<PutArtifactResult> {
    if (!(await this.runExists(runId))) throw E.runNotFound(runId);
    return this.recordVersion(runId, artifactPath, await receiveUpload(upload, this.blobs, settings.service.inlineBlobBytes));
  }

  async openUpload(runId: string, req: UploadOpenRequest): Promise<UploadState> {
    if (!(await this.runExists(runId))) throw E.runNotFound(runId);
    return this.uploads.open(runId, req);
  }

  async uploadState(runId: string, uploadId: string): Promise<UploadState> {
    return this.uploads.state(runId, uploadId);
  }

  async putUploadChunk(runId: string, uploadId: string, offset: number, body: Readable, length: number): Promise<UploadState> {
    return this.uploads.putChunk(runId, uploadId, offset, body, length);
  }

  async commitUpload(runId: string, uploadId: string, sha256?: string): Promise<PutArtifactResult> {
    const { meta, blob } = await this.uploads.complete(runId, uploadId, sha256);
    return this.recordVersion(runId, meta.path, blob);
  }

  async abortUpload(runId: string, uploadId: string): Promise<void> {
    await this.uploads.abort(runId, uploadId);
  }

  private recordVersion(runId: string, artifactPath: string, blob: ReceivedBlob): Promise<PutArtifactResult> {
    return this.tx(async (c): Promise<PutArtifactResult> => {
      await requireRun(c, runId);
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, $2))', [`${runId}/${artifactPath}`, LOCK.artifactPath]);
      await lockBlob(c, blob.sha256);
      const latest = await latestVersion(c, runId, artifactPath);
      if (latest && !latest.deleted && latest.sha256 === blob.sha256) {
        return { path: artifactPath, size: latest.size, sha256: latest.sha256, time: latest.time, versions: latest.versions, unchanged: true };
      }
      if (blob.bytes) await c.query('INSERT INTO inline_blobs (sha256, data) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING', [blob.sha256, blob.bytes]);
      // Never a row without its bytes: a purge may have removed a blob identical to this one since it was put.
      else if (!(await this.blobs.exists(blob.sha256))) throw E.blobRemovedMeanwhile(artifactPath);
      const time = new Date().toISOString();
      await c.query('INSERT INTO artifact_versions (run_id, path, size, sha256, time) VALUES ($1, $2, $3, $4, $5)', [runId, artifactPath, blob.size, blob.sha256, time]);
      return { path: artifactPath, size: blob.size, sha256: blob.sha256, time, versions: (latest?.versions ?? 0) + 1, unchanged: false };
    });
  }

  async deleteArtifact(runId: string, artifactPath: string): Promise<boolean> {
    if (!(await this.runExists(runId))) throw E.runNotFound(runId);
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, $2))', [`${runId}/${artifactPath}`, LOCK.artifactPath]);
      const latest = await latestVersion(c, runId, artifactPath);
      if (!latest || latest.deleted) return false;
      await c.query('INSERT INTO artifact_versions (run_id, path, size, sha256, time, deleted) VALUES ($1, $2, $3, $4, $5, true)', [
        runId,
        artifactPath,
        latest.size,
        latest.sha256,
        new Date().toISOString(),
      ]);
      return true;
    });
  }

  private async latestVersions(db: Queryable, runId: string): Promise<(ArtifactInfo & { deleted: boolean })[]> {
    const rows = await db.query<{ path: string; size: number; sha256: string; time: string; deleted: boolean; versions: number }>(
      `SELECT v.path, v.size, v.sha256, v.time, v.deleted, c.versions FROM artifact_versions v
         JOIN (SELECT path, max(id) AS id, count(*) FILTER (WHERE NOT deleted) AS versions FROM artifact_versions WHERE run_id = $1 GROUP BY path) c ON c.id = v.id
         ORDER BY v.path`,
      [runId],
    );
    return rows.map((r) => ({ path: r.path, size: r.size, sha256: r.sha256, time: r.time, versions: r.versions, deleted: r.deleted }));
  }

  async listArtifacts(runId: string): Promise<ArtifactInfo[]> {
    if (!(await this.runExists(runId))) throw E.runNotFound(runId);
    return (await this.latestVersions(this.db, runId)).filter((a) => !a.deleted).map(({ deleted: _d, ...a }) => a);
  }

  async getArtifact(runId: string, artifactPath: string, version?: number): Promise<ArtifactBlobRef | null> {
    const rows = await this.query<{ size: number; sha256: string; time: string; deleted: boolean }>(
      'SELECT size, sha256, time, deleted FROM artifact_versions WHERE run_id = $1 AND path = $2 ORDER BY id',
      [runId, artifactPath],
    );
    const live = rows.filter((r) => !r.deleted);
    if (version !== undefined) {
      const v = live[version - 1];
      return v ? { path: artifactPath, size: v.size, sha256: v.sha256, time: v.time, version } : null;
    }
    const last = rows[rows.length - 1];
    if (!last || last.deleted) return null;
    return { path: artifactPath, size: last.size, sha256: last.sha256, time: last.time, version: live.length };
  }

  async openBlob(sha256: string, range?: ByteRange): Promise<Readable> {
    const [inline] = await this.query<{ data: Buffer }>(
      range ? 'SELECT substring(data FROM $2 FOR $3) AS data FROM inline_blobs WHERE sha256 = $1' : 'SELECT data FROM inline_blobs WHERE sha256 = $1',
      range ? [sha256, range.start + 1, range.end - range.start + 1] : [sha256],
    );
    if (inline) return Readable.from([inline.data]);
    const stream = await this.blobs.open(sha256, range);
    if (!stream) throw E.blobMissing(sha256, this.blobs.location);
    return stream;
  }

  async promote(req: PromoteRequest): Promise<AssetVersion> {
    if (!(await this.runExists(req.run))) throw E.runNotFound(req.run);
    // "outputs" and "outputs/" name the same folder: stored one way.
    const prefix = req.prefix.replace(/\/$/, '');
    return this.tx(async (c): Promise<AssetVersion> => {
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, $2))', [req.name, LOCK.asset]);
      const db: Queryable = { query: async (sql, args) => (await c.query(sql, args)).rows };
      const files = (await this.latestVersions(db, req.run)).filter((a) => !a.deleted && (prefix === '' || a.path === prefix || a.path.startsWith(`${prefix}/`)));
      if (files.length === 0) throw E.nothingToPromote(req.run, req.prefix);
      const version = ((await c.query<{ v: number | null }>('SELECT max(version) AS v FROM assets WHERE name = $1', [req.name])).rows[0].v ?? 0) + 1;
      const createdTime = new Date().toISOString();
      const assetId = (
        await c.query<{ id: number }>('INSERT INTO assets (name, version, source_run, prefix, created_time) VALUES ($1, $2, $3, $4, $5) RETURNING id', [
          req.name,
          version,
          req.run,
          prefix,
          createdTime,
        ])
      ).rows[0].id;
      await c.query('INSERT INTO asset_files (asset_id, path, size, sha256) SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::text[])', [
        assetId,
        files.map((f) => f.path),
        files.map((f) => f.size),
        files.map((f) => f.sha256),
      ]);
      return { name: req.name, version, sourceRun: req.run, prefix, createdTime, files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })) };
    });
  }

  async listAssets(): Promise<AssetSummary[]> {
    return this.query<AssetSummary>(
      `SELECT name, max(version) AS "latestVersion", count(*)::int AS versions, max(created_time) AS "updatedTime" FROM assets GROUP BY name ORDER BY name`,
    );
  }

  async getAsset(name: string): Promise<AssetVersion[] | null> {
    const rows = await this.query<Omit<AssetVersion, 'files'> & { id: number }>(
      'SELECT id, name, version, source_run AS "sourceRun", prefix, created_time AS "createdTime" FROM assets WHERE name = $1 ORDER BY version',
      [name],
    );
    if (rows.length === 0) return null;
    const files = await this.query<{ asset_id: number; path: string; size: number; sha256: string }>(
      'SELECT asset_id, path, size, sha256 FROM asset_files WHERE asset_id = ANY($1) ORDER BY asset_id, path',
      [rows.map((r) => r.id)],
    );
    return rows.map(({ id, ...r }) => ({ ...r, files: files.filter((f) => f.asset_id === id).map(({ path, size, sha256 }) => ({ path, size, sha256 })) }));
  }

  async close(): Promise<void> {
    await this.pool.end();
    await this.blobs.close();
  }
}

/** Some artifact version or asset file names the blob $1. */
const REFERRED = '(EXISTS (SELECT 1 FROM artifact_versions WHERE sha256 = $1) OR EXISTS (SELECT 1 FROM asset_files WHERE sha256 = $1))';

/** Held by an upload from checking its blob to its version row, and by a purge from checking references to removing the blob. */
async function lockBlob(c: PoolClient, sha256: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, $2))', [sha256, LOCK.blob]);
}

async function requireRun(c: PoolClient, id: string): Promise<void> {
  if (!(await c.query('SELECT 1 FROM runs WHERE id = $1', [id])).rowCount) throw E.runNotFound(id);
}

async function latestVersion(c: PoolClient, runId: string, artifactPath: string) {
  const rows = (
    await c.query<{ size: number; sha256: string; time: string; deleted: boolean; versions: number }>(
      `SELECT size, sha256, time, deleted, (SELECT count(*) FROM artifact_versions WHERE run_id = $1 AND path = $2 AND NOT deleted) AS versions
         FROM artifact_versions WHERE run_id = $1 AND path = $2 ORDER BY id DESC LIMIT 1`,
      [runId, artifactPath],
    )
  ).rows;
  return rows[0];
}
