/**
 * The metric line: the any-language contract (docs/metric-line.md). Parsing is hand-written because it
 * is outpost's hot path and its error messages must name the exact reason.
 */
import { describeValue, quote } from './describe';
import { setOwn } from './own-property';
import { checkParams, checkTags, type ParamValue } from './run-meta-line';

export { setOwn };
import { surrogateProblem } from './unicode';

/** A wire line of metrics, as api-types.ts's WireLine has it (written out here: api-types imports this file). */
export interface MetricsWireLine {
  seq: number;
  time: number;
  step?: number;
  metrics: Record<string, MetricValue>;
}

export type MetricValue = number | string | boolean | number[];
export type MetricType = 'integer' | 'float' | 'string' | 'boolean' | 'list';

export interface MetricsLine {
  metrics: Record<string, MetricValue>;
  step?: number;
  time?: number;
}

/** A line of the spool: metrics, or the run's params or tags (run-meta-line.ts). */
export type ParsedLine = MetricsLine | { params: Record<string, ParamValue>; time?: number } | { tags: Record<string, string | null>; time?: number };

export type LineResult = { ok: true; line: ParsedLine } | { ok: false; reason: string };

const ALLOWED_KEYS = new Set(['name', 'value', 'metrics', 'step', 'time', 'params', 'tags']);

// The line the loggers write, {"name":N,"value":NUMBER[,"step":S][,"time":T]}, with a name free
// of escapes: matched by one regex, cheaper than JSON.parse plus the checks (figures in
// docs/benchmarks.md, "Measured choices"). Whatever it does not take whole goes the general way,
// which decides (and words the reason) as before.
const NUM = '-?(?:0|[1-9]\\d*)(?:\\.\\d+)?(?:[eE][+-]?\\d+)?';
const PLAIN_LINE = new RegExp(`^\\{"name":"([^"\\\\\\u0000-\\u001f]+)","value":(${NUM})(?:,"step":(0|[1-9]\\d{0,15}))?(?:,"time":(${NUM}))?\\}$`);

/**
 * Validates one decoded line (without its newline). `maxNameChars` bounds metric names,
 * `maxMetricsPerLine` the entries of "metrics".
 */
export function parseMetricLine(text: string, maxNameChars = 256, maxMetricsPerLine = Infinity): LineResult {
  const plain = parsePlainLine(text, maxNameChars);
  if (plain) return { ok: true, line: plain };
  return parseGeneralLine(text, maxNameChars, maxMetricsPerLine);
}

/** The logger's common line, or undefined for anything the general path must look at. */
export function parsePlainLine(text: string, maxNameChars = 256): MetricsLine | undefined {
  const w = parsePlainWireLine(text, 0, NaN, maxNameChars);
  if (w === undefined) return undefined;
  const line: MetricsLine = { metrics: w.metrics };
  if (w.step !== undefined) line.step = w.step;
  if (!Number.isNaN(w.time)) line.time = w.time;
  return line;
}

/**
 * The common line made straight into the wire line the store takes (`seq`; `time` its own, else
 * `defaultTime`): one object and its metrics, where the general path makes four (the batch's hot
 * path: docs/benchmarks.md, "Measured choices").
 */
export function parsePlainWireLine(text: string, seq: number, defaultTime: number, maxNameChars = 256): MetricsWireLine | undefined {
  const m = PLAIN_LINE.exec(text);
  if (m === null || m[1].length > maxNameChars) return undefined;
  const value = Number(m[2]);
  if (!Number.isFinite(value)) return undefined;
  let time = defaultTime;
  if (m[4] !== undefined) {
    time = Number(m[4]);
    if (!Number.isFinite(time) || time < 0) return undefined;
  }
  const metrics: Record<string, MetricValue> = {};
  setOwn(metrics, m[1], value);
  const line: MetricsWireLine = { seq, time, metrics };
  if (m[3] !== undefined) {
    const step = Number(m[3]);
    if (!Number.isSafeInteger(step)) return undefined;
    line.step = step;
  }
  return line;
}

