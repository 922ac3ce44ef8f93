/** The embedded Store: one SQLite file (WAL, busy timeout); artifact bytes in a BlobStore (small ones in the file). */
import Database from 'better-sqlite3';
import fs from 'fs';
import path from 'path';
import { Readable } from 'stream';
import { settings } from '../../config';
import {
  ArtifactInfo,
  AssetSummary,
  AssetVersion,
  E,
  MetricHistory,
  NdjsonBatchAck,
  setOwn,
  PromoteRequest,
  PurgeRequest,
  PurgeResult,
  RunPatch,
  RecordEvent,
  RunInfo,
  RunSummary,
  RunUpsert,
  UploadOpenRequest,
  UploadState,
} from '../protocol';
import { type ArtifactUpload, type ReceivedBlob, receiveUpload } from './artifact-upload';
import { ResumableUploads } from './resumable-uploads';
import type { BlobStore, ByteRange } from './blob-store';
import { decodeValue, KIND } from './metric-codec';
import { SqliteMetrics } from './sqlite-metrics';
import { purgeDeletedRuns } from './sqlite-purge';
import { SqliteRunMeta } from './sqlite-run-meta';
import { SqliteRunList } from './sqlite-run-list';
import type { RunQuery } from './run-query';
import { migrate } from './sqlite-migrations';
import { Serial } from './serial';
import { whileWriting } from './storage-full';
import type { ArtifactBlobRef, CheckedBatch, ExperimentSummary, HistoryQuery, PutArtifactResult, Store } from './store';
import { RUN_COLUMNS, type RunRow as RunRowOf, summaryOf } from './run-row';

export const DB_FILE = 'outpost.db';
const DB_WHERE = `the database ${DB_FILE}`;
const REJECTED_SHOWN = 100;

type RunRow = RunRowOf<number>;

