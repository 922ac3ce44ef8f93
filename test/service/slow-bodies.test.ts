/**
 * Slow, unfinished and too many bodies, on real sockets against a server process with short
 * settings: each gets its 408 or 503 and its connection closed, and normal requests go on meanwhile.
 */
import crypto from 'crypto';
import fs from 'fs';
import net from 'net';
import path from 'path';
import { rawRequest } from './raw-http';
import { ServerProcess, startServerProcess, tempDir } from './server-process';

const SETTINGS = { bodyTimeoutMs: 1000, uploadIdleTimeoutMs: 700, minUploadBytesPerSec: 64 * 1024, maxBufferedBodyBytes: 1024 * 1024, busyRetryAfterS: 3 };

interface OpenRequest {
  write(bytes: string | Buffer): void;
  /** Everything the server sent, once it closed the connection. */
  closed: Promise<string>;
}

/** A request written by hand on a socket: headers now, the body as the test says. */
function open(url: string, head: string): OpenRequest {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  socket.write(`${head}Host: ${u.host}\r\n\r\n`);
  let data = '';
  socket.on('data', (d) => (data += d));
  socket.on('error', () => undefined); // writes after the server closed it
  return {
    write: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    closed: new Promise((resolve) => socket.on('close', () => resolve(data))),
  };
}

function parse(answer: string): { status: number; headers: string; error: { code: string; message: string } } {
  const [headers, body] = answer.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(headers)?.[1]), headers: headers.toLowerCase(), error: body ? JSON.parse(body).error : undefined };
}

