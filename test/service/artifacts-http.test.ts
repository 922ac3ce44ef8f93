import { createHash } from 'crypto';
import fs from 'fs';
import path from 'path';
import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest } from './raw-http';

// 1,000 bytes are kept in the database (service.inlineBlobBytes); 100,000 in blobs/ and sent by
// @fastify/send: both answer the same way.
describe.each([
  ['in the database', 1000],
  ['in blobs/', 100_000],
])('artifact downloads over HTTP, stored %s', (where, size) => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const bytes = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const put = (p: string, body: Buffer) =>
    rawRequest(svc.url, { method: 'PUT', path: `/api/v1/runs/r1/artifacts/${p}`, headers: { 'content-type': 'application/octet-stream', 'x-outpost-sha256': sha(body) }, body });
  const get = (headers: Record<string, string> = {}) => rawRequest(svc.url, { path: '/api/v1/runs/r1/artifacts/outputs/data.bin', headers });

  beforeAll(async () => {
    svc = await startTempService();
    await jsonRequest(svc.url, 'PUT', '/api/v1/runs/r1', {});
    expect((await put('outputs/data.bin', bytes)).status).toBe(201);
  });
  afterAll(() => svc.stopAndClean());

  test('the bytes are where their size says', () => {
    const file = path.join(svc.dataDir, 'blobs', sha(bytes).slice(0, 2), sha(bytes));
    expect(fs.existsSync(file)).toBe(where === 'in blobs/');
  });

  test('a whole download carries the bytes, their sha256 and the version', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.body.equals(bytes)).toBe(true);
    expect(res.headers['content-length']).toBe(String(size));
    expect(res.headers['x-outpost-sha256']).toBe(sha(bytes));
    expect(res.headers['x-outpost-version']).toBe('1');
    expect(res.headers['accept-ranges']).toBe('bytes');
  });

  test('a Range request gets 206 and exactly those bytes', async () => {
    const res = await get({ range: 'bytes=100-199' });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 100-199/${size}`);
    expect(res.body.equals(bytes.subarray(100, 200))).toBe(true);
  });

  test('an open-ended and a suffix range work too', async () => {
    const tail = await get({ range: `bytes=${size - 10}-` });
    expect(tail.status).toBe(206);
    expect(tail.body.equals(bytes.subarray(size - 10))).toBe(true);
    const suffix = await get({ range: 'bytes=-5' });
    expect(suffix.body.equals(bytes.subarray(size - 5))).toBe(true);
  });

  test('a suffix range longer than the file gets the whole file (RFC 9110)', async () => {
    const res = await get({ range: 'bytes=-1000000' });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 0-${size - 1}/${size}`);
    expect(res.body.equals(bytes)).toBe(true);
  });

  test('a range beyond the end is a 416 JSON error', async () => {
    const res = await get({ range: 'bytes=5000000-6000000' });
    expect(res.status).toBe(416);
    expect(res.json().error).toMatchObject({ code: 'OUTPOST_ERR_RANGE', field: 'range' });
  });

  test('a Range made for another version (If-Range) gets the whole file; a 416 carries no download headers', async () => {
    const stale = await get({ range: 'bytes=0-9', 'if-range': '"another-version"' });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(bytes)).toBe(true);
    const etag = (await get()).headers.etag!;
    expect((await get({ range: 'bytes=0-9', 'if-range': etag })).status).toBe(206);
    const refused = await get({ range: 'bytes=5000000-6000000' });
    expect(refused.headers['content-disposition']).toBeUndefined();
    expect(refused.headers['x-outpost-sha256']).toBeUndefined();
  });

  test('the ETag answers a conditional request with 304', async () => {
    const etag = (await get()).headers.etag!;
    expect(etag).toBeTruthy();
    const res = await get({ 'if-none-match': etag });
    expect(res.status).toBe(304);
    expect(res.body.length).toBe(0);
  });
});

describe('artifact versions, deletion and promotion over HTTP', () => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const put = (p: string, body: Buffer) =>
    rawRequest(svc.url, { method: 'PUT', path: `/api/v1/runs/r1/artifacts/${p}`, headers: { 'content-type': 'application/octet-stream', 'x-outpost-sha256': sha(body) }, body });

  beforeAll(async () => {
    svc = await startTempService();
    await jsonRequest(svc.url, 'PUT', '/api/v1/runs/r1', {});
    expect((await put('outputs/data.bin', Buffer.alloc(1000, 7))).status).toBe(201);
  });
  afterAll(() => svc.stopAndClean());

  test('older versions stay downloadable by number', async () => {
    const v2 = Buffer.from('second version');
    expect((await put('outputs/v.txt', Buffer.from('first'))).status).toBe(201);
    expect((await put('outputs/v.txt', v2)).status).toBe(201);
    expect((await put('outputs/v.txt', v2)).status).toBe(200);
    const latest = await rawRequest(svc.url, { path: '/api/v1/runs/r1/artifacts/outputs/v.txt' });
    expect([latest.body.toString(), latest.headers['x-outpost-version']]).toEqual(['second version', '2']);
    const first = await rawRequest(svc.url, { path: '/api/v1/runs/r1/artifacts/outputs/v.txt?version=1' });
    expect([first.body.toString(), first.headers['x-outpost-version']]).toEqual(['first', '1']);
    expect((await rawRequest(svc.url, { path: '/api/v1/runs/r1/artifacts/outputs/v.txt?version=3' })).status).toBe(404);
    expect((await rawRequest(svc.url, { path: '/api/v1/runs/r1/artifacts/outputs/v.txt?version=zero' })).json().error.field).toBe('version');
  });

  test('a deleted artifact is gone from the listing and the download, and the run says so', async () => {
    expect((await put('outputs/tmp.txt', Buffer.from('temporary'))).status).toBe(201);
    expect((await rawRequest(svc.url, { method: 'DELETE', path: '/api/v1/runs/r1/artifacts/outputs/tmp.txt' })).json()).toEqual({ path: 'outputs/tmp.txt', deleted: true });
    expect((await rawRequest(svc.url, { path: '/api/v1/runs/r1/artifacts/outputs/tmp.txt' })).status).toBe(404);
    const run = (await jsonRequest(svc.url, 'GET', '/api/v1/runs/r1')).json();
    expect(run.deletedArtifacts).toEqual(['outputs/tmp.txt']);
    expect(run.artifacts.map((a: { path: string }) => a.path)).not.toContain('outputs/tmp.txt');
  });

  test('promotion makes a versioned asset that lists its files', async () => {
    const a = await jsonRequest(svc.url, 'POST', '/api/v1/assets', { run: 'r1', prefix: 'outputs', name: 'data' });
    expect(a.status).toBe(201);
    expect(a.json()).toMatchObject({ name: 'data', version: 1, sourceRun: 'r1', prefix: 'outputs' });
    const b = await jsonRequest(svc.url, 'POST', '/api/v1/assets', { run: 'r1', prefix: 'outputs/v.txt', name: 'data' });
    expect(b.json()).toMatchObject({ version: 2, files: [{ path: 'outputs/v.txt', size: 14 }] });
    expect((await jsonRequest(svc.url, 'GET', '/api/v1/assets')).json()).toMatchObject([{ name: 'data', latestVersion: 2, versions: 2 }]);
    expect((await jsonRequest(svc.url, 'GET', '/api/v1/assets/data')).json().versions).toHaveLength(2);
  });
});
