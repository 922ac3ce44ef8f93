import fs from 'fs';
import http from 'http';
import path from 'path';
import { createApiClient } from '../../src/http/api-client';
import type { BatchAck, MetricHistory, WireLine } from '../../src/protocol';
import { ServerProcess, startServerProcess, tempDir } from './server-process';
import { rawRequest } from './raw-http';

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? (e as { path: string }).path, e.name));
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

describe('the service process', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir('outpost-lifecycle-')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('SIGTERM lets an in-flight upload finish, refuses new work, then exits 0', async () => {
    const dataDir = path.join(dir, 'data');
    const server = await startServerProcess({ dataDir });
    try {
      await rawRequest(server.url, { method: 'PUT', path: '/api/v1/runs/r1', headers: { 'content-type': 'application/json' }, body: '{}' });
      const half = Buffer.alloc(1024 * 1024, 7);
      const url = new URL(server.url);
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          { host: url.hostname, port: url.port, method: 'PUT', path: '/api/v1/runs/r1/artifacts/outputs/slow.bin', headers: { 'content-type': 'application/octet-stream', 'content-length': 2 * half.length } },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on('error', reject);
        req.write(half);
        // The handler is streaming once its temp file holds bytes; only then is the request in flight.
        until(() => filesUnder(path.join(dataDir, 'blobs', '.tmp')).some((f) => fs.statSync(f).size > 0))
          .then(async () => {
            server.child.kill('SIGTERM');
            await server.waitForLog(/SIGTERM: finishing in-flight requests/);
            const late = await rawRequest(server.url, { path: '/api/v1/runs' }).then(
              (r) => r.status,
              (e: NodeJS.ErrnoException) => e.code,
            );
            expect([503, 'ECONNREFUSED', 'ECONNRESET']).toContain(late);
            req.end(half);
          })
          .catch(reject);
      });
      const res = await response;
      expect(res.status).toBe(201);
      expect(JSON.parse(res.body)).toMatchObject({ path: 'outputs/slow.bin', size: 2 * half.length });
      expect(await server.exited).toEqual({ code: 0, signal: null });
    } finally {
      await server.stop('SIGKILL');
    }
  });

  test('SIGKILL in the middle of ingest loses no acknowledged line and leaves no partial batch', async () => {
    const dataDir = path.join(dir, 'data');
    const BATCH = 1000;
    const STREAMS = ['a', 'b', 'c'];
    // Each stream has its own metric, whose value is the line's sequence number.
    const batchOf = (stream: string, n: number): WireLine[] =>
      Array.from({ length: BATCH }, (_, i) => ({ seq: n * BATCH + i + 1, time: 1_700_000_000 + i, metrics: { [`x_${stream}`]: n * BATCH + i + 1, [`y_${stream}`]: i } }));
    const acked: Record<string, number> = {};
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

    let server: ServerProcess = await startServerProcess({ dataDir });
    let api = createApiClient({ baseUrl: server.url, timeoutMs: 30_000 });
    await api.put('/runs/r1', {});
    let total = 0;
    // Three agents ship their streams in order, in parallel; the server dies under them.
    await Promise.all(
      STREAMS.map(async (stream) => {
        acked[stream] = 0;
        for (let n = 0; ; n++) {
          try {
            const { data } = await api.post<BatchAck>('/runs/r1/metrics', { stream, lines: batchOf(stream, n) });
            acked[stream] = data.ackedSeq;
            if (++total === 60) server.child.kill('SIGKILL');
          } catch {
            return; // the connection died with the server
          }
        }
      }),
    );
    expect((await server.exited).signal).toBe('SIGKILL');
    (api.defaults.httpAgent as { destroy(): void }).destroy();

    server = await startServerProcess({ dataDir });
    api = createApiClient({ baseUrl: server.url, timeoutMs: 30_000 });
    const values = async (name: string) => (await api.get<MetricHistory>(`/runs/r1/metrics/${name}`, { params: { limit: 100_000 } })).data.points.map((p) => p.value);
    try {
      for (const s of STREAMS) {
        const stored = await values(`x_${s}`);
        // Whole batches only: the acknowledged ones, and at most the one in flight at the kill.
        expect(stored.length % BATCH).toBe(0);
        expect(stored.length).toBeGreaterThanOrEqual(acked[s]);
        expect(stored.length).toBeLessThanOrEqual(acked[s] + BATCH);
        expect(stored).toEqual(range(1, stored.length));
        expect((await values(`y_${s}`)).length).toBe(stored.length);
      }
      // A restarted agent resends from its checkpoint, overlapping what is stored: each line stays once.
      for (const s of STREAMS) {
        for (let n = Math.max(0, acked[s] / BATCH - 1); n < acked[s] / BATCH + 2; n++) await api.post('/runs/r1/metrics', { stream: s, lines: batchOf(s, n) });
        expect(await values(`x_${s}`)).toEqual(range(1, acked[s] + 2 * BATCH));
      }
    } finally {
      (api.defaults.httpAgent as { destroy(): void }).destroy();
      await server.stop();
    }
  });
});
