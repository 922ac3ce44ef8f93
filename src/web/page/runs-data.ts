/**
 * The runs list: loaded in pages (newest first, last metric values included) and sorted here,
 * so any column sorts across every loaded run. Thousands of runs are a few hundred KB of JSON.
 */
import type { RunStatus } from '../../protocol/api-types';
import { getRun, listRuns, RunRow } from './api';
import { runDuration } from './format';

export const PAGE_SIZE = 500;
export const MAX_RUNS = 20_000; // beyond this the page asks for a filter instead of loading more

export type SortKey = 'status' | 'name' | 'experiment' | 'start' | 'duration' | `m:${string}`;
export interface Sort {
  key: SortKey;
  desc: boolean;
}

/** Loads pages until done or `isCurrent()` turns false (the filters changed); reports each step. */
export async function loadRuns(
  filter: { experiment?: string; status?: RunStatus },
  onPage: (runs: RunRow[], total: number) => void | Promise<void>,
  isCurrent: () => boolean,
): Promise<void> {
  const runs: RunRow[] = [];
  for (;;) {
    const page = await listRuns({ ...filter, limit: PAGE_SIZE, offset: runs.length });
    if (!isCurrent()) return;
    runs.push(...page.runs);
    await onPage(runs, page.total);
    if (!isCurrent()) return;
    if (page.runs.length < PAGE_SIZE || runs.length >= Math.min(page.total, MAX_RUNS)) return;
  }
}

function sortValue(run: RunRow, key: SortKey, now: number): string | number | null {
  switch (key) {
    case 'status':
      return run.status;
    case 'name':
      return run.name || run.id;
    case 'experiment':
      return run.experiment;
    case 'start':
      return Date.parse(run.startTime);
    case 'duration':
      return runDuration(run, now);
    default: {
      const v = run.metrics[key.slice(2)];
      return typeof v === 'number' || typeof v === 'string' ? v : typeof v === 'boolean' ? Number(v) : null;
    }
  }
}

/** Sorted copy; runs without a value go last either way, ties keep the server's newest-first order. */
export function sortRuns(runs: RunRow[], sort: Sort): RunRow[] {
  const now = Date.now();
  const keyed = runs.map((run, i) => ({ run, i, v: sortValue(run, sort.key, now) }));
  const sign = sort.desc ? -1 : 1;
  keyed.sort((a, b) => {
    if (a.v === null || b.v === null || Number.isNaN(a.v) || Number.isNaN(b.v)) {
      const an = a.v === null || Number.isNaN(a.v);
      const bn = b.v === null || Number.isNaN(b.v);
      return an === bn ? a.i - b.i : an ? 1 : -1;
    }
    if (a.v < b.v) return -sign;
    if (a.v > b.v) return sign;
    return a.i - b.i;
  });
  return keyed.map((k) => k.run);
}

/**
 * Metric names across the runs, the ones logged most first: by `logged` (points per name, summed
 * over a sample of runs), then by how many runs have the name, then by name. The default columns
 * are the first of them, and the picker lists them in this order.
 */
export function metricNames(runs: RunRow[], logged: ReadonlyMap<string, number> = new Map()): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) for (const name in run.metrics) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => (logged.get(b[0]) ?? 0) - (logged.get(a[0]) ?? 0) || b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name]) => name);
}

/**
 * How many points each metric has, summed over the newest `sample` runs that have metrics. The
 * list of runs carries last values only; a run's summary has the counts, so a few are read.
 */
export async function loggedCounts(runs: RunRow[], sample: number): Promise<Map<string, number>> {
  const ids = runs.filter((r) => Object.keys(r.metrics).length > 0).slice(0, sample).map((r) => r.id);
  const infos = await Promise.all(ids.map((id) => getRun(id).catch(() => null)));
  const logged = new Map<string, number>();
  for (const info of infos) for (const [name, m] of Object.entries(info?.metrics ?? {})) logged.set(name, (logged.get(name) ?? 0) + m.count);
  return logged;
}

/**
 * Folds a fresh first page into the loaded list: changed runs are replaced in place and new ones
 * (newer than everything loaded) go on top, so a list of thousands follows its running runs cheaply.
 */
export function mergeNewest(runs: RunRow[], fresh: RunRow[]): RunRow[] {
  const byId = new Map(fresh.map((r) => [r.id, r]));
  const merged = runs.map((r) => byId.get(r.id) ?? r);
  const known = new Set(runs.map((r) => r.id));
  return [...fresh.filter((r) => !known.has(r.id)), ...merged];
}
