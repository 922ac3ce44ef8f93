/** How a metric value or a param sits in a database column: a kind tag beside a number or a text. */
import { describeValue, MetricType, MetricValue, metricTypeOf, ParamValue, paramText, quote } from '../protocol';

/** The kind tags of points.kind and series.last_kind. They are on disk: never renumber one. */
export const KIND = { integer: 0, float: 1, string: 2, boolean: 3, list: 4 } as const satisfies Record<MetricType, number>;
export type Kind = (typeof KIND)[MetricType];

export function encodeValue(v: MetricValue): [kind: Kind, stored: number | string] {
  if (typeof v === 'number') return [Number.isInteger(v) ? KIND.integer : KIND.float, v];
  if (typeof v === 'string') return [KIND.string, v];
  if (typeof v === 'boolean') return [KIND.boolean, v ? 1 : 0];
  return [KIND.list, JSON.stringify(v)];
}

export function decodeValue(kind: number, stored: unknown): MetricValue {
  switch (kind) {
    case KIND.integer:
    case KIND.float:
      return Number(stored);
    case KIND.string:
      return String(stored);
    case KIND.boolean:
      return stored === 1 || stored === 1n;
    default:
      return JSON.parse(String(stored)) as number[];
  }
}

/** A series keeps the type of its first value, widening integer to float when floats follow. */
export function widenType(current: MetricType, v: MetricValue): MetricType {
  const t = metricTypeOf(v);
  if (current === 'integer' && t === 'float') return 'float';
  return current;
}

/** How a param's value is kept: its kind beside its JSON text (and its number, for comparisons). */
export function paramKind(v: ParamValue): 'number' | 'string' | 'boolean' | 'list' {
  return Array.isArray(v) ? 'list' : (typeof v as 'number' | 'string' | 'boolean');
}

/** A param's value from its kind and JSON text (a string's text is itself). */
export function paramValue(kind: string, text: string): ParamValue {
  return kind === 'string' ? text : (JSON.parse(text) as ParamValue);
}

/** Why a params line is rejected: `key` has another value already (a param keeps its first), or undefined. */
export function paramConflict(key: string, had: { kind: string; text: string } | undefined, value: ParamValue): string | undefined {
  if (!had || (had.text === paramText(value) && had.kind === paramKind(value))) return undefined;
  const said = typeof value === 'string' ? quote(value) : Array.isArray(value) ? describeValue(value) : String(value);
  return `param ${quote(key)} is ${had.kind === 'string' ? quote(had.text) : had.text} already; this line says ${said}: a param keeps its first value`;
}
