/**
 * runs-page: time from navigating to the runs page to its first rows on screen (the page's
 * `outpost:runs-shown` performance mark), in chromium against a real `outpost server` over a
 * store of 100,000 runs (10 params, 5 tags, 10 metrics each), beside the same page over a store of
 * 100 such runs in the same run. Each navigation is in a fresh browser context (nothing cached).
 * Notes give where the time went (the page's requests, from resource timing) and the same figure
 * for a view sorted by a metric, one filtered, and a page read deep in the list.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { settings } from '../../config';
import type { WireLine } from '../../src/protocol';
import { checkJsonBatch } from '../../src/service/json-batch';
import { openSqliteStore } from '../../src/store/open-store';
import { Benchmark, percentile, ratio } from './harness';
import { startServer, stop } from './processes';

const RUNS = 100_000;
const BASELINE_RUNS = 100;
const ROUNDS = 9; // navigations measured per view, after WARM_UPS
const WARM_UPS = 2;
const AIM_MS = 1500;
const CHROMIUM = process.env.OUTPOST_CHROMIUM ?? '/usr/bin/chromium';
const FORMAT = 1; // of the cached stores below: bump when what fill() writes changes
const TX_RUNS = 5_000; // runs written per transaction while filling

const EXPERIMENTS = ['cifar10', 'imagenet-subset', 'gpt-tiny', 'moons', 'speech'];
const OPTIMIZERS = ['adam', 'sgd', 'adamw', 'lion'];
const METRICS = ['loss', 'val_loss', 'val_acc', 'train_acc', 'lr', 'epoch_time_ms', 'grad_norm', 'top5', 'f1', 'throughput'];

/** Run i's content: deterministic, spread so that filters and sorts select realistic fractions. */
function runLines(i: number): WireLine[] {
  const time = 1_700_000_000 + i * 60;
  const params = {
    lr: [0.1, 0.03, 0.01, 0.003, 0.001][i % 5],
    batch_size: [32, 64, 128, 256][(i >> 2) % 4],
    optimizer: OPTIMIZERS[(i >> 4) % 4],
    'model.depth': 2 + (i % 7),
    'model.width': 64 << (i % 4),
    dropout: ((i * 7) % 10) / 20,
    weight_decay: [0, 1e-5, 1e-4][i % 3],
    warmup_steps: (i % 6) * 100,
    seed: i % 1000,
    augment: i % 2 === 0,
  };
  const tags = { team: ['vision', 'audio', 'nlp'][i % 3], stage: ['dev', 'candidate', 'prod'][(i >> 3) % 3], host: `gpu-node-${i % 16}`, owner: `user${i % 40}`, sweep: `sweep-${Math.floor(i / 500)}` };
  const lines: WireLine[] = [
    { seq: 1, time, params },
    { seq: 2, time, tags },
  ];
  for (let step = 0; step < 3; step++) {
    const acc = 0.5 + ((i * 7919) % 1000) / 2500 + step * 0.02;
    const metrics: Record<string, number> = {};
    METRICS.forEach((name, k) => (metrics[name] = name.includes('acc') || name === 'top5' || name === 'f1' ? acc - k * 0.001 : 2 - acc + k * 0.01 + step * 0.001));
    lines.push({ seq: 3 + step, time: time + step, step, metrics });
  }
  return lines;
}

/**
 * Through the store's own upsert and ingest, many runs to a transaction (the store's writes nest
 * in it as savepoints): minutes become tens of seconds. Kept under the OS temp folder.
 */
async function store(runs: number): Promise<string> {
  const dir = path.join(os.tmpdir(), `outpost-bench-runs-page-v${FORMAT}-${runs}`);
  if (fs.existsSync(path.join(dir, 'complete'))) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  const started = Date.now();
  const s = await openSqliteStore(dir);
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  for (let from = 0; from < runs; from += TX_RUNS) {
    const pending: Promise<unknown>[] = [];
    s.db.transaction(() => {
      for (let i = from; i < Math.min(runs, from + TX_RUNS); i++) {
        const id = `run-${String(i).padStart(6, '0')}`;
        const start = t0 + i * 60_000;
        pending.push(
          s.upsertRun(id, { experiment: EXPERIMENTS[i % EXPERIMENTS.length], name: `trial ${i}`, status: i % 50 === 0 ? 'failed' : 'completed', startTime: new Date(start).toISOString(), endTime: new Date(start + 30_000 + (i % 600) * 1000).toISOString() }),
        );
        pending.push(s.ingestMetrics(id, checkJsonBatch({ stream: 'spool', file: 'metrics.jsonl', lines: runLines(i) }, settings.limits)));
      }
    })();
    await Promise.all(pending);
  }
  await s.close();
  fs.writeFileSync(path.join(dir, 'complete'), `${runs} runs, built in ${Date.now() - started} ms\n`);
  return dir;
}

interface Timing {
  shownMs: number;
  /** ms each of the page's requests took, by what it was for. */
  requests: Record<string, number>;
}

