/**
 * Metric ingest and history over PostgreSQL. A batch is one transaction: its stream's row is
 * locked (SELECT … FOR UPDATE), so a retry of the batch that reaches another replica while the
 * first is still committing waits, then finds the lines stored and skips them; the series it
 * appends to are locked in name order (their point count is the next index). Points go in by COPY,
 * every other table in one multi-row statement: a batch costs a fixed number of round trips,
 * never one per point.
 */
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { E, MetricHistory, MetricType, NdjsonBatchAck, ParamValue, paramText, metricTypeOf, sourceSeriesName } from '../protocol';
import { BLOCK_POINTS, type Block, BlockRollup, chooseIndexes, type Extremes, planDownsample } from './downsample';
import { decodeValue, encodeValue, KIND, paramConflict, paramKind, widenType } from './metric-codec';
import type { CheckedBatch, HistoryQuery } from './store';

export interface Queryable {
  query<R>(sql: string, args?: unknown[]): Promise<R[]>;
}

interface SeriesState {
  id: number;
  count: number;
  type: MetricType;
  lastKind: number;
  lastNum: number | null;
  lastText: string | null;
  lastStep: number | null;
  min: number | null;
  max: number | null;
  dirty: boolean;
  rollup: BlockRollup;
  /** Blocks the rollup finished in this batch. */
  blocks: Block[];
}

/** Keys of the transaction-scoped advisory locks (the second argument of hashtextextended). */
export const LOCK = { artifactPath: 1, blob: 2, asset: 3, params: 4 } as const;

export class PgMetrics {
  constructor(
    private readonly tx: <T>(fn: (c: PoolClient) => Promise<T>) => Promise<T>,
    private readonly db: Queryable,
    /** Characters in a metric name (limits.maxNameChars): a source's own series name is cut to it. */
    private readonly maxNameChars: number,
  ) {}

  async ingest(runId: string, batch: CheckedBatch): Promise<NdjsonBatchAck> {
    const { firstSeq, lastSeq } = batch;
    if (lastSeq < firstSeq) {
      // An empty batch covers nothing: it only learns where the stream stands.
      const [s] = await this.db.query<{ acked_seq: number }>('SELECT acked_seq FROM streams WHERE run_id = $1 AND name = $2', [runId, batch.stream]);
      if (!s && !(await this.db.query('SELECT 1 FROM runs WHERE id = $1', [runId])).length) throw E.runNotFound(runId);
      return { stream: batch.stream, ackedSeq: s?.acked_seq ?? 0, stored: 0, skipped: 0, rejected: [] };
    }
    return this.tx((c) => this.ingestIn(c, runId, batch));
  }

