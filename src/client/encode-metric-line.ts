/**
 * Turns one log() call into one spool line (docs/metric-line.md), refusing what the agent would reject.
 *
 * Values come from user code. What is checked is a copy read once (plain lists of what the items
 * were, a plain object of the metrics), and that copy is what JSON.stringify writes: a getter, a
 * Proxy or a toJSON cannot change the line after the check, nor make stringify recurse. Messages
 * describe a value in a few words, never by serialising it. So a deep, cyclic or hostile value is
 * an OUTPOST_ERR_BAD_LINE naming the metric, never a RangeError.
 */
import { settings } from '../../config';
import { checkParams, checkTags, describeValue, E, MetricValue, OutpostError, type ParamValue, quote, setOwn, validateMetricObject } from '../protocol';

export interface LogOptions {
  /** Integer >= 0: the x axis of charts. */
  step?: number;
}

/** `{"name":<name>,"value":` per name already checked: the common call (a finite number) skips the object path. */
const prefixes = new Map<string, string>();
const MAX_PREFIXES = 10_000;

/** One line, ending in "\n". `time` is stamped here: the agent may read the line much later (`outpost sync`). */
export function encodeMetric(name: string, value: MetricValue, opts?: LogOptions): string {
  const prefix = prefixes.get(name);
  if (prefix !== undefined && typeof value === 'number' && Number.isFinite(value)) {
    const step = opts?.step;
    if (step === undefined) return `${prefix}${value},"time":${Date.now() / 1000}}\n`;
    // Same rule as the protocol's: an integer >= 0 (a safe one, as JSON readers need).
    if (Number.isSafeInteger(step) && step >= 0) return `${prefix}${value},"step":${step},"time":${Date.now() / 1000}}\n`;
  }
  const line = encodeObject(name, value, opts);
  if (prefix === undefined && typeof name === 'string' && prefixes.size < MAX_PREFIXES) prefixes.set(name, `{"name":${JSON.stringify(name)},"value":`);
  return line;
}

function encodeObject(name: string, value: MetricValue, opts?: LogOptions): string {
  // Not a string: the reason says what it is.
  const what = typeof name === 'string' ? `metric ${quote(name)}` : 'a metric';
  const obj: { name: string; value: MetricValue; step?: number; time?: number } = { name, value: plainValue(value, what) };
  const step = checkedStep(opts, what);
  if (step !== undefined) obj.step = step;
  obj.time = Date.now() / 1000;
  return encode(obj, what);
}

export function encodeMetrics(metrics: Record<string, MetricValue>, opts?: LogOptions): string {
  const plain = isPlainObjectLike(metrics) ? plainMetrics(metrics) : metrics;
  const what = isPlainObjectLike(plain) ? `metrics ${names(plain)}` : 'metrics';
  const obj: { metrics: Record<string, MetricValue>; step?: number; time?: number } = { metrics: plain };
  const step = checkedStep(opts, what);
  if (step !== undefined) obj.step = step;
  obj.time = Date.now() / 1000;
  return encode(obj, what);
}

/**
 * The run's params as one line, flattened as the service keeps them (model.depth), each value read
 * once; the first value of a param is the one it keeps (a different one later is a rejected line).
 */
export function encodeParams(params: Record<string, unknown>): string {
  const r = readForeign('params', () => checkParams(params, metaLimits()));
  if (!r.ok) throw E.cannotLog('params', r.reason);
  const plain: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(r.value)) setOwn(plain, k, Array.isArray(v) ? [...v] : v);
  return lineOf({ params: plain }, 'params');
}

/** Tags as one line: each a string, number or boolean (kept as text), or null to remove it. */
export function encodeTags(tags: Record<string, unknown>): string {
  const r = readForeign('tags', () => checkTags(tags, metaLimits()));
  if (!r.ok) throw E.cannotLog('tags', r.reason);
  return lineOf({ tags: { ...r.value } }, 'tags');
}

function metaLimits() {
  return { maxNameChars: settings.limits.maxNameChars, maxEntries: settings.limits.maxMetricsPerLine };
}

function encode(obj: object, what: string): string {
  const checked = validateMetricObject(obj, settings.limits.maxNameChars, settings.limits.maxMetricsPerLine);
  if (!checked.ok) throw E.cannotLog(what, checked.reason);
  return lineOf(obj, what);
}

/** A checked line's JSON, refused past the line limit. */
function lineOf(obj: object, what: string): string {
  const line = JSON.stringify(obj);
  // A UTF-8 byte is at most 3 per UTF-16 unit: only long lines need the exact count.
  if (line.length * 3 > settings.limits.maxLineBytes && Buffer.byteLength(line) > settings.limits.maxLineBytes) {
    throw E.lineTooLong(what, Buffer.byteLength(line), settings.limits.maxLineBytes);
  }
  return `${line}\n`;
}

/** The step, read once; the protocol's rule, checked here so that its message never serialises the value. */
function checkedStep(opts: LogOptions | undefined, what: string): number | undefined {
  const step: unknown = opts?.step;
  if (step === undefined) return undefined;
  if (typeof step === 'number' && Number.isSafeInteger(step) && step >= 0) return step;
  const got = readForeign(what, () => describeValue(step));
  throw E.cannotLog(what, `"step" must be an integer >= 0, got ${got}`);
}

/** A list copied item by item (each read once), anything else as it is: primitives, or what validation refuses. */
function plainValue(v: unknown, what: string): MetricValue {
  if (!Array.isArray(v)) return v as MetricValue;
  return readForeign(what, () => {
    const n = v.length;
    // Each item takes at least two bytes ("1,"): a longer list cannot fit in a line.
    if (n > settings.limits.maxLineBytes / 2) {
      throw E.tooLarge(`cannot log ${what}: the list has ${n} items, more than a ${settings.limits.maxLineBytes}-byte metric line holds`);
    }
    const copy = new Array<number>(n);
    for (let i = 0; i < n; i++) copy[i] = v[i] as number;
    return copy;
  });
}

/** The metrics as a plain object of plain values, each entry read once (for...in, as validation walks them). */
function plainMetrics(metrics: object): Record<string, MetricValue> {
  return readForeign(`metrics`, () => {
    const copy: Record<string, MetricValue> = {};
    const src = metrics as Record<string, unknown>;
    for (const name in src) setOwn(copy, name, plainValue(src[name], `metrics ${quote(name)}`));
    return copy;
  });
}

/** Runs code that reads the caller's value (a Proxy trap, a getter): what it throws becomes a refusal naming the metric. */
function readForeign<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw E.cannotLog(what, `reading the value failed (${err instanceof Error ? `${err.name}: ${err.message}` : typeof err})`);
  }
}

function isPlainObjectLike(v: unknown): v is Record<string, MetricValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** ["a","b"], shortened past 10 names. */
function names(metrics: object): string {
  const shown: string[] = [];
  let n = 0;
  for (const name in metrics) if (n++ < 10) shown.push(quote(name));
  return `[${shown.join(',')}${n > 10 ? `,... (${n} names)` : ''}]`;
}
