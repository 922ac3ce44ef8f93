/**
 * Metric ingest and history over SQLite. Idempotent: each stream remembers the highest sequence
 * stored (acked_seq), lines at or below it are skipped, and a batch may not start after it + 1.
 * A big batch is stored in slices, one transaction each, with the event loop given back between.
 */
import type Database from 'better-sqlite3';
import { E, MetricHistory, MetricType, NdjsonBatchAck, ParamValue, paramText, sourceSeriesName, WireLine, metricTypeOf } from '../protocol';
import { BLOCK_POINTS, BlockRollup, chooseIndexes, type Extremes, planDownsample } from './downsample';
import { decodeValue, encodeValue, Kind, KIND, paramConflict, paramKind, widenType } from './metric-codec';
import type { CheckedBatch, HistoryQuery } from './store';

interface SeriesState {
  id: number;
  count: number;
  type: MetricType;
  lastKind: Kind;
  lastValue: number | string;
  lastStep: number | null;
  /** Of the numeric points, kept per series so a filter or a sort on them is an index lookup. */
  min: number | null;
  max: number | null;
  dirty: boolean;
  rollup: BlockRollup;
}

export interface IngestLimits {
  /** Metric values stored per transaction (service.ingestSliceCells). */
  sliceCells: number;
  /** Characters in a metric name (limits.maxNameChars): a source's own series name is cut to it. */
  maxNameChars: number;
}

export class SqliteMetrics {
  private readonly s;

