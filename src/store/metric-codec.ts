/** How a metric value sits in a SQLite column: a kind tag beside a number or a text. */
import { MetricType, MetricValue, metricTypeOf } from '../protocol';

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
