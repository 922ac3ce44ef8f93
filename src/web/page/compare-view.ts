/**
 * Runs side by side. The ticked runs (`#/compare?runs=A,B`): their params with the rows that
 * differ marked, last values with the best of each metric marked, parallel coordinates, and every
 * metric overlaid, one line per run. The runs a filter selects (`#/compare?filter=...`, what the
 * runs page's "Compare all" opens): their parallel coordinates, whose brushed runs can then be
 * compared one by one.
 */
import uPlot from 'uplot';
import type { RunInfo, RunStatus } from '../../protocol/api-types';
import { getMetric, getRun, listRuns } from './api';
import { Chart, seriesColor } from './chart';
import { lastValues, sideBySide } from './compare-tables';
import { h, replace, section } from './dom';
import { ParallelCoords, PcRun } from './parallel-coords';
import { href, Route } from './router';
import { statusBadge } from './run-facts';
import { MAX_POINTS, XY, isChartable, xLabelOf, xyOfHistory, xyOfList } from './series';

const POLL_MS = 1000;
const FILTER_MAX_RUNS = 1000; // runs of a filter drawn in parallel coordinates (the first, in the list's order)
const COMPARE_BRUSHED_MAX = 20; // brushed runs that may be opened side by side

export function compareView(root: HTMLElement, route: Route): () => void {
  const ids = [...new Set((route.query.get('runs') ?? '').split(',').filter(Boolean))];
  if (ids.length === 0) return compareFiltered(root, route);
  const legend = h('div', { class: 'compare-legend' });
  const table = h('div');
  const params = h('div');
  const tags = h('div');
  const grid = h('div', { class: 'chart-grid' });
  const pc = new ParallelCoords();
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, `Compare ${ids.length} runs`)),
    legend,
    section('Params', params),
    section('Last values', table),
    section('Parallel coordinates', pc.el),
    section('Charts', grid),
    section('Tags', tags),
  );
  let found: RunInfo[] = [];
  let labels = new Map<string, string>();
  const drawLastValues = () => replace(table, lastValues(found, labels, drawLastValues));

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
    found = runs.filter((r): r is RunInfo => r !== null);
    labels = runLabels(found);
    const colorOf = new Map(found.map((r, i) => [r.id, seriesColor(i)]));
    replace(
      legend,
      runs.map((r, i) =>
        r
          ? h('a', { class: 'legend-item', href: `#/runs/${encodeURIComponent(r.id)}`, title: r.id }, h('span', { class: 'swatch', style: `background:${colorOf.get(r.id)}` }), labels.get(r.id) ?? r.id, ' ', statusBadge(r.status))
          : h('span', { class: 'legend-item bad' }, `${ids[i]}: not found`),
      ),
    );
    drawLastValues();
    replace(params, sideBySide('params', found, labels));
    replace(tags, sideBySide('tags', found, labels));
    pc.set(found.map((r) => ({ id: r.id, label: labels.get(r.id) ?? r.id, params: r.params, metrics: Object.fromEntries(Object.entries(r.metrics).map(([n, m]) => [n, m.last])) })));

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
    pc.destroy();
  };
}

/** Parallel coordinates over the first FILTER_MAX_RUNS runs a filter selects. */
function compareFiltered(root: HTMLElement, route: Route): () => void {
  const q = route.query;
  const query = {
    filter: q.get('filter') ?? undefined,
    experiment: q.get('experiment') ?? undefined,
    status: (q.get('status') ?? undefined) as RunStatus | undefined,
    sort: q.get('sort') ?? undefined,
    deleted: q.get('deleted') === '1' || undefined,
  };
  const title = h('h1', {}, 'Compare');
  const note = h('p', { class: 'muted' });
  const pick = h('span', { class: 'pc-pick' });
  let total = 0; // runs drawn
  let stopped = false;
  const pc = new ParallelCoords((kept) => {
    const n = kept.length;
    replace(
      pick,
      n >= 2 && n <= COMPARE_BRUSHED_MAX && n < total
        ? h('a', { class: 'button', 'data-action': 'compare-brushed', href: href(['compare'], { runs: kept.map((r) => r.id).join(',') }) }, `Compare these ${n}`)
        : '',
    );
  });
  pc.extraEl.append(pick);
  const describe = [query.experiment && `experiment ${query.experiment}`, query.status && `status ${query.status}`, query.filter && `filter ${query.filter}`, query.deleted && 'deleted'].filter(Boolean).join(', ');
  root.append(h('div', { class: 'page-head' }, title), note, section('Parallel coordinates', pc.el));
  listRuns({ ...query, limit: FILTER_MAX_RUNS, offset: 0 }).then(
    (page) => {
      if (stopped) return;
      total = page.runs.length;
      title.textContent = `Compare ${page.total.toLocaleString('en-US')} runs`;
      note.textContent = `${describe ? `The runs of ${describe}` : 'Every run'}${page.total > page.runs.length ? `: the first ${page.runs.length.toLocaleString('en-US')} of them, in the list's order` : ''}. Drag along an axis to keep the runs that cross it there; tick runs in the list to see them side by side.`;
      const labels = runLabels(page.runs);
      pc.set(page.runs.map((r): PcRun => ({ id: r.id, label: labels.get(r.id) ?? r.id, params: r.params, metrics: r.metrics })));
    },
    (err: Error) => replace(note, h('span', { class: 'bad' }, err.message)),
  );
  return () => {
    stopped = true;
    pc.destroy();
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