  private async ingestIn(c: PoolClient, runId: string, batch: CheckedBatch): Promise<NdjsonBatchAck> {
    const ack: NdjsonBatchAck = { stream: batch.stream, ackedSeq: 0, stored: 0, skipped: 0, rejected: [] };
    if (!(await c.query('SELECT 1 FROM runs WHERE id = $1', [runId])).rowCount) throw E.runNotFound(runId);
    await c.query('INSERT INTO streams (run_id, name, file) VALUES ($1, $2, $3) ON CONFLICT (run_id, name) DO NOTHING', [runId, batch.stream, batch.file ?? null]);
    const stream = (await c.query<{ id: number; acked_seq: number }>('SELECT id, acked_seq FROM streams WHERE run_id = $1 AND name = $2 FOR UPDATE', [runId, batch.stream]))
      .rows[0];
    if (batch.firstSeq > stream.acked_seq + 1) throw E.sequenceGap(batch.stream, stream.acked_seq, batch.firstSeq);
    const fresh = batch.lines.filter((l) => l.seq > stream.acked_seq);
    ack.skipped = batch.lines.length - fresh.length;
    ack.stored = fresh.length;

    const series = await this.lockSeries(c, runId, fresh, batch);
    const blocks: { seriesId: number; b: Block }[] = [];
    let points = '';
    const rejected = { seq: [] as number[], reason: [] as string[], time: [] as number[] };
    let paramsLocked = false;
    for (const line of fresh) {
      if ('error' in line) {
        rejected.seq.push(line.seq);
        rejected.reason.push(line.error);
        rejected.time.push(line.time);
        continue;
      }
      if ('params' in line) {
        // Params of one run are checked and written one line at a time, whichever stream sends them.
        if (!paramsLocked) await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, $2))', [runId, LOCK.params]);
        paramsLocked = true;
        const error = await this.storeParams(c, runId, line.params);
        if (error !== undefined) {
          rejected.seq.push(line.seq);
          rejected.reason.push(error);
          rejected.time.push(line.time);
        }
        continue;
      }
      if ('tags' in line) {
        await this.storeTags(c, runId, line.tags);
        continue;
      }
      const step = line.step ?? null;
      // The COPY row's columns that every metric of the line shares.
      const shared = `\t${stream.id}\t${line.seq}\t${step ?? '\\N'}\t${line.time}\t`;
      for (const name in line.metrics) {
        const value = line.metrics[name];
        const st = series.get(name)!;
        const idx = st.count++;
        // Numbers are nearly every point: no tuple, no type lookup on their path.
        if (typeof value === 'number') {
          const kind = Number.isInteger(value) ? KIND.integer : KIND.float;
          points += `${st.id}\t${idx}${shared}${kind}\t${value}\t\\N\n`;
          st.rollup.add(idx, value);
          if (st.min === null || value < st.min) st.min = value;
          if (st.max === null || value > st.max) st.max = value;
          if (kind === KIND.float && st.type === 'integer') st.type = 'float';
          st.lastKind = kind;
          st.lastNum = value;
          st.lastText = null;
        } else {
          const [kind, stored] = encodeValue(value);
          const num = typeof stored === 'number' ? stored : null;
          const text = typeof stored === 'string' ? stored : null;
          points += `${st.id}\t${idx}${shared}${kind}\t${num ?? '\\N'}\t${text === null ? '\\N' : copyText(text)}\n`;
          st.type = widenType(st.type, value);
          st.lastKind = kind;
          st.lastNum = num;
          st.lastText = text;
        }
        st.lastStep = step;
        st.dirty = true;
      }
    }
    for (const st of series.values()) {
      st.rollup.end();
      for (const b of st.blocks) blocks.push({ seriesId: st.id, b });
    }
    if (points) await pipeline(Readable.from([points]), c.query(copyFrom('COPY points (series_id, idx, stream_id, seq, step, time, kind, num, text) FROM STDIN')));
    if (blocks.length) {
      await c.query(
        `INSERT INTO point_blocks (series_id, block, min_idx, min_value, max_idx, max_value)
           SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::float8[], $5::int[], $6::float8[])
         ON CONFLICT (series_id, block) DO UPDATE SET
           min_idx = CASE WHEN excluded.min_value < point_blocks.min_value THEN excluded.min_idx ELSE point_blocks.min_idx END,
           min_value = least(point_blocks.min_value, excluded.min_value),
           max_idx = CASE WHEN excluded.max_value > point_blocks.max_value THEN excluded.max_idx ELSE point_blocks.max_idx END,
           max_value = greatest(point_blocks.max_value, excluded.max_value)`,
        [blocks.map((x) => x.seriesId), blocks.map((x) => x.b.block), blocks.map((x) => x.b.minIdx), blocks.map((x) => x.b.min), blocks.map((x) => x.b.maxIdx), blocks.map((x) => x.b.max)],
      );
    }
    const dirty = [...series.values()].filter((s) => s.dirty);
    if (dirty.length) {
      await c.query(
        `UPDATE series s SET count = v.count, type = v.type, last_kind = v.last_kind, last_num = v.last_num, last_text = v.last_text,
           last_step = v.last_step, min_value = v.min_value, max_value = v.max_value
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::smallint[], $5::float8[], $6::text[], $7::bigint[], $8::float8[], $9::float8[])
           AS v(id, count, type, last_kind, last_num, last_text, last_step, min_value, max_value)
         WHERE s.id = v.id`,
        [
          dirty.map((s) => s.id),
          dirty.map((s) => s.count),
          dirty.map((s) => s.type),
          dirty.map((s) => s.lastKind),
          dirty.map((s) => s.lastNum),
          dirty.map((s) => s.lastText),
          dirty.map((s) => s.lastStep),
          dirty.map((s) => s.min),
          dirty.map((s) => s.max),
        ],
      );
    }
    if (rejected.seq.length) {
      await c.query(
        'INSERT INTO rejected (run_id, stream_id, seq, reason, time) SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::float8[])',
        [runId, stream.id, rejected.seq, rejected.reason, rejected.time],
      );
      await c.query('UPDATE runs SET rejected_lines = rejected_lines + $1 WHERE id = $2', [rejected.seq.length, runId]);
      ack.rejected = rejected.seq.map((seq, i) => ({ seq, reason: rejected.reason[i] }));
    }
    // Blank lines up to lastSeq carry nothing but are the stream's too: the next batch starts after them.
    const acked = Math.max(stream.acked_seq, batch.lastSeq);
    if (acked !== stream.acked_seq) await c.query('UPDATE streams SET acked_seq = $1 WHERE id = $2', [acked, stream.id]);
    ack.ackedSeq = acked;
    return ack;
  }

  /**
   * The series this batch appends to, made if new, locked in name order (their counts are the next
   * indexes). A name belongs to the source that wrote it first: another source's values of it go to
   * that source's own series, `NAME (SOURCE)`, and the first time, the run records why (as SQLite does).
   */
  private async lockSeries(c: PoolClient, runId: string, lines: CheckedBatch['lines'], batch: CheckedBatch): Promise<Map<string, SeriesState>> {
    const source = batch.source ?? null;
    const types = new Map<string, MetricType>();
    for (const line of lines) {
      if (!('metrics' in line)) continue;
      for (const name in line.metrics) if (!types.has(name)) types.set(name, metricTypeOf(line.metrics[name]));
    }
    const out = new Map<string, SeriesState>();
    if (types.size === 0) return out;
    const names = [...types.keys()].sort();
    await c.query('INSERT INTO series (run_id, name, type, source) SELECT $1, n, t, $4 FROM unnest($2::text[], $3::text[]) AS x(n, t) ON CONFLICT (run_id, name) DO NOTHING', [
      runId,
      names,
      names.map((n) => types.get(n)),
      source,
    ]);
    const rows = (await c.query<SeriesRow>(`${SERIES_ROW} WHERE run_id = $1 AND name = ANY($2) ORDER BY name FOR UPDATE`, [runId, names])).rows;
    for (const r of rows) {
      out.set(r.name, r.source === source ? seriesState(r) : seriesState(await this.ownSeries(c, runId, r.name, types.get(r.name)!, source, r.source, batch.file)));
    }
    return out;
  }

  /** The source's own series of `name`, which another source (`owner`) wrote first: made and told on the run the first time. */
  private async ownSeries(c: PoolClient, runId: string, name: string, type: MetricType, source: string | null, owner: string | null, file: string | undefined): Promise<SeriesRow> {
    for (let n = 1; ; n++) {
      const candidate = sourceSeriesName(name, source ?? 'spool', this.maxNameChars, n);
      const made = await c.query('INSERT INTO series (run_id, name, type, source) VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, name) DO NOTHING', [runId, candidate, type, source]);
      const [row] = (await c.query<SeriesRow>(`${SERIES_ROW} WHERE run_id = $1 AND name = $2 FOR UPDATE`, [runId, candidate])).rows;
      if (row.source !== source) continue;
      if (made.rowCount) {
        const message = `metric ${JSON.stringify(name)} is written by ${describeSource(owner)} and by ${describeSource(source)}: the latter's values are stored as ${JSON.stringify(candidate)}`;
        await c.query('INSERT INTO events (run_id, time, kind, path, message) VALUES ($1, $2, $3, $4, $5)', [runId, new Date().toISOString(), 'warning', file ?? null, message]);
      }
      return row;
    }
  }

  /** All or nothing for one line: a param keeps its first value (the same value again is fine). */
  private async storeParams(c: PoolClient, runId: string, params: Record<string, ParamValue>): Promise<string | undefined> {
    const keys = Object.keys(params);
    const had = new Map(
      (await c.query<{ key: string; kind: string; text: string }>('SELECT key, kind, text FROM params WHERE run_id = $1 AND key = ANY($2)', [runId, keys])).rows.map((r) => [r.key, r]),
    );
    for (const key of keys) {
      const conflict = paramConflict(key, had.get(key), params[key]);
      if (conflict) return conflict;
    }
    const values = keys.map((k) => params[k]);
    await c.query(
      'INSERT INTO params (run_id, key, kind, num, text) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::float8[], $5::text[]) ON CONFLICT (run_id, key) DO NOTHING',
      [runId, keys, values.map(paramKind), values.map((v) => (typeof v === 'number' ? v : null)), values.map(paramText)],
    );
    return undefined;
  }

  private async storeTags(c: PoolClient, runId: string, tags: Record<string, string | null>): Promise<void> {
    const set = Object.entries(tags).filter((e): e is [string, string] => e[1] !== null);
    const gone = Object.entries(tags).filter(([, v]) => v === null).map(([k]) => k);
    if (gone.length) await c.query('DELETE FROM tags WHERE run_id = $1 AND key = ANY($2)', [runId, gone]);
    if (set.length) {
      await c.query('INSERT INTO tags (run_id, key, value) SELECT $1, * FROM unnest($2::text[], $3::text[]) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value', [
        runId,
        set.map(([k]) => k),
        set.map(([, v]) => v),
      ]);
    }
  }

  async history(runId: string, name: string, q: HistoryQuery, maxPage: number): Promise<MetricHistory | null> {
    const [info] = await this.db.query<{ id: number; type: MetricType; count: number }>('SELECT id, type, count FROM series WHERE run_id = $1 AND name = $2', [runId, name]);
    if (!info) return null;
    const base = { name, type: info.type, count: info.count };
    if (q.maxPoints !== undefined && info.count > q.maxPoints) {
      return { ...base, downsampled: true, points: await this.downsample(info.id, info.type, info.count, q.maxPoints), nextOffset: null };
    }
    const offset = q.offset ?? 0;
    const limit = Math.min(q.limit ?? maxPage, maxPage);
    const rows = await this.db.query<PointRow>('SELECT idx, step, time, kind, num, text FROM points WHERE series_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3', [info.id, offset, limit]);
    const end = offset + rows.length;
    return { ...base, downsampled: false, points: rows.map(toPoint), nextOffset: end < info.count ? end : null };
  }

  /** The points downsample.ts chooses, fetched in one query. */
  private async downsample(seriesId: number, type: MetricType, count: number, maxPoints: number): Promise<MetricHistory['points']> {
    const plan = planDownsample(type, count, maxPoints);
    let rows: Extremes[] = [];
    if (plan.read === 'blocks') {
      const blocks = await this.db.query<{ block: number; min_idx: number; min_value: number; max_idx: number; max_value: number }>(
        'SELECT block, min_idx, min_value, max_idx, max_value FROM point_blocks WHERE series_id = $1 ORDER BY block',
        [seriesId],
      );
      rows = blocks.map((b) => [b.block * BLOCK_POINTS, b.min_idx, b.min_value, b.max_idx, b.max_value]);
    } else if (plan.read === 'points') {
      const points = await this.db.query<{ idx: number; num: number }>(
        `SELECT idx, num FROM points WHERE series_id = $1 AND kind IN (${KIND.integer}, ${KIND.float}) ORDER BY idx`,
        [seriesId],
      );
      rows = points.map((p) => [p.idx, p.idx, p.num, p.idx, p.num]);
    }
    const indexes = chooseIndexes(plan, count, maxPoints, rows);
    // A join on the wanted indexes, not idx = ANY($2): with 2,000 of them the planner took that
    // for a large share of the series and scanned all of it (200 ms instead of 15 for 1,000,000 points).
    const chosen = await this.db.query<PointRow>(
      'SELECT p.idx, p.step, p.time, p.kind, p.num, p.text FROM unnest($2::int[]) AS w(idx) JOIN points p ON p.series_id = $1 AND p.idx = w.idx ORDER BY p.idx',
      [
        seriesId,
        indexes,
      ],
    );
    return chosen.map(toPoint);
  }
}

