/** Turns one log() call into one spool line (docs/metric-line.md), refusing what the agent would reject. */
import { settings } from '../../config';
import { E, MetricValue, validateMetricObject } from '../protocol';

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
  const obj: { name: string; value: MetricValue; step?: number; time?: number } = { name, value };
  if (opts?.step !== undefined) obj.step = opts.step;
  obj.time = Date.now() / 1000;
  return encode(obj, `metric "${name}"`);
}

export function encodeMetrics(metrics: Record<string, MetricValue>, opts?: LogOptions): string {
  const obj: { metrics: Record<string, MetricValue>; step?: number; time?: number } = { metrics };
  if (opts?.step !== undefined) obj.step = opts.step;
  obj.time = Date.now() / 1000;
  return encode(obj, `metrics ${JSON.stringify(Object.keys(metrics ?? {}))}`);
}

function encode(obj: object, what: string): string {
  const checked = validateMetricObject(obj, settings.limits.maxNameChars);
  if (!checked.ok) throw E.cannotLog(what, checked.reason);
  const line = JSON.stringify(obj);
  // A UTF-8 byte is at most 3 per UTF-16 unit: only long lines need the exact count.
  if (line.length * 3 > settings.limits.maxLineBytes && Buffer.byteLength(line) > settings.limits.maxLineBytes) {
    throw E.lineTooLong(what, Buffer.byteLength(line), settings.limits.maxLineBytes);
  }
  return `${line}\n`;
}
