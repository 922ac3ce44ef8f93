/** The retry policy against a real HTTP server: Retry-After is honoured, a hopeless 4xx is not retried. */
import http from 'http';
import type { AddressInfo } from 'net';
import { createApiClient } from '../../src/http/api-client';
import { backoffMs, withRetry } from '../../src/agent/retry';

const settings = { retryInitialMs: 100, retryMaxMs: 30_000, retryJitter: 0.5 };

function serve(replies: { status: number; headers?: Record<string, string> }[]): Promise<{ url: string; calls: () => number; close: () => void }> {
  let calls = 0;
  const server = http.createServer((req, res) => {
    const r = replies[Math.min(calls++, replies.length - 1)];
    res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
    res.end(r.status >= 400 ? JSON.stringify({ error: { code: 'X', message: `status ${r.status}` } }) : '{"ok":true}');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls, close: () => server.close() })),
  );
}

test('a 503 with Retry-After waits at least that long before asking again, then succeeds', async () => {
  const srv = await serve([{ status: 503, headers: { 'retry-after': '7' } }, { status: 429, headers: { 'retry-after': '3' } }, { status: 200 }]);
  const api = createApiClient({ baseUrl: srv.url });
  const waits: number[] = [];
  try {
    const res = await withRetry(() => api.get('/health'), { settings, shouldStop: () => false, sleep: async (ms) => void waits.push(ms) });
    expect(res.data).toEqual({ ok: true });
    expect(srv.calls()).toBe(3);
    expect(waits[0]).toBeGreaterThanOrEqual(7000);
    expect(waits[1]).toBeGreaterThanOrEqual(3000);
  } finally {
    srv.close();
  }
});

test('a 413 is reported at once, not retried', async () => {
  const srv = await serve([{ status: 413 }]);
  const api = createApiClient({ baseUrl: srv.url });
  try {
    await expect(withRetry(() => api.get('/x'), { settings, shouldStop: () => false, sleep: async () => undefined })).rejects.toMatchObject({ status: 413 });
    expect(srv.calls()).toBe(1);
  } finally {
    srv.close();
  }
});

test('an unreachable service is retried until the caller stops, then gives up with the last error', async () => {
  const srv = await serve([{ status: 200 }]);
  srv.close(); // nothing listens on that port any more
  const api = createApiClient({ baseUrl: srv.url });
  let attempts = 0;
  await expect(
    withRetry(
      () => {
        attempts++;
        return api.get('/x');
      },
      { settings, shouldStop: () => attempts >= 5, sleep: async () => undefined },
    ),
  ).rejects.toThrow(/gave up: cannot reach the service/);
  expect(attempts).toBe(5);
});

test('backoff grows exponentially with jitter and is capped', () => {
  const waits = [0, 1, 2, 3, 20].map((a) => backoffMs(a, settings));
  expect(waits[0]).toBeGreaterThanOrEqual(50);
  expect(waits[0]).toBeLessThanOrEqual(100);
  expect(waits[3]).toBeGreaterThanOrEqual(400);
  expect(waits[4]).toBeLessThanOrEqual(30_000);
});