/** What a list of runs gives of each. */
type SummaryRow = Pick<RunRow, 'id' | 'experiment' | 'name' | 'status' | 'start_time' | 'end_time' | 'deleted_time'>;
const SUMMARY_COLUMNS = 'r.id, e.name AS experiment, r.name, r.status, r.start_time, r.end_time, r.deleted_time';

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly metrics: SqliteMetrics;
  private readonly meta: SqliteRunMeta;
  private readonly runList: SqliteRunList;
  /** Writes one at a time on this connection (some await a blob inside their transaction). */
  private readonly serial = new Serial();
  private readonly uploads: ResumableUploads;

  private constructor(
    readonly file: string,
    private readonly blobs: BlobStore,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`busy_timeout = ${settings.service.sqliteBusyTimeoutMs}`);
    // WAL + NORMAL: a committed transaction survives a process crash (SIGKILL); only a power
    // loss may drop the last commits, never corrupt the file.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    this.metrics = new SqliteMetrics(this.db, { sliceCells: settings.service.ingestSliceCells, maxNameChars: settings.limits.maxNameChars }, (fn) => this.write(fn));
    this.meta = new SqliteRunMeta(this.db);
    this.runList = new SqliteRunList(this.db, SUMMARY_COLUMNS, {
      setRuns: settings.service.runFilterSetRuns,
      countCacheEntries: settings.service.runCountCacheEntries,
    });
    this.uploads = new ResumableUploads(blobs);
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared once per SQL text: preparing costs more than running a small statement. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** The database `file` (made if missing, migrated), its artifact bytes in `blobs`. */
  static async open(file: string, blobs: BlobStore): Promise<SqliteStore> {
    return new SqliteStore(file, blobs);
  }

  /** One write transaction; a full disk comes out as OUTPOST_ERR_STORAGE_FULL naming the database. */
  private write<T>(fn: () => T): Promise<T> {
    return this.serial.run(() => whileWriting(DB_WHERE, () => this.db.transaction(fn).immediate()));
  }

  /**
   * A write transaction that awaits a blob (its existence, its removal) while it holds SQLite's
   * lock, which every process writing this file takes: a purge cannot remove a blob between an
   * upload's check that it is there and the version row naming it. Nothing may be written before
   * the await: the connection's readers would see it uncommitted.
   */
  private writeAwaiting<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial.run(async () => {
      whileWriting(DB_WHERE, () => this.db.exec('BEGIN IMMEDIATE'));
      try {
        const result = await fn();
        whileWriting(DB_WHERE, () => this.db.exec('COMMIT'));
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async upsertRun(id: string, patch: RunUpsert): Promise<RunInfo> {
    await this.write(() => {
      const exists = this.stmt('SELECT 1 FROM runs WHERE id = ?').get(id);
      const experimentId = patch.experiment !== undefined || !exists ? this.experimentId(patch.experiment ?? 'default') : undefined;
      if (!exists) {
        this.stmt(`INSERT INTO runs (id, experiment_id, name, status, start_time) VALUES (?, ?, ?, 'running', ?)`).run(
          id,
          experimentId,
          patch.name ?? id,
          patch.startTime ?? new Date().toISOString(),
        );
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
        git_dirty: patch.gitDirty === undefined || patch.gitDirty === null ? patch.gitDirty : patch.gitDirty ? 1 : 0,
        note: patch.note,
      };
      const set = Object.entries(columns).filter(([, v]) => v !== undefined);
      if (set.length) {
        // The agent registers again after a restart (outpost sync): a note edited since is kept.
        const assign = (k: string) => (k === 'note' ? 'note = COALESCE(note, ?)' : `${k} = ?`);
        this.stmt(`UPDATE runs SET ${set.map(([k]) => assign(k)).join(', ')} WHERE id = ?`).run(...set.map(([, v]) => v), id);
      }
    });
    return (await this.getRun(id))!;
  }

  private experimentId(name: string): number {
    this.stmt('INSERT OR IGNORE INTO experiments (name, created_time) VALUES (?, ?)').run(name, new Date().toISOString());
    return this.stmt('SELECT id FROM experiments WHERE name = ?').pluck().get(name) as number;
  }

  async getRun(id: string): Promise<RunInfo | null> {
    const row = this.stmt(`SELECT ${RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?`).get(id) as RunRow | undefined;
    return row ? this.runInfo(row) : null;
  }

  async runExists(id: string): Promise<boolean> {
    return this.stmt('SELECT 1 FROM runs WHERE id = ?').get(id) !== undefined;
  }

  private runInfo(row: RunRow): RunInfo {
    const metrics: RunInfo['metrics'] = {};
    const series = this.stmt('SELECT name, type, count, last_kind, last_value, last_step FROM series WHERE run_id = ? ORDER BY name').all(row.id) as {
      name: string;
      type: RunInfo['metrics'][string]['type'];
      count: number;
      last_kind: number;
      last_value: unknown;
      last_step: number | null;
    }[];
    for (const s of series) {
      if (s.count === 0) continue;
      setOwn(metrics, s.name, { type: s.type, count: s.count, last: decodeValue(s.last_kind, s.last_value), lastStep: s.last_step });
    }
    const rejected = this.stmt(
      `SELECT st.name AS stream, st.file, rj.seq AS line, rj.reason FROM rejected rj JOIN streams st ON st.id = rj.stream_id
         WHERE rj.run_id = ? ORDER BY rj.id LIMIT ?`,
    ).all(row.id, REJECTED_SHOWN) as { stream: string; file: string | null; line: number; reason: string }[];
    const events = this.stmt('SELECT time, kind, path, message FROM events WHERE run_id = ? ORDER BY id').all(row.id) as RunInfo['events'];
    const all = this.latestVersions(row.id);
    return {
      ...summaryOf(row, this.meta.of([row.id]).get(row.id)!),
      exitCode: row.exit_code,
      command: row.command,
      cwd: row.cwd,
      host: row.host,
      gitCommit: row.git_commit,
      gitDirty: row.git_dirty === null ? null : row.git_dirty === 1,
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

  async lastRun(query: RunQuery = {}): Promise<RunInfo | null> {
    const [first] = await this.listRuns({ ...query, limit: 1, offset: 0 });
    return first ? this.getRun(first.id) : null;
  }

  /** One page of runs, filtered and sorted in SQL (src/store/sqlite-run-list.ts), with their params and tags. */
  async listRuns(query: RunQuery = {}): Promise<RunSummary[]> {
    const rows = this.runList.list<SummaryRow>(query);
    const meta = this.meta.of(rows.map((r) => r.id));
    return rows.map((r) => summaryOf(r, meta.get(r.id)!));
  }

  /** Remembered until the store changes. */
  async countRuns(query: RunQuery = {}): Promise<number> {
    return this.runList.count(query);
  }

  /** Name, note and tags, as people change them. */
  async patchRun(id: string, patch: RunPatch): Promise<RunInfo> {
    await this.write(() => {
      this.requireRun(id);
      this.meta.patch(id, patch);
    });
    return (await this.getRun(id))!;
  }

  /** Hidden from lists (soft): restorable until purged. */
  async deleteRun(id: string): Promise<RunInfo> {
    await this.write(() => {
      this.requireRun(id);
      this.meta.setDeleted(id, true);
    });
    return (await this.getRun(id))!;
  }

  async restoreRun(id: string): Promise<RunInfo> {
    await this.write(() => {
      this.requireRun(id);
      this.meta.setDeleted(id, false);
    });
    return (await this.getRun(id))!;
  }

  async purge(req: PurgeRequest): Promise<PurgeResult> {
    return purgeDeletedRuns(
      { db: this.db, blobs: this.blobs, write: (fn) => this.write(fn), writeAwaiting: (fn) => this.writeAwaiting(fn) },
      req.olderThanSeconds ?? 0,
      req.dryRun === true,
    );
  }

  async lastMetrics(runIds: string[]): Promise<Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, unknown>> = {};
    const stmt = this.stmt(`SELECT name, last_kind, last_value FROM series WHERE run_id = ? AND count > 0 AND last_kind <> ${KIND.list}`);
    for (const id of runIds) {
      const values: Record<string, unknown> = {};
      for (const r of stmt.all(id) as { name: string; last_kind: number; last_value: unknown }[]) values[r.name] = decodeValue(r.last_kind, r.last_value);
      out[id] = values;
    }
    return out;
  }

  async listExperiments(): Promise<ExperimentSummary[]> {
    return this.stmt(
      `SELECT e.name, count(r.id) AS runs, max(r.start_time) AS lastStartTime FROM experiments e
         LEFT JOIN runs r ON r.experiment_id = e.id GROUP BY e.id ORDER BY lastStartTime DESC`,
    ).all() as ExperimentSummary[];
  }

  async ingestMetrics(runId: string, batch: CheckedBatch): Promise<NdjsonBatchAck> {
    return this.metrics.ingest(runId, batch);
  }

  async metricHistory(runId: string, name: string, query: HistoryQuery): Promise<MetricHistory | null> {
    return this.metrics.history(runId, name, query, settings.limits.maxHistoryPageSize);
  }

  async recordEvent(runId: string, event: RecordEvent): Promise<void> {
    this.requireRun(runId);
    await this.write(() =>
      this.stmt('INSERT INTO events (run_id, time, kind, path, message) VALUES (?, ?, ?, ?, ?)').run(
        runId,
        new Date().toISOString(),
        event.kind,
        event.path ?? null,
        event.message,
      ),
    );
  }

  private requireRun(runId: string): void {
    if (!this.stmt('SELECT 1 FROM runs WHERE id = ?').get(runId)) {
      throw E.runNotFound(runId);
    }
  }

  /** A new version unless the latest one already has these bytes. */
  async putArtifact(runId: string, artifactPath: string, upload: ArtifactUpload): Promise<PutArtifactResult> {
    this.requireRun(runId);
    return this.recordVersion(runId, artifactPath, await receiveUpload(upload, this.blobs, settings.service.inlineBlobBytes));
  }

  private recordVersion(runId: string, artifactPath: string, blob: ReceivedBlob): Promise<PutArtifactResult> {
    return this.writeAwaiting(async (): Promise<PutArtifactResult> => {
      this.requireRun(runId);
      const latest = this.latestVersion(runId, artifactPath);
      if (latest && !latest.deleted && latest.sha256 === blob.sha256) {
        return { path: artifactPath, size: latest.size, sha256: latest.sha256, time: latest.time, versions: latest.versions, unchanged: true };
      }
      // Never a row without its bytes: a purge may have removed a blob identical to this one since it was put.
      if (!blob.bytes && !(await this.blobs.exists(blob.sha256))) throw E.blobRemovedMeanwhile(artifactPath);
      const time = new Date().toISOString();
      // Small files in the same transaction as the row naming them: no fsync per file.
      if (blob.bytes) this.stmt('INSERT OR IGNORE INTO inline_blobs (sha256, data) VALUES (?, ?)').run(blob.sha256, blob.bytes);
      this.stmt('INSERT INTO artifact_versions (run_id, path, size, sha256, time) VALUES (?, ?, ?, ?, ?)').run(
        runId,
        artifactPath,
        blob.size,
        blob.sha256,
        time,
      );
      return { path: artifactPath, size: blob.size, sha256: blob.sha256, time, versions: (latest?.versions ?? 0) + 1, unchanged: false };
    });
  }

  async openUpload(runId: string, req: UploadOpenRequest): Promise<UploadState> {
    this.requireRun(runId);
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

  async deleteArtifact(runId: string, artifactPath: string): Promise<boolean> {
    this.requireRun(runId);
    return this.write(() => {
      const latest = this.latestVersion(runId, artifactPath);
      if (!latest || latest.deleted) return false;
      this.stmt('INSERT INTO artifact_versions (run_id, path, size, sha256, time, deleted) VALUES (?, ?, ?, ?, ?, 1)').run(
        runId,
        artifactPath,
        latest.size,
        latest.sha256,
        new Date().toISOString(),
      );
      return true;
    });
  }

  private latestVersion(runId: string, artifactPath: string) {
    return this.stmt(
      `SELECT size, sha256, time, deleted, (SELECT count(*) FROM artifact_versions WHERE run_id = @run AND path = @path AND deleted = 0) AS versions
         FROM artifact_versions WHERE run_id = @run AND path = @path ORDER BY id DESC LIMIT 1`,
    ).get({ run: runId, path: artifactPath }) as { size: number; sha256: string; time: string; deleted: number; versions: number } | undefined;
  }

  private latestVersions(runId: string): (ArtifactInfo & { deleted: boolean })[] {
    const rows = this.stmt(
      `SELECT v.path, v.size, v.sha256, v.time, v.deleted, c.versions FROM artifact_versions v
         JOIN (SELECT path, max(id) AS id, sum(deleted = 0) AS versions FROM artifact_versions WHERE run_id = ? GROUP BY path) c ON c.id = v.id
         ORDER BY v.path`,
    ).all(runId) as { path: string; size: number; sha256: string; time: string; deleted: number; versions: number }[];
    return rows.map((r) => ({ path: r.path, size: r.size, sha256: r.sha256, time: r.time, versions: r.versions, deleted: r.deleted === 1 }));
  }

  async listArtifacts(runId: string): Promise<ArtifactInfo[]> {
    this.requireRun(runId);
    return this.latestVersions(runId)
      .filter((a) => !a.deleted)
      .map(({ deleted: _d, ...a }) => a);
  }

  async openBlob(sha256: string, range?: ByteRange): Promise<Readable> {
    const inline = this.stmt('SELECT data FROM inline_blobs WHERE sha256 = ?').pluck().get(sha256) as Buffer | undefined;
    if (inline) return Readable.from([range ? inline.subarray(range.start, range.end + 1) : inline]);
    const stream = await this.blobs.open(sha256, range);
    if (!stream) throw E.blobMissing(sha256, this.blobs.location);
    return stream;
  }

  /** The latest live version, or version N (1-based, counting stored versions). */
  async getArtifact(runId: string, artifactPath: string, version?: number): Promise<ArtifactBlobRef | null> {
    const rows = this.stmt('SELECT size, sha256, time, deleted FROM artifact_versions WHERE run_id = ? AND path = ? ORDER BY id').all(runId, artifactPath) as {
      size: number;
      sha256: string;
      time: string;
      deleted: number;
    }[];
    const live = rows.filter((r) => !r.deleted);
    if (version !== undefined) {
      const v = live[version - 1];
      return v ? { path: artifactPath, size: v.size, sha256: v.sha256, time: v.time, version } : null;
    }
    const last = rows[rows.length - 1];
    if (!last || last.deleted) return null;
    return { path: artifactPath, size: last.size, sha256: last.sha256, time: last.time, version: live.length };
  }

  async promote(req: PromoteRequest): Promise<AssetVersion> {
    this.requireRun(req.run);
    // "outputs" and "outputs/" name the same folder: stored one way.
    const prefix = req.prefix.replace(/\/$/, '');
    const files = (await this.listArtifacts(req.run)).filter((a) => prefix === '' || a.path === prefix || a.path.startsWith(`${prefix}/`));
    if (files.length === 0) {
      throw E.nothingToPromote(req.run, req.prefix);
    }
    return this.write((): AssetVersion => {
      const version = ((this.stmt('SELECT max(version) FROM assets WHERE name = ?').pluck().get(req.name) as number | null) ?? 0) + 1;
      const createdTime = new Date().toISOString();
      const assetId = this.stmt('INSERT INTO assets (name, version, source_run, prefix, created_time) VALUES (?, ?, ?, ?, ?)').run(
        req.name,
        version,
        req.run,
        prefix,
        createdTime,
      ).lastInsertRowid;
      const insert = this.stmt('INSERT INTO asset_files (asset_id, path, size, sha256) VALUES (?, ?, ?, ?)');
      for (const f of files) insert.run(assetId, f.path, f.size, f.sha256);
      return {
        name: req.name,
        version,
        sourceRun: req.run,
        prefix,
        createdTime,
        files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
      };
    });
  }

  async listAssets(): Promise<AssetSummary[]> {
    return this.stmt(
      `SELECT name, max(version) AS latestVersion, count(*) AS versions, max(created_time) AS updatedTime
         FROM assets GROUP BY name ORDER BY name`,
    ).all() as AssetSummary[];
  }

  async getAsset(name: string): Promise<AssetVersion[] | null> {
    const rows = this.stmt(
      'SELECT id, name, version, source_run AS sourceRun, prefix, created_time AS createdTime FROM assets WHERE name = ? ORDER BY version',
    ).all(name) as (Omit<AssetVersion, 'files'> & { id: number })[];
    if (rows.length === 0) return null;
    const filesOf = this.stmt('SELECT path, size, sha256 FROM asset_files WHERE asset_id = ? ORDER BY path');
    return rows.map(({ id, ...r }) => ({ ...r, files: filesOf.all(id) as AssetVersion['files'] }));
  }

  async close(): Promise<void> {
    await this.serial.run(() => undefined);
    if (this.db.open) this.db.close();
    await this.blobs.close();
  }
}