  constructor(
    db: Database.Database,
    private readonly limits: IngestLimits,
    /** Runs one write transaction (the store's, which says a full disk as such). */
    private readonly write: <T>(fn: () => T) => Promise<T>,
  ) {
    this.s = {
      runExists: db.prepare('SELECT 1 FROM runs WHERE id = ?').pluck(),
      streamInsert: db.prepare('INSERT OR IGNORE INTO streams (run_id, name, file) VALUES (?, ?, ?)'),
      streamGet: db.prepare('SELECT id, acked_seq FROM streams WHERE run_id = ? AND name = ?'),
      streamAck: db.prepare('UPDATE streams SET acked_seq = ? WHERE id = ?'),
      seriesGet: db.prepare('SELECT id, count, type, min_value, max_value, source FROM series WHERE run_id = ? AND name = ?'),
      seriesInsert: db.prepare('INSERT INTO series (run_id, name, type, source) VALUES (?, ?, ?, ?)'),
      eventInsert: db.prepare('INSERT INTO events (run_id, time, kind, path, message) VALUES (?, ?, ?, ?, ?)'),
      seriesUpdate: db.prepare('UPDATE series SET count = ?, type = ?, last_kind = ?, last_value = ?, last_step = ?, min_value = ?, max_value = ? WHERE id = ?'),
      paramGet: db.prepare('SELECT text, kind FROM params WHERE run_id = ? AND key = ?'),
      paramInsert: db.prepare('INSERT OR IGNORE INTO params (run_id, key, kind, num, text) VALUES (?, ?, ?, ?, ?)'),
      tagSet: db.prepare('INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value'),
      tagDelete: db.prepare('DELETE FROM tags WHERE run_id = ? AND key = ?'),
      pointInsert: db.prepare('INSERT INTO points (series_id, idx, stream_id, seq, step, time, kind, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      // A block may span two batches: merge with what the first one stored.
      blockUpsert: db.prepare(
        `INSERT INTO point_blocks (series_id, block, min_idx, min_value, max_idx, max_value) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (series_id, block) DO UPDATE SET
           min_idx = CASE WHEN excluded.min_value < min_value THEN excluded.min_idx ELSE min_idx END,
           min_value = min(min_value, excluded.min_value),
           max_idx = CASE WHEN excluded.max_value > max_value THEN excluded.max_idx ELSE max_idx END,
           max_value = max(max_value, excluded.max_value)`,
      ),
      rejectedInsert: db.prepare('INSERT INTO rejected (run_id, stream_id, seq, reason, time) VALUES (?, ?, ?, ?, ?)'),
      runRejected: db.prepare('UPDATE runs SET rejected_lines = rejected_lines + ? WHERE id = ?'),
      seriesInfo: db.prepare('SELECT id, type, count FROM series WHERE run_id = ? AND name = ?'),
      page: db.prepare('SELECT idx, step, time, kind, value FROM points WHERE series_id = ? AND idx >= ? ORDER BY idx LIMIT ?').raw(),
      // The chosen points of a downsampled history, in one query: their indexes as a JSON array.
      points: db.prepare('SELECT idx, step, time, kind, value FROM points WHERE series_id = ? AND idx IN (SELECT value FROM json_each(?)) ORDER BY idx').raw(),
      numericPoints: db.prepare(`SELECT idx, value FROM points WHERE series_id = ? AND kind IN (${KIND.integer}, ${KIND.float}) ORDER BY idx`).raw(),
      blocks: db.prepare('SELECT block, min_idx, min_value, max_idx, max_value FROM point_blocks WHERE series_id = ? ORDER BY block').raw(),
    };
  }

  /**
   * Stores a checked batch slice by slice; each slice's transaction re-reads the stream and the
   * series (another request for the same stream may have stored lines in between) and advances
   * acked_seq over what it covered, so a crash between two slices still gives exactly-once on retry.
   */
  async ingest(runId: string, batch: CheckedBatch): Promise<NdjsonBatchAck> {
    if (!this.s.runExists.get(runId)) throw E.runNotFound(runId);
    const lines = batch.lines;
    const { firstSeq, lastSeq } = batch;
    const ack: NdjsonBatchAck = { stream: batch.stream, ackedSeq: 0, stored: 0, skipped: 0, rejected: [] };
    if (lastSeq < firstSeq) {
      // An empty batch covers nothing: it only learns where the stream stands.
      ack.ackedSeq = (this.s.streamGet.get(runId, batch.stream) as { acked_seq: number } | undefined)?.acked_seq ?? 0;
      return ack;
    }
    const sliceCells = Math.max(1, this.limits.sliceCells);
    for (let from = 0, start = firstSeq; ; ) {
      let to = from;
      for (let cells = 0; to < lines.length && (to === from || cells < sliceCells); to++) cells += cellsOf(lines[to]);
      const end = to < lines.length ? lines[to].seq - 1 : lastSeq;
      const slice = { from, to, start, end, first: from === 0 };
      await this.write(() => this.ingestSlice(runId, batch, slice, ack));
      if (to >= lines.length) return ack;
      from = to;
      start = end + 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** One transaction: lines[from, to) of the batch, which cover seqs start..end (blank lines too). */
  private ingestSlice(
    runId: string,
    batch: CheckedBatch,
    { from, to, start, end, first }: { from: number; to: number; start: number; end: number; first: boolean },
    ack: NdjsonBatchAck,
  ): void {
    const s = this.s;
    s.streamInsert.run(runId, batch.stream, batch.file ?? null);
    const stream = s.streamGet.get(runId, batch.stream) as { id: number; acked_seq: number };
    if (first && start > stream.acked_seq + 1) {
      throw E.sequenceGap(batch.stream, stream.acked_seq, start);
    }
    const series = new Map<string, SeriesState>();
    let acked = stream.acked_seq;
    let rejected = 0;
    for (let i = from; i < to; i++) {
      const line = batch.lines[i];
      if (line.seq <= acked) {
        ack.skipped++;
        continue;
      }
      acked = line.seq;
      ack.stored++;
      // A params line whose value differs from one the run has is rejected like any bad line.
      const error = 'error' in line ? line.error : 'params' in line ? this.storeParams(runId, line.params) : undefined;
      if (error !== undefined) {
        s.rejectedInsert.run(runId, stream.id, line.seq, error, line.time);
        ack.rejected.push({ seq: line.seq, reason: error });
        rejected++;
        continue;
      }
      if ('params' in line) continue;
      if ('error' in line) continue; // (recorded above; tells the type checker)
      if ('tags' in line) {
        for (const key in line.tags) {
          const value = line.tags[key];
          if (value === null) s.tagDelete.run(runId, key);
          else s.tagSet.run(runId, key, value);
        }
        continue;
      }
      const step = line.step ?? null;
      for (const name in line.metrics) {
        const value = line.metrics[name];
        let st = series.get(name);
        if (!st) {
          st = this.loadSeries(runId, name, metricTypeOf(value), batch);
          series.set(name, st);
        }
        const idx = st.count++;
        let kind: Kind;
        let v: number | string;
        // Numbers are nearly every point: no tuple, no type lookup on their path.
        if (typeof value === 'number') {
          kind = Number.isInteger(value) ? KIND.integer : KIND.float;
          v = value;
          s.pointInsert.run(st.id, idx, stream.id, line.seq, step, line.time, kind, v);
          st.rollup.add(idx, value);
          if (st.min === null || value < st.min) st.min = value;
          if (st.max === null || value > st.max) st.max = value;
          if (kind === KIND.float && st.type === 'integer') st.type = 'float';
        } else {
          [kind, v] = encodeValue(value);
          s.pointInsert.run(st.id, idx, stream.id, line.seq, step, line.time, kind, v);
          st.type = widenType(st.type, value);
        }
        st.lastKind = kind;
        st.lastValue = v;
        st.lastStep = step;
        st.dirty = true;
      }
    }
    for (const st of series.values()) {
      if (!st.dirty) continue;
      st.rollup.end();
      s.seriesUpdate.run(st.count, st.type, st.lastKind, st.lastValue, st.lastStep, st.min, st.max, st.id);
    }
    if (rejected) s.runRejected.run(rejected, runId);
    // Blank lines up to `end` carry nothing but are the stream's too: the next batch starts after them.
    acked = Math.max(acked, end);
    if (acked !== stream.acked_seq) s.streamAck.run(acked, stream.id);
    ack.ackedSeq = acked;
  }

  /**
   * The params of one line, all or nothing: a param keeps its first value (the same value again is
   * fine), so a line giving another one is the reason returned, and stores none of its params.
   */
  private storeParams(runId: string, params: Record<string, ParamValue>): string | undefined {
    for (const key in params) {
      const conflict = paramConflict(key, this.s.paramGet.get(runId, key) as { text: string; kind: string } | undefined, params[key]);
      if (conflict) return conflict;
    }
    for (const key in params) {
      const value = params[key];
      this.s.paramInsert.run(runId, key, paramKind(value), typeof value === 'number' ? value : null, paramText(value));
    }
    return undefined;
  }

  /**
   * The series `name` of the batch's source: the series of that name if it is the source's (or
   * new), else the source's own, `NAME (SOURCE)`; the first time that one is made, the run records
   * why, so two sources naming one metric never share a series and neither goes unseen.
   */
  private loadSeries(runId: string, name: string, type: MetricType, batch: CheckedBatch): SeriesState {
    const source = batch.source ?? null;
    let row: SeriesRow | undefined;
    let owner: string | null = null;
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? name : sourceSeriesName(name, source ?? 'spool', this.limits.maxNameChars, n);
      row = this.s.seriesGet.get(runId, candidate) as SeriesRow | undefined;
      if (row && row.source === source) break;
      if (row) {
        if (n === 0) owner = row.source;
        continue;
      }
      const id = Number(this.s.seriesInsert.run(runId, candidate, type, source).lastInsertRowid);
      row = { id, count: 0, type, min_value: null, max_value: null, source };
      if (n > 0) {
        // Whole names (quote() shortens long ones): the message says where to look.
        const message = `metric ${JSON.stringify(name)} is written by ${describeSource(owner)} and by ${describeSource(source)}: the latter's values are stored as ${JSON.stringify(candidate)}`;
        this.s.eventInsert.run(runId, new Date().toISOString(), 'warning', batch.file ?? null, message);
      }
      break;
    }
    const seriesId = row.id;
    return {
      id: seriesId,
      count: row.count,
      type: row.type,
      lastKind: KIND.integer,
      lastValue: 0,
      lastStep: null,
      min: row.min_value,
      max: row.max_value,
      dirty: false,
      // A block may span two batches: the upsert merges with what the first one stored.
      rollup: new BlockRollup((b) => this.s.blockUpsert.run(seriesId, b.block, b.minIdx, b.min, b.maxIdx, b.max)),
    };
  }

  history(runId: string, name: string, q: HistoryQuery, maxPage: number): MetricHistory | null {
    const info = this.s.seriesInfo.get(runId, name) as { id: number; type: MetricType; count: number } | undefined;
    if (!info) return null;
    const base = { name, type: info.type, count: info.count };
    if (q.maxPoints !== undefined && info.count > q.maxPoints) {
      return { ...base, downsampled: true, points: this.downsample(info.id, info.type, info.count, q.maxPoints), nextOffset: null };
    }
    const offset = q.offset ?? 0;
    const limit = Math.min(q.limit ?? maxPage, maxPage);
    const rows = this.s.page.all(info.id, offset, limit) as unknown[][];
    const end = offset + rows.length;
    return { ...base, downsampled: false, points: rows.map(toPoint), nextOffset: end < info.count ? end : null };
  }

  /** The points downsample.ts chooses, fetched in one query. */
  private downsample(seriesId: number, type: MetricType, count: number, maxPoints: number): MetricHistory['points'] {
    const plan = planDownsample(type, count, maxPoints);
    const rows: Iterable<Extremes> =
      plan.read === 'blocks'
        ? (this.s.blocks.all(seriesId) as number[][]).map(([block, minIdx, min, maxIdx, max]): Extremes => [block * BLOCK_POINTS, minIdx, min, maxIdx, max])
        : plan.read === 'points'
          ? (this.s.numericPoints.all(seriesId) as number[][]).map(([idx, v]): Extremes => [idx, idx, v, idx, v])
          : [];
    const indexes = chooseIndexes(plan, count, maxPoints, rows);
    return (this.s.points.all(seriesId, JSON.stringify(indexes)) as unknown[][]).map(toPoint);
  }
}

interface SeriesRow {
  id: number;
  count: number;
  type: MetricType;
  min_value: number | null;
  max_value: number | null;
  source: string | null;
}

function describeSource(source: string | null): string {
  return source === null ? 'the spool' : JSON.stringify(source);
}

function toPoint(row: unknown[]): MetricHistory['points'][number] {
  const [idx, step, time, kind, value] = row as [number, number | null, number, number, unknown];
  return { index: idx, step, time, value: decodeValue(kind, value) };
}

/** Metric values in a line; a rejected line costs one insert too. */
function cellsOf(line: WireLine): number {
  if ('error' in line) return 1;
  const entries = 'metrics' in line ? line.metrics : 'params' in line ? line.params : line.tags;
  let n = 0;
  for (const _name in entries) n++;
  return Math.max(1, n);
}
