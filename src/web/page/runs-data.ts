/** What the runs table's columns are made of: the names in the runs read so far, and the metric counts behind the default columns. */
import { getRun, RunRow } from './api';
import type { ColumnKey } from './filter-text';

export interface Sort {
  key: ColumnKey;
  desc: boolean;
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

/** Param or tag names across the runs: those more runs have first, then by name. */
export function keyNames(runs: RunRow[], kind: 'params' | 'tags'): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) for (const name in run[kind]) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name]) => name);
}

/** The params whose value differs between the runs (what a sweep varies), in `names`' order. */
export function varyingParams(runs: RunRow[], names: string[]): string[] {
  return names.filter((name) => new Set(runs.map((r) => (Object.hasOwn(r.params, name) ? JSON.stringify(r.params[name]) : ''))).size > 1);
}

/**
 * How many points each metric has, summed over the first `sample` runs listed that have metrics. The
 * list of runs carries last values only; a run's summary has the counts, so a few are read.
 */
export async function loggedCounts(runs: RunRow[], sample: number): Promise<Map<string, number>> {
  const ids = runs.filter((r) => Object.keys(r.metrics).length > 0).slice(0, sample).map((r) => r.id);
  const infos = await Promise.all(ids.map((id) => getRun(id).catch(() => null)));
  const logged = new Map<string, number>();
  for (const info of infos) for (const [name, m] of Object.entries(info?.metrics ?? {})) logged.set(name, (logged.get(name) ?? 0) + m.count);
  return logged;
}
