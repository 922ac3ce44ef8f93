import { encodeMetric, encodeMetrics } from '../../src/client/encode-metric-line';
import { OutpostError, parseMetricLine, validateMetricObject } from '../../src/protocol';

function decoded(line: string): Record<string, unknown> {
  expect(line.endsWith('\n')).toBe(true);
  expect(line.slice(0, -1)).not.toContain('\n');
  const parsed = parseMetricLine(line.slice(0, -1));
  expect(parsed.ok).toBe(true);
  return JSON.parse(line);
}

describe('the metric line written by log()', () => {
  test('each value type is written as the JSON type the contract names, with a time stamp', () => {
    const before = Date.now() / 1000;
    expect(decoded(encodeMetric('simple integer value', 7))).toMatchObject({ name: 'simple integer value', value: 7 });
    expect(decoded(encodeMetric('simple float value', 3.141592))).toMatchObject({ value: 3.141592 });
    expect(decoded(encodeMetric('simple string value', 'this is a string metric'))).toMatchObject({ value: 'this is a string metric' });
    expect(decoded(encodeMetric('flag', false))).toMatchObject({ value: false });
    expect(decoded(encodeMetric('chart data points', [1, 3, 5, 10, 6, 4]))).toMatchObject({ value: [1, 3, 5, 10, 6, 4] });
    const t = decoded(encodeMetric('x', 1)).time as number;
    expect(t).toBeGreaterThanOrEqual(before - 1);
    expect(t).toBeLessThanOrEqual(Date.now() / 1000 + 1);
  });

  test('step and several metrics at once', () => {
    expect(decoded(encodeMetric('loss', 0.5, { step: 3 }))).toMatchObject({ name: 'loss', value: 0.5, step: 3 });
    expect(decoded(encodeMetrics({ loss: 0.25, acc: 0.91 }, { step: 10 }))).toMatchObject({ metrics: { loss: 0.25, acc: 0.91 }, step: 10 });
  });

  test('unicode and quotes survive as one line', () => {
    expect(decoded(encodeMetric('naïve "name"\n', 'line one\nline two ✓'))).toMatchObject({ name: 'naïve "name"\n', value: 'line one\nline two ✓' });
  });

  test.each([
    ['NaN', NaN, /"value" is not a finite number/],
    ['Infinity', Infinity, /"value" is not a finite number/],
    ['a nested list', [[1, 2]], /"value"\[0\] must be a finite number/],
    ['a list holding a string', [1, 'a'], /"value"\[1\] must be a finite number/],
    ['null', null, /got null/],
    ['an object', { a: 1 }, /got an object/],
    ['undefined', undefined, /missing "value"/],
  ])('%s is refused with the metric named and the reason', (_what, value, reason) => {
    expect(() => encodeMetric('bad one', value as never)).toThrow(/cannot log metric "bad one"/);
    expect(() => encodeMetric('bad one', value as never)).toThrow(reason);
  });

  test('a bad step, an empty name and an empty metrics object are refused', () => {
    expect(() => encodeMetric('loss', 1, { step: -1 })).toThrow(/"step" must be an integer >= 0/);
    expect(() => encodeMetric('loss', 1, { step: 1.5 })).toThrow(/"step" must be an integer >= 0/);
    expect(() => encodeMetric('', 1)).toThrow(/metric name is empty/);
    expect(() => encodeMetrics({})).toThrow(/"metrics" is empty/);
    expect(() => encodeMetrics({ ok: 1, bad: NaN })).toThrow(/metrics\["bad"\] is not a finite number/);
  });

  test('a line over the line limit is refused before it reaches the spool', () => {
    expect(() => encodeMetric('big', 'x'.repeat(70 * 1024))).toThrow(/over the 65536-byte limit/);
    expect(() => encodeMetric('big', 'é'.repeat(33 * 1024))).toThrow(/over the 65536-byte limit/);
    expect(() => encodeMetric('fits', 'x'.repeat(60 * 1024))).not.toThrow();
  });
});

test('a name seen before takes the fast path and writes the very same line, still refusing bad values', () => {
  const strip = (l: string) => l.replace(/"time":[0-9.]+/, '"time":0');
  const first = strip(encodeMetric('fast', 0.25, { step: 4 }));
  expect(strip(encodeMetric('fast', 0.25, { step: 4 }))).toBe(first);
  expect(strip(encodeMetric('fast', 1e21))).toBe(strip(encodeMetric('fast', 'x').replace('"x"', '1e+21')));
  expect(() => encodeMetric('fast', NaN)).toThrow(/not a finite number/);
  expect(() => encodeMetric('fast', 1, { step: -2 })).toThrow(/"step" must be an integer >= 0/);
});

/**
 * Lone surrogates (half of a UTF-16 pair) have no UTF-8 form: the protocol's validateMetricObject
 * refuses them in names and string values, and log() must never let one through, the fast path
 * for a name logged before included. That rule lands in src/protocol separately: until it is
 * there this test is expected to fail (test.failing); once it is, it runs as a plain test.
 */
const surrogateRuleInProtocol = !validateMetricObject({ name: 'x\ud800', value: 1 }).ok;

(surrogateRuleInProtocol ? test : test.failing)('a name or string value holding a lone surrogate is refused, also for a name logged before, and a bad name is never cached', () => {
  const refused = (f: () => unknown, reason: RegExp) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('OUTPOST_ERR_BAD_LINE');
    expect((err as Error).message).toMatch(reason);
  };
  // Checked once, then cached: the next number takes the fast path.
  expect(decoded(encodeMetric('cached', 1))).toMatchObject({ name: 'cached', value: 1 });
  refused(() => encodeMetric('cached', 'x\udc80y'), /cannot log metric "cached": .*lone surrogate \(U\+DC80\)/);
  expect(decoded(encodeMetric('cached', 2))).toMatchObject({ name: 'cached', value: 2 });
  // A bad name is refused every time: it never reaches the cache of checked names.
  for (let i = 0; i < 2; i++) refused(() => encodeMetric('bad \ud800', 1), /lone surrogate \(U\+D800\)/);
  refused(() => encodeMetrics({ ok: 1, 'bad \udfff': 2 }), /lone surrogate \(U\+DFFF\)/);
  refused(() => encodeMetrics({ ok: '\ud800' }), /lone surrogate \(U\+D800\)/);
  // A pair is one character, valid.
  expect(decoded(encodeMetric('emoji \ud83d\ude00', 'ok \ud83d\ude00'))).toMatchObject({ name: 'emoji 😀', value: 'ok 😀' });
});