interface PointRow {
  idx: number;
  step: number | null;
  time: number;
  kind: number;
  num: number | null;
  text: string | null;
}

/** A value from its kind and the column that holds it. */
export function pgValue(kind: number, num: number | null, text: string | null) {
  return decodeValue(kind, kind === KIND.string || kind === KIND.list ? text : num);
}

function toPoint(r: PointRow): MetricHistory['points'][number] {
  return { index: r.idx, step: r.step, time: r.time, value: pgValue(r.kind, r.num, r.text) };
}

/** Text in COPY's text format: backslash, tab, newline and carriage return escaped. */
function copyText(s: string): string {
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (ch) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[ch]!) : s;
}

const SERIES_ROW = 'SELECT id, name, count, type, min_value, max_value, source FROM series';

interface SeriesRow {
  id: number;
  name: string;
  count: number;
  type: MetricType;
  min_value: number | null;
  max_value: number | null;
  source: string | null;
}

function seriesState(r: SeriesRow): SeriesState {
  const st: SeriesState = {
    id: r.id,
    count: r.count,
    type: r.type,
    lastKind: KIND.integer,
    lastNum: null,
    lastText: null,
    lastStep: null,
    min: r.min_value,
    max: r.max_value,
    dirty: false,
    blocks: [],
    rollup: new BlockRollup((b) => st.blocks.push({ ...b })),
  };
  return st;
}

function describeSource(source: string | null): string {
  return source === null ? 'the spool' : JSON.stringify(source);
}
