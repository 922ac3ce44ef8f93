/** How a metric value sits in a SQLite column: a kind tag beside a number or a text. */
import { MetricType, MetricValue, metricTypeOf } from '../protocol';

export const KIND: Record<MetricType, number> = { integer: 0, float: 1, string: 2, boolean: 3, list: 4 };
const TYPE_OF_KIND: MetricType[] = ['integer', 'float', 'string', 'boolean', 'list'];

export function encodeValue(v: MetricValue): [kind: number, stored: number | string] {
  if (typeof v === 'number') return [Number.isInteger(v) ? 0 : 1, v];
  if (typeof v === 'string') return [2, v];
  if (typeof v === 'boolean') return [3, v ? 1 : 0];
  return [4, JSON.stringify(v)];
}

export function decodeValue(kind: number, stored: unknown): MetricValue {
  switch (kind) {
    case 0:
    case 1:
      return Number(stored);
    case 2:
      return String(stored);
    case 3:
      return stored === 1 || stored === 1n;
    default:
      return JSON.parse(String(stored)) as number[];
  }
}

export function typeOfKind(kind: number): MetricType {
  return TYPE_OF_KIND[kind];
}

/** A series keeps the type of its first value, widening integer to float when floats follow. */
export function widenType(current: MetricType, v: MetricValue): MetricType {
  const t = metricTypeOf(v);
  if (current === 'integer' && t === 'float') return 'float';
  return current;
}
