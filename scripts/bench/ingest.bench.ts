/**
 * ingest: 1,000,000 numeric metric lines sent to a real `outpost server` over HTTP in batches
 * (the axios client the agent uses, one batch in flight as its ordered uploader does), beside the
 * same rows inserted straight into SQLite with prepared statements, one transaction per batch.
 * Each side's input is made before its timed part, as the agent finds its spool lines already
 * written: what is timed is shipping and storing them, not making them. The two sides alternate
 * in rounds, so background load on the machine weighs on both alike.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { settings } from '../../config';
import { AxiosInstance, createApiClient } from '../../src/http/api-client';
import { BATCH_HEADERS, NDJSON_TYPE, type WireLine } from '../../src/protocol';
import { openSqliteStore } from '../../src/store/open-store';
import type { SqliteStore } from '../../src/store/sqlite-store';
import { Benchmark, ratio } from './harness';
import { startServer, stop } from './processes';

const LINES = 1_000_000;
const BATCH = settings.agent.batchMaxLines; // the agent's batch size
const ROUNDS = 10;

type NumericLine = WireLine & { step: number; metrics: { loss: number } };

function batchLines(first: number, count: number): NumericLine[] {
  const lines: NumericLine[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const seq = first + i;
    lines[i] = { seq, time: 1_700_000_000 + seq / 1000, step: seq, metrics: { loss: 1 / seq + (seq % 97) * 1e-3 } };
  }
  return lines;
}

/**
 * Sends lines from..to in batches, one request in flight (order matters), and encodes the next
 * batch while the current one is on the wire, as a client with a batcher ahead of its uploader does.
 */
type Wire = 'ndjson' | 'json';

/** The agent's form: the spool lines as written, one header naming the first line's number. */
function encodeNdjson(first: number, count: number): { body: Buffer; headers: Record<string, string> } {
  let text = '';
  for (const l of batchLines(first, count)) text += `{"name":"loss","value":${l.metrics.loss},"step":${l.step},"time":${l.time}}\n`;
  return { body: Buffer.from(text), headers: { 'content-type': NDJSON_TYPE, [BATCH_HEADERS.stream]: 'spool-ndjson', [BATCH_HEADERS.firstSeq]: String(first) } };
}

function encodeJson(first: number, count: number): { body: string; headers: Record<string, string> } {
  return { body: JSON.stringify({ stream: 'spool', lines: batchLines(first, count) }), headers: { 'content-type': 'application/json' } };
}

/** The batches of lines from..to in a wire form, made before they are timed. */
function encodeAll(wire: Wire, from: number, to: number): { first: number; body: Buffer | string; headers: Record<string, string> }[] {
  const out = [];
  for (let first = from; first <= to; first += BATCH) out.push({ first, ...(wire === 'ndjson' ? encodeNdjson : encodeJson)(first, Math.min(BATCH, to - first + 1)) });
  return out;
}

/** Sends the batches in order, one request in flight (order matters), each acknowledged before the next. */
async function sendOverHttp(api: AxiosInstance, wire: Wire, batches: ReturnType<typeof encodeAll>, to: number): Promise<void> {
  for (const b of batches) {
    const { data } = await api.post(`/runs/bench-${wire}/metrics`, b.body, { headers: b.headers });
    if (data.ackedSeq !== Math.min(to, b.first + BATCH - 1)) throw new Error(`unexpected ack ${JSON.stringify(data)}`);
  }
}

/** The floor: the same rows into the same schema, no HTTP, no validation, no idempotence check. */
function directSide(store: SqliteStore): (lines: NumericLine[]) => void {
  const db = store.db;
  const streamId = Number(db.prepare("INSERT INTO streams (run_id, name) VALUES ('bench', 'spool')").run().lastInsertRowid);
  const seriesId = Number(db.prepare("INSERT INTO series (run_id, name, type) VALUES ('bench', 'loss', 'float')").run().lastInsertRowid);
  const insert = db.prepare('INSERT INTO points (series_id, idx, stream_id, seq, step, time, kind, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const update = db.prepare('UPDATE series SET count = ?, last_kind = 1, last_value = ?, last_step = ? WHERE id = ?');
  const ack = db.prepare('UPDATE streams SET acked_seq = ? WHERE id = ?');
  const write = db.transaction((lines: NumericLine[]) => {
    for (const l of lines) insert.run(seriesId, l.seq - 1, streamId, l.seq, l.step, l.time, 1, l.metrics.loss);
    const last = lines[lines.length - 1];
    update.run(last.seq, last.metrics.loss, last.step, seriesId);
    ack.run(last.seq, streamId);
  });
  return (lines) => write.immediate(lines);
}

export const benchmark: Benchmark = {
  name: 'ingest',
  description: `${LINES.toLocaleString('en-US')} numeric metric lines in batches of ${BATCH.toLocaleString('en-US')}: HTTP service vs straight SQLite inserts`,
  async run() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-ingest-'));
    const server = await startServer(path.join(root, 'http'));
    const api = createApiClient({ baseUrl: server.url });
    const wires: Wire[] = ['ndjson', 'json'];
    const store = await openSqliteStore(path.join(root, 'direct'));
    try {
      for (const wire of wires) await api.put(`/runs/bench-${wire}`, {});
      await store.upsertRun('bench', {});
      const direct = directSide(store);
      const httpNs: Record<Wire, bigint> = { ndjson: 0n, json: 0n };
      let directNs = 0n;
      const perRound = LINES / ROUNDS;
      for (let round = 0; round < ROUNDS; round++) {
        const from = round * perRound + 1;
        const rows: NumericLine[][] = [];
        for (let first = from; first < from + perRound; first += BATCH) rows.push(batchLines(first, Math.min(BATCH, from + perRound - first)));
        let start = process.hrtime.bigint();
        for (const lines of rows) direct(lines);
        directNs += process.hrtime.bigint() - start;
        for (const wire of wires) {
          const batches = encodeAll(wire, from, from + perRound - 1);
          start = process.hrtime.bigint();
          await sendOverHttp(api, wire, batches, from + perRound - 1);
          httpNs[wire] += process.hrtime.bigint() - start;
        }
      }
      for (const wire of wires) {
        const stored = (await api.get(`/runs/bench-${wire}/metrics/loss`, { params: { limit: 1 } })).data.count;
        if (stored !== LINES) throw new Error(`the service stored ${stored} ${wire} lines, ${LINES} were sent`);
      }
      const baseline = LINES / (Number(directNs) / 1e9);
      const baselineLabel = 'prepared INSERTs into points/series, one transaction per batch, no HTTP';
      const common = `outpost server as a child process on 127.0.0.1:0; uncompressed batches made before they are timed (as spool lines already written), one in flight; the sides alternate in ${ROUNDS} rounds`;
      return wires.map((wire) => {
        const value = LINES / (Number(httpNs[wire]) / 1e9);
        return {
          name: wire === 'ndjson' ? 'ingest' : 'ingest-json',
          unit: 'lines/s',
          value: Math.round(value),
          baseline: Math.round(baseline),
          ratio: ratio(value, baseline),
          aim: wire === 'ndjson' ? 'ratio >= 0.5' : undefined,
          baselineLabel,
          notes: `${wire === 'ndjson' ? "the agent's wire form: raw spool lines (NDJSON)" : 'JSON batches of parsed lines'}; ${common}`,
        };
      });
    } finally {
      (api.defaults.httpAgent as { destroy(): void }).destroy();
      await store.close();
      await stop(server.proc);
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
};
