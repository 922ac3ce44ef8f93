/** The regex fast path for the loggers' common line must decide exactly as JSON.parse plus the checks. */
import { parseGeneralLine, parseMetricLine, parsePlainLine } from '../../src/protocol/metric-line';

const names = ['loss', 'a b/c.d-e_f', 'ü', '😀', 'x'.repeat(256), 'x'.repeat(257), '', 'q\\"uote', 'back\\\\slash', 'nul\\u0000', 'tab\t'];
const numbers = ['0', '-0', '7', '-7', '0.5', '1e3', '1E-3', '2.5e+10', '1e999', '-1e999', '01', '1.', '.5', '+1', '0x10', 'NaN', '9007199254740993', '1.7976931348623157e308'];
const steps = [undefined, '0', '3', '9007199254740991', '9007199254740992', '-1', '01', '1.5', '1e3', '"3"'];
const times = [undefined, '1764000000.25', '0', '-1', '1e999', '"now"'];

function* lines(): Generator<string> {
  for (const n of names)
    for (const v of numbers)
      for (const s of steps)
        for (const t of times) yield `{"name":"${n}","value":${v}${s === undefined ? '' : `,"step":${s}`}${t === undefined ? '' : `,"time":${t}`}}`;
  yield '{"name":"a","value":1,"step":2,"time":3,"extra":1}';
  yield '{"name":"a","value":1,"name":"b"}';
  yield '{"name":"a", "value":1}';
  yield '{"name":"a","value":1} ';
  yield ' {"name":"a","value":1}';
  yield '{"value":1,"name":"a"}';
  yield '{"name":"a","value":1,"time":1,"step":2}';
  yield '{"name":"a","value":"1"}';
}

test('every line the fast path takes is one the general path takes, with the same result; the rest decide as before', () => {
  let fast = 0;
  let total = 0;
  for (const text of lines()) {
    total++;
    const general = parseGeneralLine(text);
    const plain = parsePlainLine(text);
    if (plain) {
      fast++;
      expect({ text, result: general }).toEqual({ text, result: { ok: true, line: plain } });
      // -0 stays -0, as JSON.parse gives it.
      if (general.ok && 'metrics' in general.line) for (const k in plain.metrics) expect(Object.is(plain.metrics[k], general.line.metrics[k])).toBe(true);
    }
    expect({ text, result: parseMetricLine(text) }).toEqual({ text, result: general });
  }
  // The corpus exercises both paths.
  expect(fast).toBeGreaterThan(500);
  expect(total - fast).toBeGreaterThan(5000);
});

test('the fast path honours a smaller name limit', () => {
  expect(parsePlainLine('{"name":"abcd","value":1}', 3)).toBeUndefined();
  expect(parseMetricLine('{"name":"abcd","value":1}', 3)).toEqual({ ok: false, reason: 'metric name is longer than 3 characters' });
});

describe('metric names that are also Object.prototype names', () => {
  test('both paths keep "__proto__" and "constructor" as ordinary metrics', () => {
    for (const text of ['{"name":"__proto__","value":1}', '{"metrics":{"__proto__":1,"constructor":2}}', '{"name":"__proto__","value":"s"}']) {
      const r = parseMetricLine(text);
      expect(r.ok).toBe(true);
      if (r.ok && 'metrics' in r.line) expect(Object.keys(r.line.metrics).sort()).toEqual(Object.keys(JSON.parse(text).metrics ?? { [JSON.parse(text).name]: 0 }).sort());
    }
  });
});
