/**
 * runs-query: p50 and p95 of the runs page's query over HTTP on a store of 100,000 runs (10 params,
 * 5 tags and 10 metrics of several points each), beside the same page written by hand as one
 * SELECT on the same database in the same run. Other shapes people use, and the count behind
 * x-total-count, are timed too and printed as notes.
 */
import fs from 'fs';
import http from 'http';
import os from 'os';
import path from 'path';
import { settings } from '../../config';
import { createLogger } from '../../src/log/logger';
import { API_PREFIX, type ParamValue, type RunSummary, type WireLine } from '../../src/protocol';
import { checkJsonBatch } from '../../src/service/json-batch';
import { createApiClient } from '../../src/http/api-client';
import { startService } from '../../src/service/server';
import { parseRunFilter, parseSortKey } from '../../src/service/run-filter';
import Database from 'better-sqlite3';
import { KIND } from '../../src/store/metric-codec';
import type { RunQuery } from '../../src/store/run-query';
import { openSqliteStore } from '../../src/store/open-store';
import { DB_FILE, type SqliteStore } from '../../src/store/sqlite-store';
import { SCHEMA_VERSION } from '../../src/store/sqlite-migrations';
import { Benchmark, percentile, ratio } from './harness';

const RUNS = 100_000;
const POINTS = 4; // per metric: enough that last, min and max differ
const ROUNDS = 100;
const WARMUP = 5;
/** Bump when the generated data changes: the cached store is rebuilt. */
const DATA_VERSION = 1;
const RUNS_PER_TX = 2_000;

const FILTER = 'params.lr = 0.01 and metrics.val_acc > 0.9';
const SORT = 'metrics.val_acc desc';
const LIMIT = 50;

const LRS = [0.1, 0.03, 0.01, 0.003, 0.001];
const ARCHS = ['resnet50', 'vit-b16', 'convnext-t', 'bert-base', 'gpt2-small'];
const TEAMS = ['vision', 'audio', 'nlp', 'rl'];
const METRICS = ['loss', 'val_loss', 'acc', 'val_acc', 'f1', 'precision', 'recall', 'grad_norm', 'throughput', 'lr_now'];

/** A small seeded generator (mulberry32): the same store on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

interface GeneratedRun {
  id: string;
  experiment: string;
  name: string;
  startTime: string;
  endTime: string;
  status: 'completed' | 'failed';
  lines: WireLine[];
}

function generateRun(i: number): GeneratedRun {
  const r = rng(i + 1);
  const arch = pick(r, ARCHS);
  const params: Record<string, ParamValue> = {
    lr: pick(r, LRS), // a fifth each: lr = 0.01 is 20% of the runs
    batch_size: pick(r, [32, 64, 128, 256]),
    optimizer: pick(r, ['adam', 'sgd', 'adamw']),
    epochs: pick(r, [10, 20, 50, 100]),
    dropout: pick(r, [0, 0.1, 0.2, 0.3, 0.5]),
    weight_decay: pick(r, [0, 1e-5, 1e-4, 1e-3]),
    warmup_steps: Math.floor(r() * 2000),
    'model.depth': pick(r, [18, 34, 50, 101]),
    'model.arch': arch,
    seed: i,
  };
  const tags: Record<string, string> = {
    team: pick(r, TEAMS),
    stage: pick(r, ['dev', 'staging', 'prod']),
    owner: `user${Math.floor(r() * 50)}`,
    priority: pick(r, ['low', 'normal', 'high']),
    branch: pick(r, ['main', 'exp/augment', 'exp/schedule', 'fix/loader']),
  };
  // Final values: val_acc uniform in [0.5, 0.95), so about 11% end above 0.9; each series climbs
  // with noise, its best point not always the last.
  const finals: Record<string, number> = {};
  for (const m of METRICS) finals[m] = r();
  finals.val_acc = 0.5 + 0.45 * finals.val_acc;
  finals.acc = Math.min(0.999, finals.val_acc + 0.03 * r());
  finals.loss = 0.02 + 1.5 * finals.loss;
  finals.val_loss = finals.loss * (1 + 0.3 * r());
  const lines: WireLine[] = [
    { seq: 1, time: 1_700_000_000, params },
    { seq: 2, time: 1_700_000_000, tags },
  ];
  for (let p = 0; p < POINTS; p++) {
    const left = POINTS - 1 - p; // points still to come
    const metrics: Record<string, number> = {};
    for (const m of METRICS) {
      const f = finals[m];
      const rising = m.includes('acc') || m === 'f1' || m === 'precision' || m === 'recall';
      const noise = p === POINTS - 1 ? 0 : (r() - 0.5) * 0.04;
      metrics[m] = rising ? f - 0.08 * left + noise : f * (1 + 0.5 * left) + noise;
    }
    lines.push({ seq: 3 + p, time: 1_700_000_000 + p, step: p + 1, metrics });
  }
  const start = Date.UTC(2025, 0, 1) + i * 60_000;
  return {
    id: `run-${String(i).padStart(6, '0')}`,
    experiment: `${arch}-sweep`,
    name: `${arch} ${tags.team} #${i}`,
    startTime: new Date(start).toISOString(),
    endTime: new Date(start + 45 * 60_000).toISOString(),
    status: r() < 0.1 ? 'failed' : 'completed',
    lines,
  };
}

/**
 * The store, built once through the store's own upsert and ingest (so last, min and max are the
 * store's), many runs per transaction, and kept under the OS temp folder keyed by the data's
 * format. Built in a side folder and renamed: never half a cache. A cache written by a newer
 * outpost (a schema this one does not know) is built again; an older one is migrated on the copy.
 */
