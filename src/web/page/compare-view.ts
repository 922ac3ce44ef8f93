/** Several runs side by side: last values in one table, and every metric overlaid, one line per run. */
import uPlot from 'uplot';
import type { RunInfo } from '../../protocol/api-types';
import { getMetric, getRun } from './api';
import { Chart, seriesColor } from './chart';
import { h, replace, section } from './dom';
import { formatValue } from './format';
import type { Route } from './router';
import { statusBadge } from './run-facts';
import { MAX_POINTS, XY, isChartable, xLabelOf, xyOfHistory, xyOfList } from './series';

const POLL_MS = 1000;

export function compareView(root: HTMLElement, route: Route): () => void {
  const ids = [...new Set((route.query.get('runs') ?? '').split(',').filter(Boolean))];
  const legend = h('div', { class: 'compare-legend' });
  const table = h('div');
  const grid = h('div', { class: 'chart-grid' });
  root.append(h('div', { class: 'page-head' }, h('h1', {}, `Compare ${ids.length} runs`)), legend, section('Charts', grid), section('Last values', table));

  const charts = new Map<string, Chart>();
  const cache = new Map<string, { count: number; xy: XY }>(); // run + metric -> its last fetch
  let stopped = false;
  let timer: number | undefined;

  const fetchXY = async (run: RunInfo, name: string): Promise<XY> => {
    const m = run.metrics[name];
    if (m.type === 'list') return xyOfList(m.last as number[], m.count);
    const key = `${run.id}\u0000${name}`;
    const hit = cache.get(key);
    if (hit && hit.count === m.count) return hit.xy;
    // Cut to this poll's summary, so the lines end where the table of last values does.
    const xy = xyOfHistory(await getMetric(run.id, name, MAX_POINTS), m.count);
    cache.set(key, { count: xy.count, xy });
    return xy;
  };

  const tick = async () => {
    const runs = await Promise.all(ids.map((id) => getRun(id).catch(() => null)));
    if (stopped) return;
    const found = runs.filter((r): r is RunInfo => r !== null);
    const labels = runLabels(found);
    const colorOf = new Map(found.map((r, i) => [r.id, seriesColor(i)]));
    replace(
      legend,
      runs.map((r, i) =>
        r
          ? h('a', { class: 'legend-item', href: `#/runs/${encodeURIComponent(r.id)}`, title: r.id }, h('span', { class: 'swatch', style: `background:${colorOf.get(r.id)}` }), labels.get(r.id) ?? r.id, ' ', statusBadge(r.status))
          : h('span', { class: 'legend-item bad' }, `${ids[i]}: not found`),
      ),
    );
    replace(table, lastValues(found, labels));

    // Metrics most runs share come first.
    const names = new Map<string, RunInfo[]>();
    for (const r of found) for (const [name, m] of Object.entries(r.metrics)) if (isChartable(m)) names.set(name, [...(names.get(name) ?? []), r]);
    const order = [...names.keys()].sort((a, b) => names.get(b)!.length - names.get(a)!.length || a.localeCompare(b));
    for (const name of order) {
      const having = names.get(name)!;
      const xys = await Promise.all(having.map((r) => fetchXY(r, name)));
      if (stopped) return;
      const isList = having.every((r) => r.metrics[name].type === 'list');
      const xLabel = xLabelOf(xys, isList);
      const tables = xys.map((xy) => [xLabel === 'step' ? xy.steps : xy.order, xy.ys] as uPlot.AlignedData);
      const data = {
        xLabel,
        labels: having.map((r) => labels.get(r.id) ?? r.id),
        colors: having.map((r) => colorOf.get(r.id)!),
        data: uPlot.join(tables),
        note: having.length < found.length ? `in ${having.length} of ${found.length} runs` : '',
      };
      const chart = charts.get(name);
      if (chart) chart.update(data);
      else {
        const created = new Chart(name, data);
        charts.set(name, created);
        grid.append(created.el);
      }
    }
    if (order.length === 0) replace(grid, h('p', { class: 'muted' }, 'None of these runs has a metric with a series.'));
    if (found.some((r) => r.status === 'running')) timer = window.setTimeout(tick, POLL_MS);
  };
  tick().catch((err: Error) => replace(legend, h('p', { class: 'bad' }, err.message)));

  return () => {
    stopped = true;
    window.clearTimeout(timer);
    for (const c of charts.values()) c.destroy();
  };
}

/**
 * A run's name, or its id when it has none. Runs that share a name get the shortest end of their
 * ids (4 characters at least) that no other run of that name ends with: generated ids differ in
 * their last characters ("<experiment>_<millis>_<hex>"), and a prefix like "moons_17" is the same
 * for all of a day's runs. Should two labels still meet, every run shows its whole id.
 */
function runLabels(runs: { id: string; name: string }[]): Map<string, string> {
  const byName = new Map<string, string[]>();
  for (const r of runs) byName.set(r.name || r.id, [...(byName.get(r.name || r.id) ?? []), r.id]);
  const labels = new Map<string, string>();
  for (const [name, ids] of byName) {
    if (ids.length === 1) {
      labels.set(ids[0], name);
      continue;
    }
    let k = Math.min(4, ...ids.map((id) => id.length));
    while (new Set(ids.map((id) => id.slice(-k))).size < ids.length && ids.some((id) => id.length > k)) k++;
    for (const id of ids) labels.set(id, `${name} (${id.length > k ? `…${id.slice(-k)}` : id})`);
  }
  if (new Set(labels.values()).size < labels.size) return new Map(runs.map((r) => [r.id, r.name ? `${r.name} (${r.id})` : r.id]));
  return labels;
}

function lastValues(runs: RunInfo[], labels: Map<string, string>): HTMLElement {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort((a, b) => a.localeCompare(b));
  if (!names.length) return h('p', { class: 'muted' }, 'No metrics.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid compare-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Metric'), runs.map((r) => h('th', { class: 'num', title: r.id }, labels.get(r.id))))),
      h('tbody', {}, names.map((n) => h('tr', {}, h('td', {}, n), runs.map((r) => h('td', { class: 'num mono' }, formatValue(r.metrics[n]?.last)))))),
    ),
  );
}
