/** Uploads that send their sha256 after the bytes, as an HTTP trailer (how the agent sends big files). */
import { createHash } from 'crypto';
import fs from 'fs';
import http from 'http';
import path from 'path';
import type { ApiErrorBody, ArtifactInfo } from '../../src/protocol';
import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest } from './raw-http';

const SIZE = 3 * 1024 * 1024; // over service.inlineBlobBytes: streamed to blobs/
const bytes = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7) % 256));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Sent {
  status: number;
  body: Partial<ArtifactInfo> & Partial<ApiErrorBody>; // the stored artifact, or the error
}

/** A chunked PUT in 1 MiB pieces; `trailers` undefined sends none; `abort` cuts the body short. */
function chunkedPut(
  url: string,
  artifact: string,
  opts: { body?: Buffer; size?: number; trailers?: Record<string, string>; announce?: boolean; abort?: boolean },
): Promise<Sent | 'aborted'> {
  const body = opts.body ?? bytes;
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname,
      port: u.port,
      method: 'PUT',
      path: `/api/v1/runs/r1/artifacts/${artifact}`,
      agent: false,
      headers: {
        'content-type': 'application/octet-stream',
        'transfer-encoding': 'chunked',
        'x-outpost-size': String(opts.size ?? body.length),
        ...(opts.announce === false ? {} : { trailer: 'x-outpost-sha256' }),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', (err) => (opts.abort ? resolve('aborted') : reject(err)));
    for (let off = 0; off < body.length; off += 1024 * 1024) {
      req.write(body.subarray(off, off + 1024 * 1024));
      if (opts.abort && off > 0) {
        setTimeout(() => req.destroy(), 50);
        return;
      }
    }
    if (opts.trailers) req.addTrailers(opts.trailers);
    req.end();
  });
}

describe('an upload whose sha256 comes as a trailer', () => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const listed = async () => (await jsonRequest(svc.url, 'GET', '/api/v1/runs/r1/artifacts')).json().map((a: { path: string }) => a.path);
  const leftovers = () => fs.readdirSync(path.join(svc.dataDir, 'blobs', '.tmp'));
  const blobFile = path.join('blobs', sha(bytes).slice(0, 2), sha(bytes));

  beforeAll(async () => {
    svc = await startTempService();
    await jsonRequest(svc.url, 'PUT', '/api/v1/runs/r1', {});
  });
  afterAll(() => svc.stopAndClean());

  test('with the right hash it is stored whole', async () => {
    const res = (await chunkedPut(svc.url, 'outputs/good.bin', { trailers: { 'x-outpost-sha256': sha(bytes) } })) as Sent;
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ path: 'outputs/good.bin', size: SIZE, sha256: sha(bytes), versions: 1 });
    const back = await rawRequest(svc.url, { path: '/api/v1/runs/r1/artifacts/outputs/good.bin' });
    expect(back.body.equals(bytes)).toBe(true);
    expect(fs.statSync(path.join(svc.dataDir, blobFile)).size).toBe(SIZE);
  });

  test('with another hash (the file changed while read) nothing is stored', async () => {
    const res = (await chunkedPut(svc.url, 'outputs/torn.bin', { trailers: { 'x-outpost-sha256': sha(Buffer.from('something else')) } })) as Sent;
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'OUTPOST_ERR_HASH_MISMATCH', field: 'x-outpost-sha256' });
    expect(await listed()).not.toContain('outputs/torn.bin');
    expect(leftovers()).toEqual([]);
  });

  test('a trailer announced but never sent is refused', async () => {
    const res = (await chunkedPut(svc.url, 'outputs/missing.bin', {})) as Sent;
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'OUTPOST_ERR_TRAILER_MISSING', field: 'x-outpost-sha256' });
    expect(res.body.error?.message).toMatch(/trailer was announced but not sent/);
    expect(await listed()).not.toContain('outputs/missing.bin');
  });

  test('a small chunked body (kept in the database) is checked against its trailer too', async () => {
    const small = bytes.subarray(0, 1000);
    const good = (await chunkedPut(svc.url, 'outputs/small.bin', { body: small, trailers: { 'x-outpost-sha256': sha(small) } })) as Sent;
    expect(good.status).toBe(201);
    expect(good.body).toMatchObject({ size: 1000, sha256: sha(small) });
    const bad = (await chunkedPut(svc.url, 'outputs/small-bad.bin', { body: small, trailers: { 'x-outpost-sha256': sha(bytes) } })) as Sent;
    expect(bad.body.error?.code).toBe('OUTPOST_ERR_HASH_MISMATCH');
    expect(await listed()).not.toContain('outputs/small-bad.bin');
  });

  test('a chunked body needs x-outpost-size to match it', async () => {
    const res = (await chunkedPut(svc.url, 'outputs/short.bin', { size: SIZE + 1, trailers: { 'x-outpost-sha256': sha(bytes) } })) as Sent;
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('OUTPOST_ERR_LENGTH_MISMATCH');
    expect(await listed()).not.toContain('outputs/short.bin');
  });

  test('a chunked body over the file limit is refused from x-outpost-size alone', async () => {
    const res = (await chunkedPut(svc.url, 'outputs/huge.bin', { size: 600 * 1024 * 1024, trailers: {} })) as Sent;
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe('OUTPOST_ERR_TOO_LARGE');
  });

  test('a request abandoned halfway (the agent saw the file change) leaves nothing behind', async () => {
    expect(await chunkedPut(svc.url, 'outputs/abandoned.bin', { abort: true })).toBe('aborted');
    // The service notices the reset on its own time.
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 100 && leftovers().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(leftovers()).toEqual([]);
    expect(await listed()).not.toContain('outputs/abandoned.bin');
  });
});