describe('bodies that come too slowly, or too many at once', () => {
  let dir: string;
  let server: ServerProcess;
  const tmpFiles = () => fs.readdirSync(path.join(dir, 'data', 'blobs', '.tmp'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());

  beforeAll(async () => {
    dir = tempDir('outpost-slow-');
    server = await startServerProcess({ dataDir: path.join(dir, 'data'), env: { OUTPOST_CONFIG: JSON.stringify({ service: SETTINGS }) } });
    await rawRequest(server.url, { method: 'PUT', path: '/api/v1/runs/slow', headers: { 'content-type': 'application/json' }, body: '{}' });
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A normal upload and batch, to show the service answers others while the slow ones wait. */
  async function normalWork(name: string): Promise<void> {
    const bytes = crypto.randomBytes(300 * 1024);
    const up = await rawRequest(server.url, { method: 'PUT', path: `/api/v1/runs/slow/artifacts/outputs/${name}.bin`, headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect(up.status).toBe(201);
    const down = await rawRequest(server.url, { path: `/api/v1/runs/slow/artifacts/outputs/${name}.bin` });
    expect(down.body.equals(bytes)).toBe(true);
    const batch = await rawRequest(server.url, {
      method: 'POST',
      path: '/api/v1/runs/slow/metrics',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stream: name, lines: [{ seq: 1, time: 1, metrics: { x: 1 } }] }),
    });
    expect(batch.json()).toMatchObject({ ackedSeq: 1, stored: 1 });
  }

  test('a JSON or NDJSON body that does not arrive whole within service.bodyTimeoutMs is a 408, and its connection is closed', async () => {
    const json = open(server.url, 'PUT /api/v1/runs/slow HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n');
    json.write('{"name":');
    // Chunked, a byte now and then: each arrives, the whole never does.
    const ndjson = open(
      server.url,
      'POST /api/v1/runs/slow/metrics HTTP/1.1\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nX-Outpost-Stream: trickle\r\nX-Outpost-First-Seq: 1\r\n',
    );
    const trickle = setInterval(() => ndjson.write('1\r\n \r\n'), 100);
    await normalWork('during-buffered');
    const [a, b] = (await Promise.all([json.closed, ndjson.closed])).map(parse);
    clearInterval(trickle);
    for (const r of [a, b]) {
      expect(r.status).toBe(408);
      expect(r.headers).toContain('connection: close');
      expect(r.error).toEqual({ code: 'OUTPOST_ERR_TIMEOUT', message: 'the request body did not arrive whole within 1000 ms (service.bodyTimeoutMs)', field: 'body' });
    }
    expect((await rawRequest(server.url, { path: '/api/v1/runs/slow' })).json().name).toBe('slow');
  });

  test('an upload with no byte for service.uploadIdleTimeoutMs, or under service.minUploadBytesPerSec after bodyTimeoutMs, is a 408; its temp file is gone', async () => {
    const put = (name: string) =>
      open(server.url, `PUT /api/v1/runs/slow/artifacts/outputs/${name} HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${4 * 1024 * 1024}\r\n`);
    const idle = put('idle.bin');
    idle.write(crypto.randomBytes(256 * 1024));
    const slow = put('trickle.bin');
    // 1 KiB every 100 ms: never idle, but 10 KiB/s is under the floor.
    const trickle = setInterval(() => slow.write(crypto.randomBytes(1024)), 100);
    await normalWork('during-uploads');
    const [a, b] = (await Promise.all([idle.closed, slow.closed])).map(parse);
    clearInterval(trickle);
    expect(a.status).toBe(408);
    expect(a.headers).toContain('connection: close');
    expect(a.error.message).toBe('no byte of the upload arrived for 700 ms (service.uploadIdleTimeoutMs)');
    expect(b.status).toBe(408);
    expect(b.error.message).toMatch(/^the upload came at \d+ bytes\/s on average, under the floor of 65536 \(service\.minUploadBytesPerSec\)$/);
    expect(tmpFiles()).toEqual([]);
    const listed = (await rawRequest(server.url, { path: '/api/v1/runs/slow/artifacts' })).json().map((x: { path: string }) => x.path);
    expect(listed).not.toContain('outputs/idle.bin');
    expect(listed).not.toContain('outputs/trickle.bin');
  });

  test('bodies held in memory stay under service.maxBufferedBodyBytes: a declared one that would pass it is a 503 at once, a chunked one once it passes it', async () => {
    const KiB = 1024;
    // Three declared 400 KiB bodies, each left unfinished: two fit in 1 MiB, the third does not.
    const order: number[] = [];
    const held = [0, 1, 2].map((i) => {
      const r = open(server.url, `PUT /api/v1/runs/slow HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${400 * KiB}\r\n`);
      r.write('{"command":"');
      return { closed: r.closed.then((answer) => (order.push(i), parse(answer))) };
    });
    const refused = await Promise.race(held.map((r) => r.closed));
    expect(refused.status).toBe(503);
    expect(refused.headers).toContain('retry-after: 3');
    expect(refused.headers).toContain('connection: close');
    expect(refused.error.code).toBe('OUTPOST_ERR_UNAVAILABLE');
    expect(refused.error.message).toMatch(/service\.maxBufferedBodyBytes/);

    const chunked = open(server.url, 'POST /api/v1/runs/slow/metrics HTTP/1.1\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nX-Outpost-Stream: c\r\nX-Outpost-First-Seq: 1\r\n');
    const line = '{"name":"c","value":1}\n'.repeat(2 * KiB); // ~46 KiB a chunk
    const feed = setInterval(() => chunked.write(`${Buffer.byteLength(line).toString(16)}\r\n${line}\r\n`), 20);
    const over = parse(await chunked.closed);
    clearInterval(feed);
    expect(over.status).toBe(503);
    expect(over.headers).toContain('retry-after: 3');
    // Small requests still fit meanwhile, and once the held ones time out, all the room is back.
    expect((await rawRequest(server.url, { path: '/api/v1/health' })).status).toBe(200);
    const answers = await Promise.all(held.map((r) => r.closed));
    // The refused one was answered at once; the other two when their time was up.
    expect(order.map((i) => answers[i].status)).toEqual([503, 408, 408]);
    const big = await rawRequest(server.url, {
      method: 'POST',
      path: '/api/v1/runs/slow/metrics',
      headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': 'big', 'x-outpost-first-seq': '1' },
      body: line.repeat(19), // ~870 KiB
    });
    expect(big.json()).toMatchObject({ ackedSeq: 19 * 2 * KiB });
  });
});
