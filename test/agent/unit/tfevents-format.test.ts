/** TFRecord framing and TensorBoard's Event decoding, on bytes made here: no process, no file. */
import { decodeEvent, encodeEvent, metricLine } from '../../../src/agent/sources/tfevents/event-decoder';
import { frameRecord, frameRecords, maskedCrc32c } from '../../../src/agent/sources/tfevents/record-framing';
import { parseMetricLine } from '../../../src/protocol';

const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_INT32 = 3;
const DT_STRING = 7;
const DT_INT64 = 9;
const DT_BOOL = 10;

const scalarEvent = (tag: string, v: number, step: number, wall = 1_700_000_000.5) => encodeEvent({ wall_time: wall, step, summary: { value: [{ tag, simple_value: v }] } });
const tensorEvent = (tag: string, tensor: Record<string, unknown>, step = 1) => encodeEvent({ wall_time: 1, step, summary: { value: [{ tag, tensor }] } });

test("masked CRC32C is TFRecord's (the value of the empty string and of a known header)", () => {
  // crc32c("") = 0; masked: rotate right 15, plus 0xa282ead8.
  expect(maskedCrc32c(new Uint8Array(0))).toBe(0xa282ead8);
  // crc32c("123456789") = 0xe3069283 (the standard check value).
  const crc = 0xe3069283;
  expect(maskedCrc32c(Buffer.from('123456789'))).toBe(((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

test('records are read back as framed, each with its offsets', () => {
  const a = frameRecord(Buffer.from('first'));
  const b = frameRecord(Buffer.from('second record'));
  const f = frameRecords(Buffer.concat([a, b]), 100);
  expect(f.stop).toBeNull();
  expect(f.next).toBe(100 + a.length + b.length);
  expect(f.records.map((r) => [r.start, r.end, r.data!.toString()])).toEqual([
    [100, 100 + a.length, 'first'],
    [100 + a.length, 100 + a.length + b.length, 'second record'],
  ]);
});

test('a torn last record waits, whether it stops in its header, its data or its last checksum', () => {
  const a = frameRecord(Buffer.from('whole'));
  const b = frameRecord(Buffer.from('not yet whole'));
  for (const cut of [1, 11, 12, 15, b.length - 1]) {
    const f = frameRecords(Buffer.concat([a, b.subarray(0, cut)]));
    expect([cut, f.records.length, f.next, f.stop]).toEqual([cut, 1, a.length, 'torn']);
  }
});

test('a record whose data fails its checksum is skipped, the ones after it are read; a bad length stops the reading', () => {
  const a = frameRecord(Buffer.from('good'));
  const bad = frameRecord(Buffer.from('flipped'));
  bad[14] ^= 0xff;
  const c = frameRecord(Buffer.from('after'));
  const f = frameRecords(Buffer.concat([a, bad, c]));
  expect(f.records.map((r) => r.data?.toString() ?? null)).toEqual(['good', null, 'after']);
  const badLength = frameRecord(Buffer.from('x'));
  badLength[0] ^= 0x01;
  const g = frameRecords(Buffer.concat([a, badLength, c]));
  expect([g.records.length, g.next, g.stop]).toEqual([1, a.length, 'bad-length']);
});

test('simple_value scalars: tag, step and wall time; a float32 is its very value, as TensorBoard reads it', () => {
  expect(decodeEvent(scalarEvent('val/acc', 0.1, 42))).toEqual({ step: 42, wallTime: 1_700_000_000.5, values: [{ tag: 'val/acc', value: Math.fround(0.1) }] });
  expect(Math.fround(0.1)).toBe(0.10000000149011612);
});

test('rank-0 tensors of float (float_val or tensor_content), double, int32, int64 and bool; a string tensor of one element is a string metric', () => {
  const content = Buffer.alloc(4);
  content.writeFloatLE(0.25);
  const int64Content = Buffer.alloc(8);
  int64Content.writeBigInt64LE(-7n);
  const cases: [Record<string, unknown>, unknown][] = [
    [{ dtype: DT_FLOAT, tensor_shape: {}, float_val: [0.5] }, 0.5],
    [{ dtype: DT_FLOAT, tensor_shape: {}, tensor_content: content }, 0.25],
    [{ dtype: DT_DOUBLE, tensor_shape: {}, double_val: [0.1] }, 0.1], // a double stays one
    [{ dtype: DT_INT32, tensor_shape: {}, int_val: [-3] }, -3],
    [{ dtype: DT_INT64, tensor_shape: {}, int64_val: [9_007_199_254_740_991] }, 9_007_199_254_740_991],
    [{ dtype: DT_INT64, tensor_shape: {}, tensor_content: int64Content }, -7],
    [{ dtype: DT_BOOL, tensor_shape: {}, bool_val: [true] }, true],
    // PyTorch's add_text: a rank-1 tensor of one string.
    [{ dtype: DT_STRING, tensor_shape: { dim: [{ size: 1 }] }, string_val: [Buffer.from('héllo')] }, 'héllo'],
  ];
  for (const [tensor, value] of cases) expect([tensor, decodeEvent(tensorEvent('t', tensor)).values]).toEqual([tensor, [{ tag: 't', value }]]);
});

test('images, histograms, tensors of more than one element, events without a summary, and the hparams records are no metrics', () => {
  expect(decodeEvent(encodeEvent({ wall_time: 1, step: 0, file_version: 'brain.Event:2' })).values).toEqual([]);
  expect(decodeEvent(tensorEvent('hist', { dtype: DT_DOUBLE, tensor_shape: { dim: [{ size: 30 }, { size: 3 }] }, double_val: new Array(90).fill(1) })).values).toEqual([]);
  expect(decodeEvent(tensorEvent('img', { dtype: DT_STRING, tensor_shape: { dim: [{ size: 3 }] }, string_val: [Buffer.from('2'), Buffer.from('2'), Buffer.from('png')] })).values).toEqual([]);
  const image = encodeEvent({ wall_time: 1, step: 0, summary: { value: [{ tag: 'i', image: Buffer.from([8, 1, 16, 1]) }] } });
  expect(decodeEvent(image).values).toEqual([]);
  const hparams = encodeEvent({ wall_time: 1, step: 0, summary: { value: [{ tag: '_hparams_/experiment', metadata: { plugin_data: { plugin_name: 'hparams', content: Buffer.from([1]) } }, tensor: { dtype: DT_FLOAT, tensor_shape: {}, float_val: [0] } }] } });
  expect(decodeEvent(hparams).values).toEqual([]);
});

test('NaN and infinite values are named as such, to be recorded as rejected lines', () => {
  expect(decodeEvent(scalarEvent('loss', NaN, 3)).values).toEqual([{ tag: 'loss', problem: expect.stringMatching(/^NaN, which a metric cannot hold/) }]);
  expect(decodeEvent(scalarEvent('loss', Infinity, 3)).values).toEqual([{ tag: 'loss', problem: expect.stringMatching(/^\+Infinity/) }]);
});

test("a value's metric line is a valid metric line, in the form the service reads fastest", () => {
  const line = metricLine('val/acc "x"', 0.1, 7, 1_700_000_000.25);
  expect(parseMetricLine(line.slice(0, -1))).toEqual({ ok: true, line: { metrics: { 'val/acc "x"': 0.1 }, step: 7, time: 1_700_000_000.25 } });
  expect(parseMetricLine(metricLine('note', 'a "text"\n', 1, 2).trimEnd())).toEqual({ ok: true, line: { metrics: { note: 'a "text"\n' }, step: 1, time: 2 } });
  expect(parseMetricLine(metricLine('flag', true, 1, 2).trimEnd())).toMatchObject({ ok: true, line: { metrics: { flag: true } } });
});
