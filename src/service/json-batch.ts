/**
 * The JSON form of a metric batch ({"stream", "lines": [{seq, time, step?, metrics | error}]}),
 * checked line by line with the metric line's rules, as the NDJSON form is (ndjson-batch.ts): the
 * store takes only checked batches. A bad line refuses the whole request (400 naming the line), so
 * a client sending this form learns which of its lines to fix.
 */
import { checkParams, checkTags, E, quote, surrogateProblem, validateMetricObject } from '../protocol';
import type { MetricBatch, ParamValue, WireLine } from '../protocol';
import type { CheckedBatch } from '../store/store';

export interface JsonBatchLimits {
  maxNameChars: number;
  maxLineBytes: number;
  maxMetricsPerLine: number;
  maxBatchCells: number;
}

export function checkJsonBatch(batch: MetricBatch, limits: JsonBatchLimits): CheckedBatch {
  const { maxNameChars, maxLineBytes, maxMetricsPerLine } = limits;
  let prev = -Infinity;
  let cells = 0;
  for (let i = 0; i < batch.lines.length; i++) {
    const line = batch.lines[i];
    const where = `lines[${i}]`;
    if (!Number.isSafeInteger(line.seq) || line.seq < 1) throw E.badLine(`${where}.seq`, 'must be an integer >= 1');
    if (line.seq <= prev) throw E.badSequence(where, line.seq, prev);
    prev = line.seq;
    if (typeof line.time !== 'number' || !Number.isFinite(line.time)) throw E.badLine(`${where}.time`, 'must be a finite number');
    if ('error' in line) {
      if (typeof line.error !== 'string') throw E.badLine(`${where}.error`, 'must be a string');
      const surrogate = surrogateProblem(line.error);
      if (surrogate) throw E.badLine(`${where}.error`, `${quote(line.error)} ${surrogate}`);
      continue;
    }
    if ('params' in line || 'tags' in line) {
      // The same rules as a spool line's: flattened, checked, and written back as they will be stored.
      const meta = { maxNameChars, maxEntries: maxMetricsPerLine };
      const r = 'params' in line ? checkParams(line.params, meta) : checkTags(line.tags, meta);
      if (!r.ok) throw E.badLine(where, r.reason);
      cells += Object.keys(r.value).length;
      if (cells > limits.maxBatchCells) throw E.tooManyCells(limits.maxBatchCells);
      batch.lines[i] = 'params' in line ? { seq: line.seq, time: line.time, params: r.value as Record<string, ParamValue> } : { seq: line.seq, time: line.time, tags: r.value as Record<string, string | null> };
      continue;
    }
    cells += cellsOf(line);
    if (cells > limits.maxBatchCells) throw E.tooManyCells(limits.maxBatchCells);
    if (isPlainNumericLine(line, maxNameChars, maxMetricsPerLine)) continue;
    const result = validateMetricObject({ metrics: line.metrics, step: line.step, time: line.time }, maxNameChars, maxMetricsPerLine);
    if (!result.ok) throw E.badLine(where, result.reason);
    const bytes = lineBytesOver(line.metrics, maxLineBytes);
    if (bytes !== undefined) throw E.badLine(where, `its metrics take ${bytes} bytes as JSON, over the ${maxLineBytes}-byte limit of a line (limits.maxLineBytes)`);
  }
  const lines = batch.lines;
  // The JSON form covers its first line's seq to its last one's (a seq missing between is a blank line).
  return { ...batch, firstSeq: lines[0]?.seq ?? 1, lastSeq: lines[lines.length - 1]?.seq ?? 0 } as CheckedBatch;
}

function cellsOf(line: Extract<WireLine, { metrics: unknown }>): number {
  let n = 0;
  for (const _name in line.metrics) n++;
  return n;
}

/**
 * The common line, checked without allocating: a valid step and a few finite numbers under
 * short names can be neither invalid nor over the line limit. Anything else takes the full check.
 */
function isPlainNumericLine(line: { step?: unknown; metrics?: unknown }, maxNameChars: number, maxMetricsPerLine: number): boolean {
  if (line.step !== undefined && !(typeof line.step === 'number' && Number.isSafeInteger(line.step) && line.step >= 0)) return false;
  const m = line.metrics as Record<string, unknown> | undefined;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  let n = 0;
  for (const name in m) {
    const v = m[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || name.length === 0 || name.length > Math.min(maxNameChars, 256) || name.includes('\u0000')) return false;
    if (!name.isWellFormed() || ++n > Math.min(32, maxMetricsPerLine)) return false;
  }
  return n > 0;
}

/**
 * The encoded size of a line's metrics when it is over `max`, else undefined. A cheap upper
 * bound settles almost every line, so the exact (costly) size is computed only near the limit.
 */
function lineBytesOver(metrics: Record<string, unknown>, max: number): number | undefined {
  let bound = 64;
  for (const name in metrics) {
    const v = metrics[name];
    // 6 bytes: the longest JSON escape of one UTF-16 unit; 25: the longest number
    bound += name.length * 6 + 4 + (typeof v === 'string' ? v.length * 6 + 2 : Array.isArray(v) ? v.length * 25 + 2 : 25);
  }
  if (bound <= max) return undefined;
  const exact = Buffer.byteLength(JSON.stringify(metrics));
  return exact > max ? exact : undefined;
}
