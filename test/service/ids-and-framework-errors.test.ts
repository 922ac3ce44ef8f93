/** One id limit (limits.maxIdChars) at every door, and fastify's own refusals in the service's error shape. */
import http from 'http';
import net from 'net';
import { settings } from '../../config';
import { createApiClient, toApiError, ApiError } from '../../src/http/api-client';
import { idPattern } from '../../src/protocol';
import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest, RawResponse } from './raw-http';

const MAX = settings.limits.maxIdChars;
const id128 = `r${'x'.repeat(MAX - 1)}`;
const id129 = `r${'x'.repeat(MAX)}`;

/** Every route that takes a run id, as [method, path, body, content-type]. */
function routes(id: string): [string, string, string | undefined, string | undefined][] {
  const json = 'application/json';
  return [
    ['PUT', `/runs/${id}`, '{"experiment":"ids"}', json],
    ['GET', `/runs/${id}`, undefined, undefined],
    ['POST', `/runs/${id}/events`, '{"kind":"warning","message":"m"}', json],
    ['POST', `/runs/${id}/metrics`, '{"stream":"j","lines":[{"seq":1,"time":1,"metrics":{"loss":1}}]}', json],
    ['POST', `/runs/${id}/metrics`, '{"name":"loss","value":2}\n', 'application/x-ndjson'],
    ['GET', `/runs/${id}/metrics/loss`, undefined, undefined],
    ['PUT', `/runs/${id}/artifacts/outputs/a.txt`, 'bytes', 'application/octet-stream'],
    ['GET', `/runs/${id}/artifacts`, undefined, undefined],
    ['GET', `/runs/${id}/artifacts/outputs/a.txt`, undefined, undefined],
    ['DELETE', `/runs/${id}/artifacts/outputs/a.txt`, undefined, undefined],
  ];
}

