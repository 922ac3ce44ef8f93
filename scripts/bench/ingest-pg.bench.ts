/**
 * ingest-pg: 1,000,000 numeric metric lines sent over HTTP (the agent's NDJSON batches, one in
 * flight) to an `outpost server --db postgresql://...`, beside COPY of the same rows into the same
 * table of the same database, one transaction per batch with the series and stream updates the
 * service makes too. The sides alternate in rounds, so background load weighs on both alike.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { settings } from '../../config';
import { AxiosInstance, createApiClient } from '../../src/http/api-client';
import { BATCH_HEADERS, NDJSON_TYPE } from '../../src/protocol';
import { startPgCluster } from '../pg/cluster';
import { Benchmark, ratio } from './harness';
import { startServer, stop } from './processes';

const LINES = 1_000_000;
const BATCH = settings.agent.batchMaxLines;
const ROUNDS = 10;

const valueOf = (seq: number) => 1 / seq + (seq % 97) * 1e-3;
const timeOf = (seq: number) => 1_700_000_000 + seq / 1000;

function ndjson(first: number, count: number): Buffer {
  let text = '';
  for (let seq = first; seq < first + count; seq++) text += `{"name":"loss","value":${valueOf(seq)},"step":${seq},"time":${timeOf(seq)}}\n`;
  return Buffer.from(text);
}

async function sendOverHttp(api: AxiosInstance, from: number, to: number): Promise<void> {
  const headers = (first: number) => ({ 'content-type': NDJSON_TYPE, [BATCH_HEADERS.stream]: 'spool', [BATCH_HEADERS.firstSeq]: String(first) });
  let body = ndjson(from, Math.min(BATCH, to - from + 1));
  for (let first = from; first <= to; first += BATCH) {
    const pending = api.post('/runs/bench/metrics', body, { headers: headers(first) });
    if (first + BATCH <= to) body = ndjson(first + BATCH, Math.min(BATCH, to - first - BATCH + 1));
    await pending;
  }
}

/** The floor: the same rows by COPY into the same points table, with the series and stream updates, one transaction per batch. */
async function copySide(pool: pg.Pool): Promise<(first: number, count: number) => Promise<void>> {
  const c = await pool.connect();
  await c.query("INSERT INTO runs (id, experiment_id, name, status, start_time) SELECT 'direct', id, 'direct', 'running', '2025-01-01' FROM experiments LIMIT 1");
  const stream = (await c.query("INSERT INTO streams (run_id, name) VALUES ('direct', 'spool') RETURNING id")).rows[0].id as string;
  const series = (await c.query("INSERT INTO series (run_id, name, type) VALUES ('direct', 'loss', 'float') RETURNING id")).rows[0].id as string;
  c.release();
  return async (first, count) => {
    let text = '';
    for (let seq = first; seq < first + count; seq++) text += `${series}\t${seq - 1}\t${stream}\t${seq}\t${seq}\t${timeOf(seq)}\t1\t${valueOf(seq)}\t\\N\n`;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await pipeline(Readable.from([text]), client.query(copyFrom('COPY points (series_id, idx, stream_id, seq, step, time, kind, num, text) FROM STDIN')));
      const last = first + count - 1;
      await client.query('UPDATE series SET count = $1, last_kind = 1, last_num = $2, last_step = $1 WHERE id = $3', [last, valueOf(last), series]);
      await client.query('UPDATE streams SET acked_seq = $1 WHERE id = $2', [last, stream]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
}

export const benchmark: Benchmark = {
  name: 'ingest-pg',
  description: `${LINES.toLocaleString('en-US')} numeric metric lines in batches of ${BATCH.toLocaleString('en-US')} over HTTP into PostgreSQL vs COPY of the same rows`,
  async run() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-ingest-pg-'));
    const cluster = await startPgCluster();
    const url = await cluster.createDatabase('bench');
    const server = await startServer(path.join(root, 'http'), ['--db', url]);
    const api = createApiClient({ baseUrl: server.url });
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      await api.put('/runs/bench', {});
      const direct = await copySide(pool);
      let httpNs = 0n;
      let directNs = 0n;
      const perRound = LINES / ROUNDS;
      for (let round = 0; round < ROUNDS; round++) {
        const from = round * perRound + 1;
        let start = process.hrtime.bigint();
        for (let first = from; first < from + perRound; first += BATCH) await direct(first, Math.min(BATCH, from + perRound - first));
        directNs += process.hrtime.bigint() - start;
        start = process.hrtime.bigint();
        await sendOverHttp(api, from, from + perRound - 1);
        httpNs += process.hrtime.bigint() - start;
      }
      const stored = (await api.get('/runs/bench/metrics/loss', { params: { limit: 1 } })).data.count;
      if (stored !== LINES) throw new Error(`the service stored ${stored} lines, ${LINES} were sent`);
      const value = LINES / (Number(httpNs) / 1e9);
      const baseline = LINES / (Number(directNs) / 1e9);
      return [
        {
          name: 'ingest-pg',
          unit: 'lines/s',
          value: Math.round(value),
          baseline: Math.round(baseline),
          ratio: ratio(value, baseline),
          aim: 'ratio >= 0.5',
          baselineLabel: 'COPY of the same rows into points, with the series and stream updates, one transaction per batch, no HTTP',
          notes: `outpost server --db postgresql://... as a child process; PostgreSQL 15, a cluster of its own on loopback (fsync off, for both sides); NDJSON batches, one in flight; the sides alternate in ${ROUNDS} rounds`,
        },
      ];
    } finally {
      (api.defaults.httpAgent as { destroy(): void }).destroy();
      await pool.end();
      await stop(server.proc);
      cluster.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
};