/** Any line: JSON.parse, then every rule of the contract, each with its reason. */
export function parseGeneralLine(text: string, maxNameChars = 256, maxMetricsPerLine = Infinity): LineResult {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not valid JSON (${(err as Error).message})` };
  }
  return validateMetricObject(obj, maxNameChars, maxMetricsPerLine);
}

/**
 * Every rule of the metric line. Nothing here recurses into the value: a reason describes a bad
 * value in a few words (describeValue), so a line nested 20,000 deep is just a rejected line.
 */
export function validateMetricObject(obj: unknown, maxNameChars = 256, maxMetricsPerLine = Infinity): LineResult {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { ok: false, reason: 'a metric line must be a JSON object' };
  }
  const o = obj as Record<string, unknown>;
  for (const key in o) {
    if (!ALLOWED_KEYS.has(key)) return { ok: false, reason: `unknown field ${quote(key)}` };
  }
  if (o.params !== undefined || o.tags !== undefined) return runMetaLine(o, maxNameChars, maxMetricsPerLine);
  const metrics: Record<string, MetricValue> = {};
  if (o.metrics !== undefined) {
    if (o.name !== undefined || o.value !== undefined) {
      return { ok: false, reason: 'use either "name" and "value" or "metrics", not both' };
    }
    const m = o.metrics;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return { ok: false, reason: '"metrics" must be an object' };
    let n = 0;
    for (const name in m as Record<string, unknown>) {
      if (++n > maxMetricsPerLine) {
        return { ok: false, reason: `"metrics" has more than ${maxMetricsPerLine} entries, the limit of a line (limits.maxMetricsPerLine)` };
      }
      const bad = checkName(name, maxNameChars) ?? checkValue((m as Record<string, unknown>)[name], `metrics[${quote(name)}]`);
      if (bad) return { ok: false, reason: bad };
      setOwn(metrics, name, (m as Record<string, MetricValue>)[name]);
    }
    if (n === 0) return { ok: false, reason: '"metrics" is empty' };
  } else {
    if (o.name === undefined) return { ok: false, reason: 'missing "name" (or "metrics")' };
    if (typeof o.name !== 'string') return { ok: false, reason: `"name" must be a string, got ${describeValue(o.name)}` };
    const bad = checkName(o.name, maxNameChars);
    if (bad) return { ok: false, reason: bad };
    if (o.value === undefined) return { ok: false, reason: 'missing "value"' };
    const badValue = checkValue(o.value, '"value"');
    if (badValue) return { ok: false, reason: badValue };
    setOwn(metrics, o.name, o.value as MetricValue);
  }
  const line: MetricsLine = { metrics };
  if (o.step !== undefined) {
    if (typeof o.step !== 'number' || !Number.isSafeInteger(o.step) || o.step < 0) {
      return { ok: false, reason: `"step" must be an integer >= 0, got ${describeValue(o.step)}` };
    }
    line.step = o.step;
  }
  const time = checkTime(o.time);
  if (typeof time === 'string') return { ok: false, reason: time };
  if (time !== undefined) line.time = time;
  return { ok: true, line };
}

/** "time" is optional; a reason when it is there and not seconds since the epoch. */
function checkTime(t: unknown): number | string | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) return `"time" must be seconds since the epoch, got ${describeValue(t)}`;
  return t;
}

/** {"params": {...}} or {"tags": {...}}, with at most a "time" beside: a line says one thing. */
function runMetaLine(o: Record<string, unknown>, maxNameChars: number, maxEntries: number): LineResult {
  const kind = o.params !== undefined ? 'params' : 'tags';
  for (const key in o) {
    if (key !== kind && key !== 'time') return { ok: false, reason: `a line with "${kind}" holds nothing else but "time" (found ${quote(key)})` };
  }
  const time = checkTime(o.time);
  if (typeof time === 'string') return { ok: false, reason: time };
  const limits = { maxNameChars, maxEntries };
  if (kind === 'params') {
    const r = checkParams(o.params, limits);
    if (!r.ok) return r;
    return { ok: true, line: time === undefined ? { params: r.value } : { params: r.value, time } };
  }
  const r = checkTags(o.tags, limits);
  if (!r.ok) return r;
  return { ok: true, line: time === undefined ? { tags: r.value } : { tags: r.value, time } };
}

function checkName(name: string, maxNameChars: number): string | undefined {
  if (name.length === 0) return 'metric name is empty';
  if (name.length > maxNameChars) return `metric name is longer than ${maxNameChars} characters`;
  if (name.includes('\u0000')) return 'metric name contains a NUL character';
  const surrogate = surrogateProblem(name);
  if (surrogate) return `metric name ${quote(name)} ${surrogate}`;
  return undefined;
}

function checkValue(v: unknown, where: string): string | undefined {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? undefined : `${where} is not a finite number`;
    case 'string': {
      const surrogate = surrogateProblem(v);
      return surrogate && `${where} ${quote(v)} ${surrogate}`;
    }
    case 'boolean':
      return undefined;
    case 'object':
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (typeof v[i] !== 'number' || !Number.isFinite(v[i])) {
            return `${where}[${i}] must be a finite number (lists hold numbers only), got ${describeValue(v[i])}`;
          }
        }
        return undefined;
      }
      return `${where} must be a number, string, boolean or list of numbers, got ${describeValue(v)}`;
    default:
      return `${where} must be a number, string, boolean or list of numbers`;
  }
}

export function metricTypeOf(v: MetricValue): MetricType {
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  return 'list';
}