describe('ids and the errors fastify answers itself', () => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const call = (method: string, path: string, body?: string, type?: string) =>
    rawRequest(svc.url, {
      method,
      path: `/api/v1${path}`,
      body,
      headers: { ...(type ? { 'content-type': type } : {}), 'x-outpost-stream': 'n', 'x-outpost-first-seq': '1' },
    });
  const expectOurShape = (res: RawResponse, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toMatchObject({ code, message: expect.any(String) });
    expect(body.error.message.length).toBeGreaterThan(10);
    return body.error as { code: string; message: string; field?: string };
  };

  beforeAll(async () => {
    svc = await startTempService();
  });
  afterAll(() => svc.stopAndClean());

  test(`a run id of ${MAX} characters works on every route`, async () => {
    for (const [method, path, body, type] of routes(id128)) {
      const res = await call(method, path, body, type);
      expect({ method, path: path.replace(id128, 'ID'), status: res.status < 300 }).toEqual({ method, path: path.replace(id128, 'ID'), status: true });
    }
    const promoted = await jsonRequest(svc.url, 'POST', '/api/v1/assets', { run: id128, prefix: 'outputs', name: id128 });
    expect(promoted.status).toBe(404); // the artifact was deleted above: the id passed, the prefix is empty
    await call('PUT', `/runs/${id128}/artifacts/outputs/a.txt`, 'again', 'application/octet-stream');
    expect((await jsonRequest(svc.url, 'POST', '/api/v1/assets', { run: id128, prefix: 'outputs', name: id128 })).status).toBe(201);
    expect((await call('GET', `/assets/${id128}`)).status).toBe(200);
  });

  test(`a run id of ${MAX + 1} characters is a 400 naming params.id and saying the rule, on every route`, async () => {
    for (const [method, path, body, type] of routes(id129)) {
      const err = expectOurShape(await call(method, path, body, type), 400, 'OUTPOST_ERR_BAD_REQUEST');
      expect({ method, path: path.replace(id129, 'ID'), field: err.field }).toEqual({ method, path: path.replace(id129, 'ID'), field: 'params.id' });
      expect(err.message).toBe(`params.id: must be 1 to ${MAX} characters: letters, digits, ".", "_" or "-", the first a letter or digit`);
    }
    expect(expectOurShape(await call('GET', `/assets/${id129}`), 400, 'OUTPOST_ERR_BAD_REQUEST').field).toBe('params.name');
    for (const [body, field] of [
      [{ run: id129, prefix: '', name: 'a' }, 'body.run'],
      [{ run: id128, prefix: '', name: id129 }, 'body.name'],
    ] as const) {
      const res = await jsonRequest(svc.url, 'POST', '/api/v1/assets', body);
      expect(expectOurShape(res, 400, 'OUTPOST_ERR_BAD_REQUEST').field).toBe(field);
    }
  });

  test('the one pattern is built from the setting', () => {
    expect(new RegExp(idPattern(MAX)).test(id128)).toBe(true);
    expect(new RegExp(idPattern(MAX)).test(id129)).toBe(false);
    expect(new RegExp(idPattern(3)).test('a.b')).toBe(true);
    expect(new RegExp(idPattern(3)).test('.ab')).toBe(false);
  });

  test(`metric names of limits.maxNameChars characters reach their route however they are spelled`, async () => {
    await call('PUT', '/runs/names', '{}', 'application/json');
    const names = ['😀'.repeat(settings.limits.maxNameChars / 2), '%/?#'.repeat(settings.limits.maxNameChars / 4), 'ü'.repeat(settings.limits.maxNameChars)];
    const lines = names.map((name, i) => JSON.stringify({ name, value: i })).join('\n');
    expect((await call('POST', '/runs/names/metrics', `${lines}\n`, 'application/x-ndjson')).json()).toMatchObject({ stored: 3, rejected: [] });
    for (const name of names) {
      const res = await call('GET', `/runs/names/metrics/${encodeURIComponent(name)}`);
      expect({ name: name.slice(0, 8), status: res.status }).toEqual({ name: name.slice(0, 8), status: 200 });
      expect(res.json().name).toBe(name);
    }
  });

  test('a URL that does not decode and a param over the router limit come back in our shape', async () => {
    for (const p of ['/runs/%zz', '/runs/r1/metrics/%E0%A4%A', '/runs/r1/metrics/%ED%A0%80']) {
      expect(expectOurShape(await call('GET', p), 400, 'OUTPOST_ERR_BAD_REQUEST').field).toBe('url');
    }
    expectOurShape(await call('GET', `/runs/r1/metrics/${'n'.repeat(5000)}`), 414, 'OUTPOST_ERR_URI_TOO_LONG');
  });

  test('headers over the size Node takes are a 431 in our shape, on the socket', async () => {
    const url = new URL(svc.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.write(`GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(http.maxHeaderSize + 100)}\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(head).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(body)).toEqual({ error: { code: 'OUTPOST_ERR_HEADERS_TOO_LARGE', message: expect.stringMatching(/headers/) } });
  });

  test('a request Node cannot parse is a 400 in our shape, on the socket', async () => {
    const url = new URL(svc.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]).error.code).toBe('OUTPOST_ERR_BAD_REQUEST');
  });
});

describe('the API client reads every error shape', () => {
  let server: http.Server;
  let base: string;
  const answers: Record<string, { status: number; type: string; body: string }> = {
    '/ours': { status: 409, type: 'application/json', body: '{"error":{"code":"OUTPOST_ERR_SEQUENCE_GAP","message":"stream s has lines up to 3","field":"x"}}' },
    '/fastify': { status: 400, type: 'application/json', body: '{"error":"Bad Request","code":"FST_ERR_MAX_PARAM_LENGTH","message":"\'/runs/x\' is exceeding the max param length","statusCode":400}' },
    '/fastify-503': { status: 503, type: 'application/json', body: '{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}' },
    '/text': { status: 502, type: 'text/html', body: '<html>bad gateway</html>' },
    '/empty': { status: 500, type: 'application/json', body: '{"error":{"code":"OUTPOST_ERR_INTERNAL","message":""}}' },
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const a = answers[req.url!.replace('/api/v1', '')];
      res.writeHead(a.status, { 'content-type': a.type }).end(a.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('each gives a message that says something, and the code when there is one', async () => {
    const api = createApiClient({ baseUrl: base });
    const got = async (p: string) => toApiError(await api.get(p).then(() => undefined, (e) => e));
    expect(await got('/ours')).toMatchObject({ status: 409, code: 'OUTPOST_ERR_SEQUENCE_GAP', field: 'x', message: 'stream s has lines up to 3' });
    // Another server's code is not taken for one of ours (ApiError.code is our union): it stays in the message.
    expect(await got('/fastify')).toMatchObject({ status: 400, code: undefined, message: "Bad Request: '/runs/x' is exceeding the max param length (FST_ERR_MAX_PARAM_LENGTH)" });
    expect(await got('/fastify-503')).toMatchObject({ status: 503, message: 'Service Unavailable: Service Unavailable' });
    expect(await got('/text')).toMatchObject({ status: 502, message: '<html>bad gateway</html>' });
    const empty = await got('/empty');
    expect(empty).toBeInstanceOf(ApiError);
    expect(empty.message).toBe('HTTP 500 from /empty');
    (api.defaults.httpAgent as http.Agent).destroy();
  });
});