async function cachedStore(log: (line: string) => void): Promise<string> {
  const dir = path.join(os.tmpdir(), `outpost-bench-runs-query-d${DATA_VERSION}`);
  if (fs.existsSync(path.join(dir, 'done')) && schemaOf(dir) <= SCHEMA_VERSION) return dir;
  const building = `${dir}.building-${process.pid}`;
  fs.rmSync(building, { recursive: true, force: true });
  const t0 = Date.now();
  const store = await openSqliteStore(building);
  try {
    for (let first = 0; first < RUNS; first += RUNS_PER_TX) {
      const runs: GeneratedRun[] = [];
      for (let i = first; i < Math.min(RUNS, first + RUNS_PER_TX); i++) runs.push(generateRun(i));
      const pending: Promise<unknown>[] = [];
      // The store's writes nest as savepoints: one commit for the lot. (Each call below does its
      // writes before its first await, so all of them fall inside the transaction.)
      store.db.transaction(() => {
        for (const run of runs) {
          pending.push(store.upsertRun(run.id, { experiment: run.experiment, name: run.name, startTime: run.startTime }));
          pending.push(store.ingestMetrics(run.id, checkJsonBatch({ stream: 'spool', lines: run.lines }, settings.limits)));
          pending.push(store.upsertRun(run.id, { status: run.status, endTime: run.endTime, exitCode: run.status === 'completed' ? 0 : 1 }));
        }
      })();
      await Promise.all(pending);
    }
    // No ANALYZE: the store never runs one, so its plans must be good without statistics.
    store.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    await store.close();
  }
  fs.writeFileSync(path.join(building, 'done'), `${RUNS} runs\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(building, dir);
  log(`built ${RUNS.toLocaleString('en-US')} runs in ${((Date.now() - t0) / 1000).toFixed(0)} s, cached in ${dir}`);
  return dir;
}

function schemaOf(dir: string): number {
  const db = new Database(path.join(dir, DB_FILE), { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/**
 * The baseline: the page written by hand, one SELECT. The filter's rows come straight off the
 * val_acc index in the sort's order, lr is checked by the params primary key, and each run's
 * params and tags come as JSON objects beside it.
 */
const HAND_SQL = `
  SELECT r.id, e.name AS experiment, r.name, r.status, r.start_time, r.end_time, r.deleted_time,
    (SELECT json_group_object(key, CASE kind WHEN 'string' THEN text ELSE json(text) END) FROM params WHERE run_id = r.id) AS params,
    (SELECT json_group_object(key, value) FROM tags WHERE run_id = r.id) AS tags
  FROM series s
    JOIN runs r ON r.id = s.run_id
    JOIN experiments e ON e.id = r.experiment_id
  WHERE s.name = 'val_acc' AND s.last_value > 0.9 AND s.last_kind IN (${KIND.integer}, ${KIND.float})
    AND r.deleted_time IS NULL
    AND EXISTS (SELECT 1 FROM params p WHERE p.run_id = s.run_id AND p.key = 'lr' AND p.num = 0.01)
  ORDER BY s.last_value DESC, r.start_time DESC, r.rowid DESC
  LIMIT ${LIMIT}`;

interface HandRow {
  id: string;
  experiment: string;
  name: string;
  status: RunSummary['status'];
  start_time: string;
  end_time: string | null;
  deleted_time: string | null;
  params: string;
  tags: string;
}

function handPage(hand: Database.Statement): RunSummary[] {
  return (hand.all() as HandRow[]).map((row) => ({
    id: row.id,
    experiment: row.experiment,
    name: row.name,
    status: row.status,
    startTime: row.start_time,
    endTime: row.end_time,
    params: JSON.parse(row.params) as Record<string, ParamValue>,
    tags: JSON.parse(row.tags) as Record<string, string>,
    deleted: row.deleted_time !== null,
  }));
}

interface Timing {
  p50: number;
  p95: number;
  /** The median CPU time of this process (client and in-process service both): what load on the machine does not stretch. */
  cpu50: number;
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const cpuMs = (start: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e3;
};

function summary(samples: number[], cpu: number[]): Timing {
  samples.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), cpu50: percentile(cpu, 50) };
}

/**
 * Each side once a round, taking turns at going first, so that the machine's other load weighs
 * on both alike; `between` runs before each round, untimed. The first rounds warm caches and the JIT.
 */
async function timeSides(sides: (() => unknown)[], rounds = ROUNDS, between?: () => Promise<unknown>): Promise<Timing[]> {
  const samples: number[][] = sides.map(() => []);
  const cpu: number[][] = sides.map(() => []);
  for (let i = 0; i < WARMUP + rounds; i++) {
    for (let k = 0; k < sides.length; k++) {
      const j = (i + k) % sides.length;
      if (between) await between();
      const start = process.hrtime.bigint();
      const startCpu = process.cpuUsage();
      await sides[j]();
      if (i >= WARMUP) {
        samples[j].push(ms(start));
        cpu[j].push(cpuMs(startCpu));
      }
    }
  }
  return samples.map((s, j) => summary(s, cpu[j]));
}

/** GET url?params: the runs and x-total-count; anything but a 200 is an error. */
function getJson(agent: http.Agent, url: string, params: Record<string, string | number>): Promise<{ runs: RunSummary[]; total: number }> {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
  return new Promise((resolve, reject) => {
    http
      .get(u, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`GET ${u.pathname}${u.search}: ${res.statusCode} ${body}`));
          else resolve({ runs: JSON.parse(body) as RunSummary[], total: Number(res.headers['x-total-count']) });
        });
      })
      .on('error', reject);
  });
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const count = (n: number) => n.toLocaleString('en-US');

export const benchmark: Benchmark = {
  name: 'runs-query',
  description: `p95 ms of GET /runs?filter=${FILTER}&sort=${SORT}&limit=${LIMIT} over HTTP on ${count(RUNS)} runs`,
  async run() {
    const notes: string[] = [];
    const cache = await cachedStore((line) => console.log(line));
    // A copy, so that the writes below and a migration leave the cache as it was.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-runs-query-'));
    fs.copyFileSync(path.join(cache, DB_FILE), path.join(dir, DB_FILE));
    const from = schemaOf(dir);
    const t0 = process.hrtime.bigint();
    const service = await startService({ host: '127.0.0.1', port: 0, dataDir: dir, log: createLogger('service', 'error') });
    if (from < SCHEMA_VERSION) notes.push(`the cached store (schema ${from}) migrated to schema ${SCHEMA_VERSION} in ${f1(ms(t0) / 1000)} s`);
    // A plain keep-alive client that reads and parses the body, as the page's fetch does: axios
    // spends ~0.3 ms a request of its own, which is the client's, not the service's.
    const agent = new http.Agent({ keepAlive: true });
    try {
      const store = service.store as SqliteStore; // the default store: SQLite in the data folder
      const get = (params: Record<string, string | number>) => getJson(agent, `${service.url}${API_PREFIX}/runs`, params);
      const main = { filter: FILTER, sort: SORT, limit: LIMIT };
      const hand = store.db.prepare(HAND_SQL);

      // Both sides must give the same page, in the same order.
      const served = await get(main);
      const byHand = handPage(hand);
      if (JSON.stringify(served.runs) !== JSON.stringify(byHand)) {
        throw new Error(`the service and the hand-written SQL disagree:\n${served.runs.map((r) => r.id).join(' ')}\n${byHand.map((r) => r.id).join(' ')}`);
      }
      if (served.runs.length !== LIMIT) throw new Error(`expected a full page of ${LIMIT}, got ${served.runs.length}`);
      const lr = store.db.prepare(`SELECT count(*) FROM params WHERE key = 'lr' AND num = 0.01`).pluck().get() as number;
      const acc = store.db.prepare(`SELECT count(*) FROM series WHERE name = 'val_acc' AND last_value > 0.9`).pluck().get() as number;
      const pct = (n: number) => `${((100 * n) / RUNS).toFixed(1)}%`;
      notes.push(
        `the filter selects ${count(served.total)} of ${count(RUNS)} runs (${pct(served.total)}; lr = 0.01: ${pct(lr)}, val_acc > 0.9: ${pct(acc)}); ${ROUNDS} rounds after ${WARMUP} warm-ups, the two sides in turn`,
      );

      const parsed: RunQuery = { filter: parseRunFilter(FILTER), sort: parseSortKey(SORT), limit: LIMIT };
      const inStore = async () => [await store.listRuns(parsed), await store.countRuns(parsed)];
      const [value, baseline, direct] = await timeSides([() => get(main), () => handPage(hand), inStore]);
      const api = createApiClient({ baseUrl: service.url });
      const [viaAxios] = await timeSides([() => api.get('/runs', { params: main })]);
      (api.defaults.httpAgent as { destroy(): void }).destroy();
      notes.push(`through axios, the CLI's client: p50 ${f1(viaAxios.p50)} ms, p95 ${f1(viaAxios.p95)} ms`);
      notes.push(`the store's own calls, in-process (listRuns and countRuns, no HTTP): p50 ${f2(direct.p50)} ms, p95 ${f2(direct.p95)} ms (ratio to the hand-written SELECT ${f2(direct.p95 / baseline.p95)}); the rest of a request is HTTP, parsing the filter and JSON`);
      notes.push(`CPU time, p50: ${f2(value.cpu50)} ms a request, ${f2(baseline.cpu50)} ms by hand (ratio ${f2(value.cpu50 / baseline.cpu50)}; the machine's other load does not stretch these)`);

      // A store being written to: one metric line stored before each request, as a training job
      // does, so nothing remembered holds and every count is made afresh.
      let seq = 0;
      const write = () => store.ingestMetrics('run-000000', checkJsonBatch({ stream: 'bench-writes', lines: [{ seq: ++seq, time: 1_700_000_000 + seq, metrics: { writes: seq } }] }, settings.limits));
      const filter = parseRunFilter(FILTER);
      const [busy, fresh] = await timeSides([() => get(main), () => store.countRuns({ filter })], ROUNDS, write);
      notes.push(`with a metric line stored before each request: p50 ${f1(busy.p50)} ms, p95 ${f1(busy.p95)} ms; of which the count behind x-total-count, made afresh: p50 ${f1(fresh.p50)} ms, p95 ${f1(fresh.p95)} ms`);

      const lastPage = Math.floor((served.total - 1) / LIMIT) * LIMIT;
      const shapes: [string, Record<string, string | number>][] = [
        ['newest first, no filter', { limit: LIMIT }],
        ["tags.team = 'nlp'", { filter: "tags.team = 'nlp'", limit: LIMIT }],
        ['metrics.loss.min < 0.05', { filter: 'metrics.loss.min < 0.05', limit: LIMIT }],
        ["name ILIKE '%vit%'", { filter: "name ILIKE '%vit%'", limit: LIMIT }],
        ['sort params.warmup_steps desc', { sort: 'params.warmup_steps desc', limit: LIMIT }],
        ["params.optimizer = 'sgd' or tags.team = 'rl', sort metrics.val_acc desc", { filter: "params.optimizer = 'sgd' or tags.team = 'rl'", sort: 'metrics.val_acc desc', limit: LIMIT }],
        ["tags.owner = 'user7' and params.seed < 1000, sort params.seed", { filter: "tags.owner = 'user7' and params.seed < 1000", sort: 'params.seed', limit: LIMIT }],
        [`the main query's last page (offset ${count(lastPage)})`, { ...main, offset: lastPage }],
      ];
      for (const [label, params] of shapes) {
        const q: RunQuery = params.filter === undefined ? {} : { filter: parseRunFilter(String(params.filter)) };
        const { total } = await get(params);
        const [t] = await timeSides([() => get(params)]);
        const [c] = await timeSides([() => store.countRuns(q)], 20, write);
        notes.push(`${label} (${count(total)} runs): p50 ${f1(t.p50)} ms, p95 ${f1(t.p95)} ms; its count afresh p50 ${f1(c.p50)} ms`);
      }
      const baselineLabel = 'the same page by one hand-written SELECT, in-process';
      return [
        {
          name: 'runs-query',
          unit: 'ms (p95)',
          value: Number(value.p95.toFixed(2)),
          baseline: Number(baseline.p95.toFixed(2)),
          ratio: ratio(value.p95, baseline.p95),
          aim: 'value < 300 and ratio <= 2',
          baselineLabel,
          notes: notes.join('\n  '),
        },
        {
          name: 'runs-query-p50',
          unit: 'ms (p50)',
          value: Number(value.p50.toFixed(2)),
          baseline: Number(baseline.p50.toFixed(2)),
          ratio: ratio(value.p50, baseline.p50),
          baselineLabel,
        },
      ];
    } finally {
      agent.destroy();
      await service.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
