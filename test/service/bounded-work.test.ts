/** Bounded work per request: metrics per line, metric values per batch, and a big batch stored in slices while others are answered. */
import fs from 'fs';
import path from 'path';
import Database from 'better-sqlite3';
import { settings } from '../../config';
import { startTempService } from './in-process-service';
import { rawRequest, RawResponse } from './raw-http';
import { ServerProcess, startServerProcess, tempDir } from './server-process';

const { maxMetricsPerLine, maxBatchCells } = settings.limits;

/** An NDJSON line of `n` metrics m0..m(n-1), each valued `v`. */
function wideLine(n: number, v: number): string {
  const metrics: Record<string, number> = {};
  for (let i = 0; i < n; i++) metrics[`m${i}`] = v;
  return JSON.stringify({ metrics });
}

function postNdjson(url: string, run: string, stream: string, body: string, firstSeq = 1): Promise<RawResponse> {
  return rawRequest(url, {
    method: 'POST',
    path: `/api/v1/runs/${run}/metrics`,
    headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': stream, 'x-outpost-first-seq': String(firstSeq) },
    body,
  });
}

describe('limits on one request', () => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  beforeAll(async () => {
    svc = await startTempService();
    await rawRequest(svc.url, { method: 'PUT', path: '/api/v1/runs/b1', headers: { 'content-type': 'application/json' }, body: '{}' });
  });
  afterAll(() => svc.stopAndClean());

  test(`a line of more than limits.maxMetricsPerLine (${maxMetricsPerLine}) metrics is a rejected line; one of that many is stored`, async () => {
    const body = `${wideLine(maxMetricsPerLine, 1)}\n${wideLine(maxMetricsPerLine + 1, 2)}\n{"name":"after","value":3}\n`;
    const ack = (await postNdjson(svc.url, 'b1', 'wide', body)).json();
    expect(ack).toMatchObject({ ackedSeq: 3, stored: 3 });
    expect(ack.rejected).toEqual([{ seq: 2, reason: `"metrics" has more than ${maxMetricsPerLine} entries, the limit of a line (limits.maxMetricsPerLine)` }]);
    const run = (await rawRequest(svc.url, { path: '/api/v1/runs/b1' })).json();
    expect(run.metrics.m0).toMatchObject({ count: 1, last: 1 });
    expect(run.metrics.after).toMatchObject({ count: 1 });
    // The JSON form refuses such a line by name, as any bad line.
    const wide: Record<string, number> = {};
    for (let i = 0; i <= maxMetricsPerLine; i++) wide[`w${i}`] = 1;
    const res = await rawRequest(svc.url, {
      method: 'POST',
      path: '/api/v1/runs/b1/metrics',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stream: 'wide-json', lines: [{ seq: 1, time: 1, metrics: wide }] }),
    });
    expect(res.status).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'OUTPOST_ERR_BAD_LINE', field: 'lines[0]', message: expect.stringMatching(/limits\.maxMetricsPerLine/) });
  });

  test(`a batch of more than limits.maxBatchCells (${maxBatchCells}) metric values is a 413 naming the setting, and stores nothing`, async () => {
    const lines = maxBatchCells / maxMetricsPerLine + 1;
    const body = Array.from({ length: lines }, (_, i) => `${wideLine(maxMetricsPerLine, i)}\n`).join('');
    const res = await postNdjson(svc.url, 'b1', 'cells', body);
    expect(res.status).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'OUTPOST_ERR_TOO_LARGE', message: expect.stringMatching(/limits\.maxBatchCells/) });
    const json = await rawRequest(svc.url, {
      method: 'POST',
      path: '/api/v1/runs/b1/metrics',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        stream: 'cells-json',
        lines: Array.from({ length: lines }, (_, i) => ({ seq: i + 1, time: 1, metrics: JSON.parse(wideLine(maxMetricsPerLine, i)).metrics })),
      }),
    });
    expect(json.status).toBe(413);
    expect(json.json().error.message).toMatch(/limits\.maxBatchCells/);
    const run = (await rawRequest(svc.url, { path: '/api/v1/runs/b1' })).json();
    expect(run.metrics.m0.count).toBe(1); // only the line of the test before
  });
});

