/** The NDJSON form: the loggers' line taken straight into its wire line must give what the general path gives. */
import { parseGeneralLine } from '../../src/protocol/metric-line';
import type { WireLine } from '../../src/protocol';
import { parseNdjsonBatch } from '../../src/service/ndjson-batch';

const limits = { maxLineBytes: 65_536, maxNameChars: 256, maxBatchLines: 100_000, maxMetricsPerLine: 1_000, maxBatchCells: 100_000 };
const headers = { stream: 's', firstSeq: 7, file: 'metrics.jsonl', time: 1_700_000_000 };

/** What the batch must hold for `text` at `seq`, by the general path alone. */
function expected(text: string, seq: number): WireLine | undefined {
  const t = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (t.trim() === '') return undefined;
  const r = parseGeneralLine(t);
  if (!r.ok) return { seq, time: headers.time, error: r.reason };
  if (!('metrics' in r.line)) throw new Error('corpus holds metric lines only');
  const w: WireLine = { seq, time: r.line.time ?? headers.time, metrics: r.line.metrics };
  if (r.line.step !== undefined) w.step = r.line.step;
  return w;
}

test('plain lines (with and without step and time, "__proto__", CRLF, blank lines between) give the wire lines of the general path', () => {
  const texts = [
    '{"name":"loss","value":0.5,"step":1,"time":1764000000.25}',
    '{"name":"loss","value":-0}',
    '{"name":"__proto__","value":3,"step":2}',
    '',
    '{"name":"acc","value":1e3,"time":0}\r',
    '{"name":"acc","value":1,"step":9007199254740992}',
    '{"name":"x","value":1,"time":-1}',
    '{"metrics":{"a":1,"b":"s"},"step":4}',
    '   ',
    '{"name":"y","value":2}',
  ];
  const batch = parseNdjsonBatch(Buffer.from(texts.map((t) => `${t}\n`).join('')), headers, limits);
  const want = texts.map((t, i) => expected(t, headers.firstSeq + i)).filter((w): w is WireLine => w !== undefined);
  expect(batch.lines).toEqual(want);
  for (const [i, w] of batch.lines.entries()) expect(Object.keys(w)).toEqual(Object.keys(want[i]));
  expect(batch.lines.find((w) => w.seq === 8 && 'metrics' in w && Object.is(w.metrics.loss, -0))).toBeDefined();
  expect(batch.lastSeq).toBe(headers.firstSeq + texts.length - 1);
});

test('plain lines count toward the cells of a batch', () => {
  const body = Buffer.from('{"name":"a","value":1}\n'.repeat(11));
  expect(() => parseNdjsonBatch(body, headers, { ...limits, maxBatchCells: 10 })).toThrow(/10/);
  expect(parseNdjsonBatch(body, headers, { ...limits, maxBatchCells: 11 }).lines).toHaveLength(11);
});
