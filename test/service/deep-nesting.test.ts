/** Values nested 20,000 deep: no recursion over untrusted input may throw (a 500 the agent would retry for ever). */
import { validateMetricObject } from '../../src/protocol';
import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest } from './raw-http';

const DEPTH = 20_000;
const deepList = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
// An object around the deep list: 20,000 levels in 40 KB, under the 64 KiB line limit.
const deepObject = `{"a":${deepList}}`;

// Each one is a line of its own kind; the reason words what was wrong without the value.
const deepLines: [string, string, RegExp][] = [
  ['step', `{"name":"x","value":1,"step":${deepList}}`, /"step" must be an integer >= 0, got a list of 1 item/],
  ['time', `{"name":"x","value":1,"time":${deepObject}}`, /"time" must be seconds since the epoch, got an object/],
  ['value', `{"name":"x","value":${deepList}}`, /"value"\[0\] must be a finite number .*got a list of 1 item/],
  ['metrics entry', `{"metrics":{"m":${deepObject}}}`, /metrics\["m"\] must be a number, string, boolean or list of numbers, got an object/],
  ['name', `{"name":${deepList},"value":1}`, /"name" must be a string, got a list of 1 item/],
];

test('the validator describes a deep value without serialising it', () => {
  const deep = JSON.parse(deepList);
  const r = validateMetricObject({ name: 'x', value: 1, step: deep });
  expect(r).toEqual({ ok: false, reason: '"step" must be an integer >= 0, got a list of 1 item' });
  expect(validateMetricObject({ name: 'x', value: 1, time: 'x'.repeat(1000) })).toEqual({
    ok: false,
    reason: `"time" must be seconds since the epoch, got "${'x'.repeat(40)}..." (1000 characters)`,
  });
});

describe('deeply nested lines against the real service', () => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const api = (method: string, path: string, body?: unknown) => jsonRequest(svc.url, method, `/api/v1${path}`, body);

  beforeAll(async () => {
    svc = await startTempService();
    expect((await api('PUT', '/runs/deep', { experiment: 'e' })).status).toBe(200);
  });
  afterAll(() => svc.stopAndClean());

  test('as NDJSON lines: each is a rejected line with its reason, and the lines around them are stored', async () => {
    const body = [
      '{"name":"ok","value":0}',
      ...deepLines.flatMap(([, line], i) => [line, `{"name":"ok","value":${i + 1}}`]),
    ].join('\n');
    const res = await rawRequest(svc.url, {
      method: 'POST',
      path: '/api/v1/runs/deep/metrics',
      headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': 'nd', 'x-outpost-first-seq': '1' },
      body: `${body}\n`,
    });
    expect(res.status).toBe(200);
    const ack = res.json();
    expect(ack).toMatchObject({ ackedSeq: 1 + 2 * deepLines.length, stored: 1 + 2 * deepLines.length });
    expect(ack.rejected.map((r: { seq: number }) => r.seq)).toEqual(deepLines.map((_, i) => 2 + 2 * i));
    deepLines.forEach(([, , reason], i) => expect(ack.rejected[i].reason).toMatch(reason));
    const ok = (await api('GET', '/runs/deep/metrics/ok')).json();
    expect(ok.points.map((p: { value: number }) => p.value)).toEqual([0, 1, 2, 3, 4, 5]);
    const run = (await api('GET', '/runs/deep')).json();
    expect(run.rejectedLines).toBe(deepLines.length);
    expect(run.metrics.x).toBeUndefined();
  });

  const deepWireLines: [string, string][] = [
    ['step', `{"seq":2,"time":1,"step":${deepList},"metrics":{"x":1}}`],
    ['time', `{"seq":2,"time":${deepObject},"metrics":{"x":1}}`],
    ['value', `{"seq":2,"time":1,"metrics":{"x":${deepList}}}`],
    ['metrics entry', `{"seq":2,"time":1,"metrics":{"m":${deepObject}}}`],
    ['error', `{"seq":2,"time":1,"error":${deepList}}`],
  ];

  test.each(deepWireLines)('as a JSON batch, a deep %s is a 400 naming the line, and nothing of the batch is stored', async (what, line) => {
    const res = await api('POST', '/runs/deep/metrics', `{"stream":"json-${what}","lines":[{"seq":1,"time":1,"metrics":{"before":1}},${line}]}`);
    expect(res.status).toBe(400);
    const err = res.json().error;
    expect(err.field).toMatch(/lines(\[1\]|\.1)/);
    expect(err.message.length).toBeLessThan(500);
    expect((await api('GET', '/runs/deep/metrics/before')).status).toBe(404);
  });

  test('other JSON bodies nested 20,000 deep are 400s naming the field, never 500s', async () => {
    const cases: [string, string, string][] = [
      ['PUT', '/runs/deep', `{"name":${deepList}}`],
      ['PUT', '/runs/deep', `{"command":${deepObject}}`],
      ['POST', '/runs/deep/events', `{"kind":"warning","message":${deepList}}`],
      ['POST', '/assets', `{"run":"deep","prefix":${deepList},"name":"a"}`],
      ['POST', '/runs/deep/metrics', `{"stream":${deepObject},"lines":[]}`],
    ];
    for (const [method, path, body] of cases) {
      const res = await api(method, path, body);
      expect({ path, body: body.slice(0, 30), status: res.status }).toEqual({ path, body: body.slice(0, 30), status: 400 });
      expect(res.json().error.field).toMatch(/^body\.\w+/);
    }
  });
});