/** One navigation in a fresh context: ms from navigation start to the first rows shown. */
async function navigate(browser: Browser, url: string): Promise<Timing> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const page: Page = await context.newPage();
    await page.goto(url);
    await page.locator('.runs-scroll tbody[data-shown]').waitFor({ timeout: 60_000 });
    return await page.evaluate(() => {
      // In the page: the DOM's performance (this file is typed for Node, whose lacks these entry types).
      const perf = performance as unknown as { getEntriesByName(n: string): { startTime: number }[]; getEntriesByType(t: string): Entry[] };
      type Entry = { name: string; startTime: number; responseEnd: number; domContentLoadedEventEnd: number };
      const shown = perf.getEntriesByName('outpost:runs-shown')[0].startTime;
      const requests: Record<string, number> = {};
      for (const e of perf.getEntriesByType('resource')) {
        if (e.startTime > shown) continue;
        const p = new URL(e.name).pathname;
        const what = p === '/api/v1/runs' ? 'list' : p.startsWith('/api/v1/runs/') ? 'run summary' : p === '/api/v1/experiments' ? 'experiments' : p.replace(/^\//, '') || 'index.html';
        requests[what] = Math.max(requests[what] ?? 0, e.responseEnd - e.startTime);
      }
      const nav = perf.getEntriesByType('navigation')[0];
      requests['index.html'] = nav.responseEnd - nav.startTime;
      requests['scripts parsed (DOMContentLoaded)'] = nav.domContentLoadedEventEnd;
      return { shownMs: shown, requests };
    });
  } finally {
    await context.close();
  }
}

async function measure(browser: Browser, url: string): Promise<{ p50: number; requests: Record<string, number> }> {
  const timings: Timing[] = [];
  for (let i = 0; i < WARM_UPS + ROUNDS; i++) {
    const t = await navigate(browser, url);
    if (i >= WARM_UPS) timings.push(t);
  }
  const p50 = percentile(timings.map((t) => t.shownMs).sort((a, b) => a - b), 50);
  const requests: Record<string, number> = {};
  for (const key of new Set(timings.flatMap((t) => Object.keys(t.requests)))) {
    requests[key] = percentile(timings.map((t) => t.requests[key] ?? 0).sort((a, b) => a - b), 50);
  }
  return { p50, requests };
}

/** ms of one GET of the list as the page asks for it, p50 over a few. */
async function listLatency(url: string, query: string): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 7; i++) {
    const start = process.hrtime.bigint();
    const res = await fetch(`${url}/api/v1/runs?${query}`);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`GET /runs?${query}: ${res.status}`);
    if (i >= 2) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return percentile(samples.sort((a, b) => a - b), 50);
}

const fmt = (ms: number) => `${Math.round(ms)} ms`;
const breakdown = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');

export const benchmark: Benchmark = {
  name: 'runs-page',
  description: `ms from navigation to the first rows of the runs page over ${RUNS.toLocaleString('en-US')} runs (10 params, 5 tags, 10 metrics each), chromium and a real outpost server`,
  async run() {
    const built = Date.now();
    const [bigDir, smallDir] = [await store(RUNS), await store(BASELINE_RUNS)];
    const buildNote = fs.readFileSync(path.join(bigDir, 'complete'), 'utf8').trim();
    console.log(`  stores ready in ${Date.now() - built} ms (${buildNote}; cached under ${os.tmpdir()})`);
    const big = await startServer(bigDir);
    const small = await startServer(smallDir);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    try {
      // Alternating which goes first would not help: each view's rounds run back to back.
      const value = await measure(browser, `${big.url}/#/`);
      const baseline = await measure(browser, `${small.url}/#/`);
      const sortedUrl = `${big.url}/#/?sort=${encodeURIComponent('m:val_acc')}&dir=desc`;
      const filteredUrl = `${big.url}/#/?filter=${encodeURIComponent('params.lr = 0.01 and metrics.val_acc > 0.8')}`;
      const sorted = await measure(browser, sortedUrl);
      const filtered = await measure(browser, filteredUrl);
      const deep = await listLatency(big.url, `limit=100&offset=${RUNS - 100}&include=metrics`);
      const first = await listLatency(big.url, 'limit=100&offset=0&include=metrics');
      return [
        {
          name: 'runs-page',
          unit: 'ms (p50)',
          value: Math.round(value.p50),
          baseline: Math.round(baseline.p50),
          ratio: ratio(value.p50, baseline.p50),
          aim: `value < ${AIM_MS}`,
          baselineLabel: `the same page over ${BASELINE_RUNS} runs`,
          notes: [
            `${ROUNDS} navigations after ${WARM_UPS} warm-ups, each in a fresh browser context; first rows = the page's outpost:runs-shown mark`,
            `where it went (p50, ${RUNS.toLocaleString('en-US')} runs): ${breakdown(value.requests)}`,
            `where it went (p50, ${BASELINE_RUNS} runs): ${breakdown(baseline.requests)}`,
            `sorted by metrics.val_acc desc: ${fmt(sorted.p50)} (list ${fmt(sorted.requests.list ?? 0)})`,
            `filtered (params.lr = 0.01 and metrics.val_acc > 0.8): ${fmt(filtered.p50)} (list ${fmt(filtered.requests.list ?? 0)})`,
            `GET /runs, 100 with metrics: first page ${fmt(first)}, the last page (offset ${(RUNS - 100).toLocaleString('en-US')}) ${fmt(deep)}`,
          ].join('\n  '),
        },
      ];
    } finally {
      await browser.close();
      await stop(big.proc);
      await stop(small.proc);
    }
  },
};
