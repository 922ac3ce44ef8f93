import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest } from './raw-http';

describe('the service refuses bad input with a 4xx JSON error naming what was wrong', () => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => jsonRequest(svc.url, method, `/api/v1${path}`, body, headers);

  beforeAll(async () => {
    svc = await startTempService();
    expect((await api('PUT', '/runs/r1', { experiment: 'e' })).status).toBe(200);
    const up = await rawRequest(svc.url, { method: 'PUT', path: '/api/v1/runs/r1/artifacts/outputs/ok.txt', headers: { 'content-type': 'application/octet-stream' }, body: 'ok' });
    expect(up.status).toBe(201);
  });
  afterAll(() => svc.stopAndClean());

  function expectError(res: { status: number; json(): any }, status: number, code: string, field?: string | RegExp) {
    expect(res.status).toBe(status);
    const body = res.json();
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    if (field instanceof RegExp) expect(body.error.field).toMatch(field);
    else if (field !== undefined) expect(body.error.field).toBe(field);
    return body.error as { code: string; message: string; field?: string };
  }

  describe('unknown run', () => {
    test.each([
      ['GET', '/runs/nope'],
      ['POST', '/runs/nope/metrics'],
      ['GET', '/runs/nope/metrics/loss'],
      ['GET', '/runs/nope/artifacts'],
      ['GET', '/runs/nope/artifacts/a.txt'],
      ['POST', '/runs/nope/events'],
    ])('%s %s is a 404 naming the run', async (method, path) => {
      const body = method === 'POST' ? (path.endsWith('metrics') ? { stream: 's', lines: [{ seq: 1, time: 1, metrics: { a: 1 } }] } : { kind: 'warning', message: 'x' }) : undefined;
      const err = expectError(await api(method, path, body), 404, 'OUTPOST_ERR_RUN_NOT_FOUND', 'run');
      expect(err.message).toContain('"nope"');
    });

    test('an upload to an unknown run is a 404', async () => {
      const res = await rawRequest(svc.url, { method: 'PUT', path: '/api/v1/runs/nope/artifacts/a.txt', headers: { 'content-type': 'application/octet-stream' }, body: 'x' });
      expectError(res, 404, 'OUTPOST_ERR_RUN_NOT_FOUND', 'run');
    });

    test('promoting from an unknown run is a 404', async () => {
      expectError(await api('POST', '/assets', { run: 'nope', prefix: '', name: 'a' }), 404, 'OUTPOST_ERR_RUN_NOT_FOUND');
    });

    test('an unknown metric, artifact and asset are 404s with their own codes', async () => {
      expectError(await api('GET', '/runs/r1/metrics/nothing'), 404, 'OUTPOST_ERR_METRIC_NOT_FOUND', 'name');
      expectError(await api('GET', '/runs/r1/artifacts/nothing.txt'), 404, 'OUTPOST_ERR_ARTIFACT_NOT_FOUND', 'path');
      expectError(await api('GET', '/assets/nothing'), 404, 'OUTPOST_ERR_ASSET_NOT_FOUND', 'name');
      expectError(await api('GET', '/no/such/route'), 404, 'OUTPOST_ERR_NOT_FOUND');
    });
  });

  describe('malformed bodies and bad fields', () => {
    test('malformed JSON is a 400 on the body', async () => {
      expectError(await api('PUT', '/runs/r1', '{"name": '), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body');
      expectError(await api('POST', '/runs/r1/metrics', '{"stream": "s", "lines": [}'), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body');
    });

    test('the JSON error says what is wrong: where the syntax breaks, an empty body, a "__proto__" key', async () => {
      const syntax = expectError(await api('POST', '/runs/r1/metrics', '{"stream": "s", "lines": [}'), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body');
      expect(syntax.message).toMatch(/^the body is not valid JSON: Unexpected token '}'/);
      const empty = expectError(await api('PUT', '/runs/r1', '', { 'content-type': 'application/json' }), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body');
      expect(empty.message).toBe('the JSON body is empty');
      const proto = expectError(
        await api('POST', '/runs/r1/metrics', '{"stream": "p", "lines": [{"seq": 1, "time": 1, "metrics": {"__proto__": 1}}]}'),
        400,
        'OUTPOST_ERR_BAD_REQUEST',
        'body',
      );
      expect(proto.message).toMatch(/"__proto__".*NDJSON/);
    });

    test('a wrong value names its field', async () => {
      const err = expectError(await api('PUT', '/runs/r1', { status: 'finished' }), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body.status');
      expect(err.message).toMatch(/status/);
      expectError(await api('PUT', '/runs/r1', { startTime: 'yesterday' }), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body.startTime');
    });

    test('an unknown field is named', async () => {
      const err = expectError(await api('PUT', '/runs/r1', { colour: 'red' }), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body.colour');
      expect(err.message).toContain('colour');
    });

    test('a missing field is named', async () => {
      expectError(await api('POST', '/runs/r1/metrics', { lines: [] }), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body.stream');
    });

    test('a bad run id is refused', async () => {
      expectError(await api('PUT', '/runs/..hidden', {}), 400, 'OUTPOST_ERR_BAD_REQUEST', 'params.id');
    });

    test('a batch line with a bad sequence number names the line', async () => {
      expectError(await api('POST', '/runs/r1/metrics', { stream: 's', lines: [{ seq: 0, time: 1, metrics: { a: 1 } }] }), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body.lines.0.seq');
      const back = { stream: 's', lines: [{ seq: 5, time: 1, metrics: { a: 1 } }, { seq: 4, time: 1, metrics: { a: 1 } }] };
      expectError(await api('POST', '/runs/r1/metrics', back), 400, 'OUTPOST_ERR_BAD_SEQUENCE', 'lines[1].seq');
    });

    test('a batch line with a value of the wrong kind names the line and the reason', async () => {
      const res = await api('POST', '/runs/r1/metrics', { stream: 's', lines: [{ seq: 1, time: 1, metrics: { a: 1 } }, { seq: 2, time: 1, metrics: { a: { nested: 1 } } }] });
      const err = expectError(res, 400, 'OUTPOST_ERR_BAD_LINE', 'lines[1]');
      expect(err.message).toMatch(/lines\[1\].*number, string, boolean or list/);
      expectError(await api('GET', '/runs/r1/metrics/a'), 404, 'OUTPOST_ERR_METRIC_NOT_FOUND');
    });

    test('an unsupported content encoding is refused', async () => {
      const res = await rawRequest(svc.url, { method: 'POST', path: '/api/v1/runs/r1/metrics', headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, body: '{}' });
      expectError(res, 400, 'OUTPOST_ERR_BAD_REQUEST', 'content-encoding');
    });

    test('history queries out of range name the parameter', async () => {
      expectError(await api('GET', '/runs/r1/metrics/a?maxPoints=1'), 400, 'OUTPOST_ERR_BAD_REQUEST', 'querystring.maxPoints');
      expectError(await api('GET', '/runs/r1/metrics/a?limit=100000000'), 400, 'OUTPOST_ERR_BAD_REQUEST', 'querystring.limit');
      expectError(await api('GET', '/runs?status=done'), 400, 'OUTPOST_ERR_BAD_REQUEST', 'querystring.status');
    });
  });

  describe('limits', () => {
    test('a JSON body over limits.maxRequestBodyBytes is a 413', async () => {
      expectError(await api('PUT', '/runs/r1', { command: 'x'.repeat(1024 * 1024 + 10) }), 413, 'OUTPOST_ERR_TOO_LARGE');
    });

    test('a metric batch over limits.maxBatchBodyBytes is a 413', async () => {
      const line = { seq: 1, time: 1, metrics: { s: 'x'.repeat(30_000) } };
      const body = `{"stream":"big","lines":[${Array.from({ length: 1200 }, (_, i) => JSON.stringify({ ...line, seq: i + 1 })).join(',')}]}`;
      expect(body.length).toBeGreaterThan(32 * 1024 * 1024);
      expectError(await api('POST', '/runs/r1/metrics', body), 413, 'OUTPOST_ERR_TOO_LARGE');
    });

    test('a batch of more than limits.maxBatchLines lines is refused', async () => {
      const lines = Array.from({ length: 50_001 }, (_, i) => ({ seq: i + 1, time: 1, metrics: { a: i } }));
      expectError(await api('POST', '/runs/r1/metrics', { stream: 'many', lines }), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body.lines');
    });

    test('an NDJSON batch of more than limits.maxBatchLines lines is refused, and stores nothing', async () => {
      const ndjson = (lines: number) =>
        rawRequest(svc.url, {
          method: 'POST',
          path: '/api/v1/runs/r1/metrics',
          headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': 'nd-many', 'x-outpost-first-seq': '1' },
          body: '{"name":"a","value":1}\n'.repeat(lines),
        });
      const err = expectError(await ndjson(50_001), 400, 'OUTPOST_ERR_BAD_REQUEST', 'body');
      expect(err.message).toMatch(/50001 lines.*limits\.maxBatchLines/);
      expect((await api('GET', '/runs/r1/metrics/a')).status).toBe(404);
      const ok = await ndjson(50_000);
      expect(ok.status).toBe(200);
      expect(ok.json()).toMatchObject({ stream: 'nd-many', ackedSeq: 50_000, stored: 50_000, rejected: [] });
    });

    test('a line over limits.maxLineBytes is refused, naming the line', async () => {
      const long = Array.from({ length: 20_000 }, (_, i) => i + 0.5);
      const res = await api('POST', '/runs/r1/metrics', { stream: 'long', lines: [{ seq: 1, time: 1, metrics: { ok: 1 } }, { seq: 2, time: 1, metrics: { chart: long } }] });
      const err = expectError(res, 400, 'OUTPOST_ERR_BAD_LINE', 'lines[1]');
      expect(err.message).toMatch(/maxLineBytes/);
    });

    test('a metric name over limits.maxNameChars is refused', async () => {
      const res = await api('POST', '/runs/r1/metrics', { stream: 'names', lines: [{ seq: 1, time: 1, metrics: { ['n'.repeat(300)]: 1 } }] });
      expect(expectError(res, 400, 'OUTPOST_ERR_BAD_LINE', 'lines[0]').message).toMatch(/longer than 256/);
    });

    test('an artifact declared over limits.maxFileBytes is a 413 before any byte is read', async () => {
      // Only the header claims 512 MiB + 1; the service answers without waiting for the body.
      const res = await rawRequest(svc.url, {
        method: 'PUT',
        path: '/api/v1/runs/r1/artifacts/outputs/huge.bin',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(512 * 1024 * 1024 + 1) },
      });
      const err = expectError(res, 413, 'OUTPOST_ERR_TOO_LARGE', 'content-length');
      expect(err.message).toMatch(/outputs\/huge\.bin.*limits\.maxFileBytes/);
    });

    test('an upload without Content-Length is a 411', async () => {
      const res = await rawRequest(svc.url, { method: 'PUT', path: '/api/v1/runs/r1/artifacts/a.txt', headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, body: 'abc' });
      expectError(res, 411, 'OUTPOST_ERR_LENGTH_REQUIRED', 'content-length');
    });

    test('an upload whose sha256 differs from the declared one is refused and not stored', async () => {
      const res = await rawRequest(svc.url, {
        method: 'PUT',
        path: '/api/v1/runs/r1/artifacts/outputs/bad.txt',
        headers: { 'content-type': 'application/octet-stream', 'x-outpost-sha256': '0'.repeat(64) },
        body: 'hello',
      });
      expectError(res, 400, 'OUTPOST_ERR_HASH_MISMATCH', 'x-outpost-sha256');
      expectError(await api('GET', '/runs/r1/artifacts/outputs/bad.txt'), 404, 'OUTPOST_ERR_ARTIFACT_NOT_FOUND');
    });
  });

  describe('artifact paths that escape the run', () => {
    const tricks: [string, string][] = [
      ['".."', '../escape.txt'],
      ['".." deeper in', 'outputs/../../escape.txt'],
      ['an absolute path', '/etc/passwd'],
      ['a NUL (%00)', 'outputs/a%00.txt'],
      ['a backslash (%5C)', '..%5Cescape.txt'],
      ['encoded dots (%2e%2e)', '%2e%2e/escape.txt'],
      ['an encoded slash (%2F)', '..%2Fescape.txt'],
      ['an empty segment', 'outputs//a.txt'],
    ];

    test.each(tricks)('an upload with %s is a 400 on the path', async (_what, p) => {
      const res = await rawRequest(svc.url, { method: 'PUT', path: `/api/v1/runs/r1/artifacts/${p}`, headers: { 'content-type': 'application/octet-stream' }, body: 'x' });
      expectError(res, 400, 'OUTPOST_ERR_BAD_PATH', 'path');
    });

    test.each(tricks)('a download with %s is a 400 on the path', async (_what, p) => {
      expectError(await rawRequest(svc.url, { path: `/api/v1/runs/r1/artifacts/${p}` }), 400, 'OUTPOST_ERR_BAD_PATH', 'path');
    });

    test.each(tricks)('a delete with %s is a 400 on the path', async (_what, p) => {
      expectError(await rawRequest(svc.url, { method: 'DELETE', path: `/api/v1/runs/r1/artifacts/${p}` }), 400, 'OUTPOST_ERR_BAD_PATH', 'path');
    });

    test('a promotion prefix that escapes the run is a 400 on the prefix', async () => {
      expectError(await api('POST', '/assets', { run: 'r1', prefix: '../other', name: 'a' }), 400, 'OUTPOST_ERR_BAD_PATH', 'prefix');
    });

    // The router decodes once and the decoded name is judged: a name that is still percent-encoded
    // after that was sent double-encoded, so its "%" is a literal character of a legal name.
    const literal: [string, string, string][] = [
      ['double-encoded dots (%252e%252e)', '%252e%252e/escape.txt', '%2e%2e/escape.txt'],
      ['a double-encoded slash (%252F)', '..%252Fescape.txt', '..%2Fescape.txt'],
      ['a double-encoded backslash and NUL', 'outputs/a%255Cb%2500.txt', 'outputs/a%5Cb%00.txt'],
    ];

    test.each(literal)('a name with %s is a legal literal name, stored inside the run and fetched by it', async (_what, p, stored) => {
      const body = `bytes of ${stored}`;
      const up = await rawRequest(svc.url, { method: 'PUT', path: `/api/v1/runs/r1/artifacts/${p}`, headers: { 'content-type': 'application/octet-stream' }, body });
      expect(up.status).toBe(201);
      expect(up.json().path).toBe(stored);
      const down = await rawRequest(svc.url, { path: `/api/v1/runs/r1/artifacts/${p}` });
      expect([down.status, down.body.toString()]).toEqual([200, body]);
      expect((await rawRequest(svc.url, { method: 'DELETE', path: `/api/v1/runs/r1/artifacts/${p}` })).json()).toEqual({ path: stored, deleted: true });
    });

    test('after all of that the run has only its own artifacts, every one inside it', async () => {
      const run = (await api('GET', '/runs/r1')).json();
      expect(run.artifacts.map((a: { path: string }) => a.path)).toEqual(['outputs/ok.txt']);
      expect(run.deletedArtifacts.sort()).toEqual(literal.map(([, , stored]) => stored).sort());
      for (const p of [...run.artifacts.map((a: { path: string }) => a.path), ...run.deletedArtifacts]) expect(p.split('/')).not.toContain('..');
    });
  });
});
