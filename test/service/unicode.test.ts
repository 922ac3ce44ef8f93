/** Lone surrogates: a string that is not well-formed Unicode is refused where it enters, so every name listed can be fetched. */
import { findIllFormedString } from '../../src/service/unicode-body';
import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest } from './raw-http';

describe('strings with a lone surrogate', () => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const api = (method: string, path: string, body?: unknown) => jsonRequest(svc.url, method, `/api/v1${path}`, body);
  const ndjson = (run: string, stream: string, body: string) =>
    rawRequest(svc.url, {
      method: 'POST',
      path: `/api/v1/runs/${run}/metrics`,
      headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': stream, 'x-outpost-first-seq': '1' },
      body,
    });

  beforeAll(async () => {
    svc = await startTempService();
    expect((await api('PUT', '/runs/u1', { experiment: 'e' })).status).toBe(200);
  });
  afterAll(() => svc.stopAndClean());

  test('as NDJSON: a name or string value with one is a rejected line naming it; every metric the run lists can be fetched by its name', async () => {
    // JSON escapes in the spool: the bytes are ASCII, the decoded strings are not well-formed.
    const lines = [
      '{"name":"ok","value":1}',
      '{"name":"\\ud800x","value":1}', // a lone high surrogate in a name
      '{"name":"s","value":"a\\udc00b"}', // a lone low surrogate in a string value
      '{"metrics":{"fine":1,"\\udfffz":2}}', // inside "metrics"
      '{"metrics":{"label":"\\ud83d"}}', // the first half of an emoji, alone
      '{"name":"😀 \\ud83d\\ude00","value":2}', // a pair, written raw and escaped: well-formed
      '{"name":"ok","value":3}',
    ];
    const res = await ndjson('u1', 'nd', `${lines.join('\n')}\n`);
    expect(res.status).toBe(200);
    const ack = res.json();
    expect(ack).toMatchObject({ ackedSeq: 7, stored: 7 });
    expect(ack.rejected).toEqual([
      { seq: 2, reason: 'metric name "\\ud800x" contains a lone surrogate (U+D800), not valid Unicode' },
      { seq: 3, reason: '"value" "a\\udc00b" contains a lone surrogate (U+DC00), not valid Unicode' },
      { seq: 4, reason: 'metric name "\\udfffz" contains a lone surrogate (U+DFFF), not valid Unicode' },
      { seq: 5, reason: 'metrics["label"] "\\ud83d" contains a lone surrogate (U+D83D), not valid Unicode' },
    ]);
    const run = (await api('GET', '/runs/u1')).json();
    expect(Object.keys(run.metrics).sort()).toEqual(['ok', '😀 😀']);
    for (const name of Object.keys(run.metrics)) {
      const res = await api('GET', `/runs/u1/metrics/${encodeURIComponent(name)}`);
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      expect(res.json().name).toBe(name);
    }
    expect(run.rejected.map((r: { reason: string }) => r.reason)).toEqual(ack.rejected.map((r: { reason: string }) => r.reason));
  });

  test('as a JSON batch: a name or string value with one is a bad line naming the line; the batch stores nothing', async () => {
    // Metric names and values are judged as a metric line; the rest of the body as any JSON body.
    const cases: [string, string, string][] = [
      ['{"seq":2,"time":1,"metrics":{"\\ud800x":1}}', 'OUTPOST_ERR_BAD_LINE', 'lines[1]'],
      ['{"seq":2,"time":1,"metrics":{"s":"a\\udc00"}}', 'OUTPOST_ERR_BAD_LINE', 'lines[1]'],
      ['{"seq":2,"time":1,"error":"reason \\ud800"}', 'OUTPOST_ERR_BAD_REQUEST', 'body.lines.1.error'],
    ];
    for (const [line, code, field] of cases) {
      const res = await api('POST', '/runs/u1/metrics', `{"stream":"js","lines":[{"seq":1,"time":1,"metrics":{"first":1}},${line}]}`);
      expect(res.status).toBe(400);
      const err = res.json().error;
      expect(err).toMatchObject({ code, field });
      expect(err.message).toMatch(/lone surrogate \(U\+D[89A-F][0-9A-F]{2}\), not valid Unicode/);
    }
    expect((await api('GET', '/runs/u1/metrics/first')).status).toBe(404);
  });

  test('any other JSON body with one anywhere is a 400 naming the field', async () => {
    const cases: [string, string, string, string][] = [
      ['PUT', '/runs/u1', '{"name":"run \\ud800"}', 'body.name'],
      ['PUT', '/runs/u2', '{"experiment":"e\\udc00"}', 'body.experiment'],
      ['POST', '/runs/u1/events', '{"kind":"warning","message":"m","path":"outputs/\\ud800"}', 'body.path'],
      ['POST', '/assets', '{"run":"u1","prefix":"outputs/\\udbff","name":"a"}', 'body.prefix'],
      ['POST', '/runs/u1/metrics', '{"stream":"s\\ud800","lines":[]}', 'body.stream'],
      ['POST', '/runs/u1/metrics', '{"stream":"s","file":"m\\ud800.jsonl","lines":[]}', 'body.file'],
      ['PUT', '/runs/u1', '{"\\ud800":1}', 'body'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await api(method, path, body);
      expect({ body, status: res.status, field: res.json().error.field }).toEqual({ body, status: 400, field });
      expect(res.json().error.message).toMatch(/lone surrogate \(U\+D[89A-F][0-9A-F]{2}\), not valid Unicode/);
    }
    expect((await api('GET', '/runs/u2')).status).toBe(404);
    expect((await api('GET', '/runs/u1')).json().name).toBe('u1');
  });

  test('the walk is iterative and names the path', () => {
    let deep: unknown = '\ud800';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    expect(findIllFormedString({ a: deep })?.field).toBe(`body.a${'.0'.repeat(50_000)}`);
    expect(findIllFormedString({ lines: [{ metrics: { '\ud800': 1 } }], x: 'ok' }, [['lines', '*', 'metrics']])).toBeUndefined();
    expect(findIllFormedString({ lines: [{ error: '\udc00' }] }, [['lines', '*', 'metrics']])?.field).toBe('body.lines.0.error');
    expect(findIllFormedString({ ok: ['😀', { 'ü': 'x' }] })).toBeUndefined();
  });
});
