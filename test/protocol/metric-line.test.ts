/** The metric line's rules (docs/metric-line.md), each with the reason a rejected line reads. */
import { metricTypeOf, parseMetricLine, validateMetricObject } from '../../src/protocol/metric-line';
import { describeValue, quote } from '../../src/protocol/describe';

test.each([
  ['{"name":"loss","value":0.25}', { metrics: { loss: 0.25 } }],
  ['{"name":"epochs","value":7,"step":0}', { metrics: { epochs: 7 }, step: 0 }],
  ['{"name":"note","value":"a string metric","time":1764000000.25}', { metrics: { note: 'a string metric' }, time: 1764000000.25 }],
  ['{"name":"converged","value":false}', { metrics: { converged: false } }],
  ['{"name":"chart","value":[1,3,5,10,6,4]}', { metrics: { chart: [1, 3, 5, 10, 6, 4] } }],
  ['{"name":"empty list","value":[]}', { metrics: { 'empty list': [] } }],
  ['{"metrics":{"loss":0.25,"accuracy":0.91},"step":10}', { metrics: { loss: 0.25, accuracy: 0.91 }, step: 10 }],
  ['{"time":0,"step":9007199254740991,"value":1,"name":"last key order does not matter"}', { metrics: { 'last key order does not matter': 1 }, step: 9007199254740991, time: 0 }],
])('%s is taken', (text, line) => {
  expect(parseMetricLine(text)).toEqual({ ok: true, line });
});

test.each([
  ['{"name":"a","value":1', /^not valid JSON \(/],
  ['[1,2]', 'a metric line must be a JSON object'],
  ['null', 'a metric line must be a JSON object'],
  ['"loss"', 'a metric line must be a JSON object'],
  ['{"name":"a","value":1,"unit":"s"}', 'unknown field "unit"'],
  ['{"name":"a","value":1,"metrics":{"b":2}}', 'use either "name" and "value" or "metrics", not both'],
  ['{"metrics":[1]}', '"metrics" must be an object'],
  ['{"metrics":{}}', '"metrics" is empty'],
  ['{"value":1}', 'missing "name" (or "metrics")'],
  ['{}', 'missing "name" (or "metrics")'],
  ['{"name":7,"value":1}', '"name" must be a string, got 7'],
  ['{"name":"","value":1}', 'metric name is empty'],
  ['{"name":"a\\u0000b","value":1}', 'metric name contains a NUL character'],
  ['{"name":"a\\ud800","value":1}', 'metric name "a\\ud800" contains a lone surrogate (U+D800), not valid Unicode'],
  ['{"name":"a"}', 'missing "value"'],
  ['{"name":"a","value":null}', '"value" must be a number, string, boolean or list of numbers, got null'],
  ['{"name":"a","value":{"x":1}}', '"value" must be a number, string, boolean or list of numbers, got an object'],
  ['{"name":"a","value":1e999}', '"value" is not a finite number'],
  ['{"name":"a","value":[1,"2"]}', '"value"[1] must be a finite number (lists hold numbers only), got "2"'],
  ['{"name":"a","value":[1,[2]]}', '"value"[1] must be a finite number (lists hold numbers only), got a list of 1 item'],
  ['{"name":"a","value":"\\udc00"}', '"value" "\\udc00" contains a lone surrogate (U+DC00), not valid Unicode'],
  ['{"metrics":{"a":1,"b":true,"c":null}}', 'metrics["c"] must be a number, string, boolean or list of numbers, got null'],
  ['{"metrics":{"":1}}', 'metric name is empty'],
  ['{"name":"a","value":1,"step":-1}', '"step" must be an integer >= 0, got -1'],
  ['{"name":"a","value":1,"step":1.5}', '"step" must be an integer >= 0, got 1.5'],
  ['{"name":"a","value":1,"step":"3"}', '"step" must be an integer >= 0, got "3"'],
  ['{"name":"a","value":1,"step":9007199254740992}', '"step" must be an integer >= 0, got 9007199254740992'],
  ['{"name":"a","value":1,"time":-1}', '"time" must be seconds since the epoch, got -1'],
  ['{"name":"a","value":1,"time":"now"}', '"time" must be seconds since the epoch, got "now"'],
])('%s is rejected: %s', (text, reason) => {
  const result = parseMetricLine(text);
  expect(result.ok).toBe(false);
  if (!result.ok && typeof reason === 'string') expect(result.reason).toBe(reason);
  if (!result.ok && typeof reason !== 'string') expect(result.reason).toMatch(reason);
});

test('names are bounded by the caller\'s limit (limits.maxNameChars), in both forms', () => {
  expect(parseMetricLine(`{"name":"${'n'.repeat(256)}","value":1}`).ok).toBe(true);
  expect(parseMetricLine(`{"name":"${'n'.repeat(257)}","value":1}`)).toEqual({ ok: false, reason: 'metric name is longer than 256 characters' });
  expect(parseMetricLine('{"metrics":{"abcd":1}}', 3)).toEqual({ ok: false, reason: 'metric name is longer than 3 characters' });
});

test('"metrics" holds at most limits.maxMetricsPerLine entries', () => {
  const metrics = (n: number) => JSON.stringify({ metrics: Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i])) });
  expect(parseMetricLine(metrics(3), 256, 3).ok).toBe(true);
  expect(parseMetricLine(metrics(4), 256, 3)).toEqual({
    ok: false,
    reason: '"metrics" has more than 3 entries, the limit of a line (limits.maxMetricsPerLine)',
  });
});

test('the JSON batch form is judged by the same rules, on the parsed object', () => {
  expect(validateMetricObject({ name: 'a', value: 1, step: 2 })).toEqual({ ok: true, line: { metrics: { a: 1 }, step: 2 } });
  expect(validateMetricObject({ name: 'a', value: NaN })).toEqual({ ok: false, reason: '"value" is not a finite number' });
  expect(validateMetricObject({ name: 'a', value: () => 1 })).toEqual({ ok: false, reason: '"value" must be a number, string, boolean or list of numbers' });
  expect(validateMetricObject([{ name: 'a', value: 1 }])).toEqual({ ok: false, reason: 'a metric line must be a JSON object' });
});

test('a series type follows its values: integer, float, string, boolean, list', () => {
  expect([7, -0, 0.5, 'x', true, [1, 2]].map(metricTypeOf)).toEqual(['integer', 'integer', 'float', 'string', 'boolean', 'list']);
});

describe('values in reasons are described in a few words, never whole', () => {
  test('a long string is cut at 40 characters, saying how long it was, and never splits a surrogate pair', () => {
    expect(quote('short')).toBe('"short"');
    expect(quote('x'.repeat(50))).toBe(`"${'x'.repeat(40)}..." (50 characters)`);
    expect(quote(`${'x'.repeat(39)}😀tail`)).toBe(`"${'x'.repeat(39)}..." (45 characters)`);
  });

  test('a list or an object by its kind, a scalar as written', () => {
    expect([undefined, null, 1.5, false, 10n, [1], [1, 2], { a: 1 }, Symbol('s')].map(describeValue)).toEqual([
      'nothing',
      'null',
      '1.5',
      'false',
      '10',
      'a list of 1 item',
      'a list of 2 items',
      'an object',
      'symbol',
    ]);
  });
});

