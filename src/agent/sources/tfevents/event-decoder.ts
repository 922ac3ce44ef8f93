/**
 * TensorBoard's Event protos, decoded with protobufjs from the vendored .proto
 * (proto/tensorboard-event.proto): a scalar is a Summary value's `simple_value`, or a tensor
 * holding one number, boolean or string (TF2, Keras, PyTorch's new_style scalars, text
 * summaries). A float32 is stored as the very value it is (0.1f is 0.10000000149011612, as
 * TensorBoard's own reader returns it): nothing is rounded on the way. Everything else (images, histograms, audio, graphs, hparams' own records) is not a
 * metric and is passed over.
 */
import protobuf from 'protobufjs';
import { EVENT_PROTOS } from './event-protos';

// int64 fields (the step) as numbers, not Long objects: a step beyond 2^53 is no metric step
// anyway, and a Long per event was a good part of the decoding's garbage.
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

const root = protobuf.Root.fromJSON(EVENT_PROTOS as unknown as protobuf.INamespace);
const EventType = root.lookupType('tensorboard.Event');

/** DataType numbers (types.proto). */
const DT = { FLOAT: 1, DOUBLE: 2, INT32: 3, UINT8: 4, INT16: 5, INT8: 6, STRING: 7, INT64: 9, BOOL: 10, UINT16: 17, UINT32: 22, UINT64: 23 } as const;

export type ScalarValue = number | string | boolean;

/** One value of an event: its tag, and the scalar or why it cannot be stored. */
export type EventValue = { tag: string; value: ScalarValue } | { tag: string; problem: string };

export interface DecodedEvent {
  step: number;
  wallTime: number;
  values: EventValue[];
}

interface LongLike {
  toNumber(): number;
}

interface RawTensor {
  dtype?: number;
  tensor_shape?: { dim?: { size?: number | LongLike }[]; unknown_rank?: boolean };
  tensor_content?: Uint8Array;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: (number | LongLike)[];
  bool_val?: boolean[];
  uint32_val?: number[];
  uint64_val?: (number | LongLike)[];
}

interface RawValue {
  tag?: string;
  metadata?: { plugin_data?: { plugin_name?: string } };
  simple_value?: number;
  tensor?: RawTensor;
}

interface RawEvent {
  wall_time?: number;
  step?: number | LongLike;
  summary?: { value?: RawValue[] };
}

const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

const toNumber = (v: number | LongLike | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

/** Decodes one record's data; throws when it is not an Event. */
export function decodeEvent(data: Uint8Array): DecodedEvent {
  const e = EventType.decode(data) as unknown as RawEvent;
  const values: EventValue[] = [];
  for (const v of e.summary?.value ?? []) {
    const tag = v.tag ?? '';
    // The hparams plugin's records describe the session, they are not values.
    if (v.metadata?.plugin_data?.plugin_name === 'hparams') continue;
    let value: ScalarValue | undefined;
    // Set on the wire only (proto3 reads unset fields as their defaults).
    if (has(v, 'simple_value')) value = v.simple_value!;
    else if (has(v, 'tensor')) value = tensorScalar(v.tensor!);
    if (value === undefined) continue;
    if (typeof value === 'number' && !Number.isFinite(value)) values.push({ tag, problem: `${Number.isNaN(value) ? 'NaN' : value > 0 ? '+Infinity' : '-Infinity'}, which a metric cannot hold (finite numbers only)` });
    else values.push({ tag, value });
  }
  return { step: toNumber(e.step), wallTime: e.wall_time ?? 0, values };
}

/** A tensor holding exactly one number, boolean or string; undefined for anything else. */
function tensorScalar(t: RawTensor): ScalarValue | undefined {
  const dims = t.tensor_shape?.dim ?? [];
  if (t.tensor_shape?.unknown_rank) return undefined;
  for (const d of dims) if (toNumber(d.size) !== 1) return undefined;
  const content = t.tensor_content && t.tensor_content.length > 0 ? Buffer.from(t.tensor_content.buffer, t.tensor_content.byteOffset, t.tensor_content.byteLength) : null;
  switch (t.dtype) {
    case DT.FLOAT:
      return content ? (content.length === 4 ? content.readFloatLE(0) : undefined) : first(t.float_val);
    case DT.DOUBLE:
      return content ? (content.length === 8 ? content.readDoubleLE(0) : undefined) : first(t.double_val);
    case DT.INT32:
      return content ? (content.length === 4 ? content.readInt32LE(0) : undefined) : first(t.int_val);
    case DT.INT16:
      return content ? (content.length === 2 ? content.readInt16LE(0) : undefined) : first(t.int_val);
    case DT.INT8:
      return content ? (content.length === 1 ? content.readInt8(0) : undefined) : first(t.int_val);
    case DT.UINT8:
      return content ? (content.length === 1 ? content.readUInt8(0) : undefined) : first(t.int_val);
    case DT.UINT16:
      return content ? (content.length === 2 ? content.readUInt16LE(0) : undefined) : first(t.int_val);
    case DT.UINT32:
      return content ? (content.length === 4 ? content.readUInt32LE(0) : undefined) : first(t.uint32_val);
    case DT.INT64:
      return content ? (content.length === 8 ? Number(content.readBigInt64LE(0)) : undefined) : first(t.int64_val, toNumber);
    case DT.UINT64:
      return content ? (content.length === 8 ? Number(content.readBigUInt64LE(0)) : undefined) : first(t.uint64_val, toNumber);
    case DT.BOOL:
      return content ? (content.length === 1 ? content[0] !== 0 : undefined) : first(t.bool_val);
    case DT.STRING:
      // Strings are never in tensor_content: their lengths are varints there.
      return t.string_val?.length === 1 ? Buffer.from(t.string_val[0]).toString('utf8') : undefined;
    default:
      return undefined;
  }
}

function first<T, R = T>(list: T[] | undefined, map?: (v: T) => R): R | undefined {
  if (!list || list.length !== 1) return undefined;
  return map ? map(list[0]) : (list[0] as unknown as R);
}

/** One value as a metric line, the form the service reads fastest (name, value, step, time). */
export function metricLine(tag: string, value: ScalarValue, step: number, time: number): string {
  const v = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `{"name":${jsonTag(tag)},"value":${v},"step":${step},"time":${time}}\n`;
}

/** Tags repeat on every event: each is quoted once (up to a few thousand of them). */
const quotedTags = new Map<string, string>();

function jsonTag(tag: string): string {
  let q = quotedTags.get(tag);
  if (q === undefined) {
    q = JSON.stringify(tag);
    if (quotedTags.size < 4096) quotedTags.set(tag, q);
  }
  return q;
}

/** Encodes an Event (tests and benchmarks write event files with it). */
export function encodeEvent(e: { wall_time: number; step: number; file_version?: string; summary?: { value: Record<string, unknown>[] } }): Uint8Array {
  return EventType.encode(EventType.fromObject(e)).finish();
}
