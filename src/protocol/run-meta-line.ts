/**
 * The run's own lines in the spool, beside the metric lines (docs/metric-line.md):
 *   {"params": {"lr": 0.01, "model": {"depth": 4}}}   hyperparameters, flattened: model.depth
 *   {"tags": {"team": "vision", "stale": null}}        set, overwritten, or removed (null)
 * Like every line they are checked here, once, and never recursively: nesting is walked with a
 * stack, and a key longer than a name may be ends the walk.
 */
import { describeValue, quote } from './describe';
import { setOwn } from './own-property';
import { surrogateProblem } from './unicode';

/** A param keeps its first value; lists hold numbers, strings and booleans. */
export type ParamValue = number | string | boolean | (number | string | boolean)[];

export interface RunMetaLimits {
  maxNameChars: number;
  /** Entries of one line, after flattening (limits.maxMetricsPerLine). */
  maxEntries: number;
}

export type MetaResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The params object of a line, flattened to dotted keys, or why it is refused. */
export function checkParams(raw: unknown, limits: RunMetaLimits): MetaResult<Record<string, ParamValue>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: `"params" must be an object, got ${describeValue(raw)}` };
  const out: Record<string, ParamValue> = {};
  let n = 0;
  const stack: [string, Record<string, unknown>][] = [['', raw as Record<string, unknown>]];
  while (stack.length > 0) {
    const [prefix, obj] = stack.pop()!;
    for (const key in obj) {
      const name = prefix + key;
      const bad = checkKey('param', key, name, limits.maxNameChars);
      if (bad) return { ok: false, reason: bad };
      const v = obj[key];
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        stack.push([`${name}.`, v as Record<string, unknown>]);
        continue;
      }
      const badValue = checkParamValue(v, `params[${quote(name)}]`);
      if (badValue) return { ok: false, reason: badValue };
      if (Object.prototype.hasOwnProperty.call(out, name)) return { ok: false, reason: `param ${quote(name)} is given twice (once flattened from a nested object)` };
      if (++n > limits.maxEntries) return { ok: false, reason: `"params" has more than ${limits.maxEntries} entries, the limit of a line (limits.maxMetricsPerLine)` };
      setOwn(out, name, v as ParamValue);
    }
  }
  if (n === 0) return { ok: false, reason: '"params" is empty' };
  return { ok: true, value: out };
}

/** The tags object of a line: each value a string (numbers and booleans as their JSON text), or null to remove. */
export function checkTags(raw: unknown, limits: RunMetaLimits): MetaResult<Record<string, string | null>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: `"tags" must be an object, got ${describeValue(raw)}` };
  const out: Record<string, string | null> = {};
  let n = 0;
  for (const key in raw as Record<string, unknown>) {
    const bad = checkKey('tag', key, key, limits.maxNameChars);
    if (bad) return { ok: false, reason: bad };
    const v = (raw as Record<string, unknown>)[key];
    const value = tagText(v);
    if (value === undefined) return { ok: false, reason: `tags[${quote(key)}] must be a string, number, boolean or null (to remove it), got ${describeValue(v)}` };
    if (value !== null) {
      const surrogate = surrogateProblem(value);
      if (surrogate) return { ok: false, reason: `tags[${quote(key)}] ${quote(value)} ${surrogate}` };
    }
    if (++n > limits.maxEntries) return { ok: false, reason: `"tags" has more than ${limits.maxEntries} entries, the limit of a line (limits.maxMetricsPerLine)` };
    setOwn(out, key, value);
  }
  if (n === 0) return { ok: false, reason: '"tags" is empty' };
  return { ok: true, value: out };
}

/** A tag's stored text: strings as they are, numbers and booleans as their JSON; null removes; undefined: not a tag value. */
export function tagText(v: unknown): string | null | undefined {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' && Number.isFinite(v)) return JSON.stringify(v);
  return undefined;
}

/** A param's value as JSON text: how it is stored and compared with strings ("0.01" = 0.01's text). */
export function paramText(v: ParamValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function checkKey(what: 'param' | 'tag', key: string, name: string, maxNameChars: number): string | undefined {
  if (key.length === 0) return `a ${what} name is empty`;
  if (name.length > maxNameChars) return `${what} name ${quote(name)} is longer than ${maxNameChars} characters`;
  if (name.includes('\u0000')) return `${what} name ${quote(name)} contains a NUL character`;
  const surrogate = surrogateProblem(key);
  if (surrogate) return `${what} name ${quote(name)} ${surrogate}`;
  return undefined;
}

function checkParamValue(v: unknown, where: string): string | undefined {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? undefined : `${where} is not a finite number`;
    case 'boolean':
      return undefined;
    case 'string': {
      const surrogate = surrogateProblem(v);
      return surrogate && `${where} ${quote(v)} ${surrogate}`;
    }
    case 'object':
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          const ok = typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item)) || (typeof item === 'string' && !surrogateProblem(item));
          if (!ok) return `${where}[${i}] must be a finite number, a string or a boolean (lists of params hold those), got ${describeValue(item)}`;
        }
        return undefined;
      }
      return `${where} must be a number, string, boolean, list or object, got ${describeValue(v)}`;
    default:
      return `${where} must be a number, string, boolean, list or object`;
  }
}