describe('a batch of limits.maxBatchCells values against a server process', () => {
  let dir: string;
  let server: ServerProcess;
  const LINES = maxBatchCells / maxMetricsPerLine;
  const batch = Array.from({ length: LINES }, (_, i) => `${wideLine(maxMetricsPerLine, i + 1)}\n`).join('');
  const dbFile = () => path.join(dir, 'data', 'outpost.db');

  beforeAll(async () => {
    dir = tempDir('outpost-bounded-');
    server = await startServerProcess({ dataDir: path.join(dir, 'data') });
    for (const run of ['slices', 'twice', 'killed']) {
      await rawRequest(server.url, { method: 'PUT', path: `/api/v1/runs/${run}`, headers: { 'content-type': 'application/json' }, body: '{}' });
    }
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The stream's acked_seq as the database has it now (a reader beside the service's writer). */
  function ackedSeq(db: Database.Database, run: string, stream: string): number {
    return (db.prepare('SELECT acked_seq FROM streams WHERE run_id = ? AND name = ?').pluck().get(run, stream) as number | undefined) ?? 0;
  }

  /** Polls the database until the stream has some lines of the batch but not all: a slice committed, the rest to come. */
  async function untilPartlyStored(run: string, stream: string): Promise<number> {
    const db = new Database(dbFile(), { readonly: true });
    try {
      for (;;) {
        const acked = ackedSeq(db, run, stream);
        if (acked > 0) return acked;
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      db.close();
    }
  }

  test('it is stored in several transactions, and a /health sent while it is stored is answered before its ack', async () => {
    const order: string[] = [];
    const big = postNdjson(server.url, 'slices', 's', batch).then((res) => {
      order.push('batch');
      return res;
    });
    const firstSlice = await untilPartlyStored('slices', 's');
    const health = await rawRequest(server.url, { path: '/api/v1/health' });
    order.push('health');
    const res = await big;
    expect(health.status).toBe(200);
    expect(res.json()).toMatchObject({ ackedSeq: LINES, stored: LINES });
    // The first commit held part of the batch: the rest came in later transactions.
    expect(firstSlice).toBeLessThan(LINES);
    expect(order).toEqual(['health', 'batch']);
  });

  test('sent twice at once (a retry racing the first try), it is stored exactly once', async () => {
    const [a, b] = await Promise.all([postNdjson(server.url, 'twice', 's', batch), postNdjson(server.url, 'twice', 's', batch)]);
    const acks = [a.json(), b.json()];
    for (const ack of acks) {
      expect(ack.ackedSeq).toBe(LINES);
      expect(ack.stored + ack.skipped).toBe(LINES);
    }
    expect(acks[0].stored + acks[1].stored).toBe(LINES);
    for (const name of ['m0', `m${maxMetricsPerLine - 1}`]) {
      const history = (await rawRequest(server.url, { path: `/api/v1/runs/twice/metrics/${name}` })).json();
      expect(history.points.map((p: { value: number }) => p.value)).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
    }
  });

  test('a service killed between two slices stores the batch exactly once when it is sent again', async () => {
    const sent = postNdjson(server.url, 'killed', 's', batch).catch(() => null);
    await untilPartlyStored('killed', 's');
    server.child.kill('SIGKILL');
    await server.exited;
    await sent;
    server = await startServerProcess({ dataDir: path.join(dir, 'data') });
    const res = await postNdjson(server.url, 'killed', 's', batch);
    expect(res.json()).toMatchObject({ ackedSeq: LINES });
    expect(res.json().stored + res.json().skipped).toBe(LINES);
    const history = (await rawRequest(server.url, { path: '/api/v1/runs/killed/metrics/m7' })).json();
    expect(history.points.map((p: { value: number }) => p.value)).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
    const db = new Database(dbFile(), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) FROM points p JOIN series s ON s.id = p.series_id WHERE s.run_id = 'killed'").pluck().get()).toBe(maxBatchCells);
    } finally {
      db.close();
    }
  });
});

