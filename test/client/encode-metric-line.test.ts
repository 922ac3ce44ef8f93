import { encodeMetric, encodeMetrics, encodeParams, encodeTags } from '../../src/client/encode-metric-line';
import { OutpostError, parseMetricLine } from '../../src/protocol';

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
 * for a name logged before included.
 */
test('a name or string value holding a lone surrogate is refused, also for a name logged before, and a bad name is never cached', () => {
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

describe('deep, cyclic and hostile values', () => {
  const deep: unknown[] = [];
  let d = deep;
  for (let i = 0; i < 100_000; i++) {
    const next: unknown[] = [];
    d.push(next);
    d = next;
  }
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);

  const refusal = (f: () => unknown): OutpostError => {
    try {
      f();
    } catch (err) {
      return err as OutpostError;
    }
    throw new Error('accepted');
  };

  test.each([
    ['a list nested 100,000 deep', () => encodeMetric('m', deep as never), /^cannot log metric "m": "value"\[0\] must be a finite number/],
    ['a list nested 100,000 deep, in metrics', () => encodeMetrics({ m: deep as never }), /^cannot log metrics \["m"\]: metrics\["m"\]\[0\] must be a finite number/],
    ['a list nested 100,000 deep, as the name', () => encodeMetric(deep as never, 1), /^cannot log a metric: "name" must be a string, got a list of 1 item$/],
    ['a symbol as the name', () => encodeMetric(Symbol('s') as never, 1), /^cannot log a metric: "name" must be a string, got symbol$/],
    ['a list nested 100,000 deep, as the step', () => encodeMetric('m', 1, { step: deep as never }), /^cannot log metric "m": "step" must be an integer >= 0, got a list of 1 item$/],
    ['a list holding itself, as the step', () => encodeMetrics({ m: 1 }, { step: cyclic as never }), /^cannot log metrics \["m"\]: "step" must be an integer >= 0, got a list of 1 item$/],
    ['a BigInt as the step', () => encodeMetric('m', 1, { step: 10n as never }), /^cannot log metric "m": "step" must be an integer >= 0, got 10$/],
    ['a Proxy whose trap recurses', () => encodeMetric('m', new Proxy([1], { get: (t, k, r): unknown => (k === 'length' ? r.length : t[k as never]) }) as never), /^cannot log metric "m": reading the value failed \(RangeError: Maximum call stack size exceeded\)$/],
  ])('%s is an OUTPOST_ERR_BAD_LINE naming the metric, not a RangeError', (_what, call, message) => {
    const err = refusal(call);
    expect(err).toBeInstanceOf(OutpostError);
    expect(err.code).toBe('OUTPOST_ERR_BAD_LINE');
    expect(err.message).toMatch(message);
  });

  test('a list too long for any line is refused before it is written out, and a huge name is not repeated whole', () => {
    const long = refusal(() => encodeMetric('m', new Array(1_000_000).fill(0)));
    expect(long.code).toBe('OUTPOST_ERR_TOO_LARGE');
    expect(long.message).toBe('cannot log metric "m": the list has 1000000 items, more than a 65536-byte metric line holds');
    const named = refusal(() => encodeMetric('n'.repeat(1_000_000), 1));
    expect(named.message).toMatch(/^cannot log metric "n{40}\.\.\." \(1000000 characters\): metric name is longer than 256 characters$/);
  });

  test('what was checked is what is written: a toJSON, a getter or a class cannot change the line', () => {
    const toJsonDeep = Object.assign([1, 2], { toJSON: () => deep });
    const toJsonObject = Object.assign([3], { toJSON: () => ({ evil: true }) });
    let reads = 0;
    const flipping = [0];
    Object.defineProperty(flipping, 0, { enumerable: true, get: () => (reads++ === 0 ? 4 : { evil: true }) });
    class Metrics {
      loss = 0.5;
      toJSON() {
        return { loss: [[1]] };
      }
    }
    expect(decoded(encodeMetric('a', toJsonDeep))).toMatchObject({ value: [1, 2] });
    expect(decoded(encodeMetric('b', toJsonObject))).toMatchObject({ value: [3] });
    expect(decoded(encodeMetric('c', flipping))).toMatchObject({ value: [4] });
    expect(decoded(encodeMetrics(new Metrics() as never))).toMatchObject({ metrics: { loss: 0.5 } });
    expect(decoded(encodeMetrics({ list: toJsonObject }))).toMatchObject({ metrics: { list: [3] } });
  });
});

test('logMetrics() takes at most limits.maxMetricsPerLine metrics, the service\'s limit of a line', () => {
  const metrics = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i]));
  expect(decoded(encodeMetrics(metrics(1000))).metrics).toEqual(metrics(1000));
  expect(() => encodeMetrics(metrics(1001))).toThrow(/^cannot log metrics \["m0",.*,\.\.\. \(1001 names\)\]: "metrics" has more than 1000 entries, the limit of a line \(limits\.maxMetricsPerLine\)$/);
});

describe('the params and tags lines written by logParams() and setTags()', () => {
  test('params are one line, nested objects flattened as the service keeps them, each value with its JSON type', () => {
    const line = encodeParams({ lr: 0.01, model: { depth: 4, act: 'relu' }, layers: [64, 32], amp: true });
    expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1).toBe(true);
    expect(JSON.parse(line)).toEqual({ params: { lr: 0.01, 'model.depth': 4, 'model.act': 'relu', layers: [64, 32], amp: true } });
    const parsed = parseMetricLine(line.slice(0, -1));
    expect(parsed.ok && 'params' in parsed.line).toBe(true);
  });

  test('tags are kept as text, null removes one', () => {
    expect(JSON.parse(encodeTags({ team: 'vision', seed: 7, ok: false, stale: null }))).toEqual({ tags: { team: 'vision', seed: '7', ok: 'false', stale: null } });
  });

  test.each([
    [{ bad: null }, 'cannot log params: params["bad"] must be a number, string, boolean, list or object, got null'],
    [{}, 'cannot log params: "params" is empty'],
    [{ a: { '': 1 } }, 'cannot log params: a param name is empty'],
    [{ a: [[1]] }, 'cannot log params: params["a"][0] must be a finite number, a string or a boolean'],
    [{ a: Infinity }, 'cannot log params: params["a"] is not a finite number'],
    [{ 'a.b': 1, a: { b: 2 } }, 'cannot log params: param "a.b" is given twice'],
  ])('params %j are refused, naming what and where', (params, message) => {
    expect(() => encodeParams(params)).toThrow(expect.objectContaining({ message: expect.stringContaining(message) }));
    expect(() => encodeParams(params)).toThrow(OutpostError);
  });

  test.each([
    [{ a: [1] }, 'cannot log tags: tags["a"] must be a string, number, boolean or null (to remove it), got a list of 1 item'],
    [{ '': 'x' }, 'cannot log tags: a tag name is empty'],
    [{ a: '\ud800' }, 'cannot log tags: tags["a"] "\\ud800" contains a lone surrogate'],
  ])('tags %j are refused, naming what and where', (tags, message) => {
    expect(() => encodeTags(tags as Record<string, unknown>)).toThrow(expect.objectContaining({ message: expect.stringContaining(message) }));
  });
});
