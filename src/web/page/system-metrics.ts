/**
 * A run's system metrics (system/..., the agent's samples of the machine's and the job's load) in
 * a section of their own, a group of charts each: the machine, the job's process tree, each GPU.
 * x is the time since the run's first sample, in seconds (samples have no step).
 */
import type { MetricHistory, RunInfo } from '../../protocol/api-types';
import { getMetric } from './api';
import { Chart, ChartData } from './chart';
import { h, replace, section } from './dom';
import { MAX_POINTS } from './series';

const PREFIX = 'system/';

export function isSystemMetric(name: string): boolean {
  return name.startsWith(PREFIX);
}

/** The run with its system metrics left out (they are drawn here, not among the run's own charts). */
export function withoutSystemMetrics(run: RunInfo): RunInfo {
  const metrics: RunInfo['metrics'] = {};
  for (const [name, m] of Object.entries(run.metrics)) if (!isSystemMetric(name)) metrics[name] = m;
  return { ...run, metrics };
}

/** Which group a system metric is drawn in, in the order the groups are shown. */
export function groupOf(name: string): { key: string; title: string } {
  const rest = name.slice(PREFIX.length);
  const gpu = /^gpu\/([^/]+)\//.exec(rest);
  if (gpu) return { key: `2-gpu-${gpu[1].padStart(4, '0')}`, title: `GPU ${gpu[1]}` };
  if (rest.startsWith('process/')) return { key: '1-process', title: "The job's processes" };
  return { key: '0-machine', title: 'The machine' };
}

export class SystemMetrics {
  /** The section; hidden while the run has no system metric. */
  readonly el: HTMLElement;
  private readonly body = h('div', { class: 'system-metrics' });
  private readonly charts = new Map<string, { chart: Chart; count: number }>();
  private groups = new Map<string, HTMLElement>();
  private t0 = Infinity;

  constructor() {
    this.el = section('System', h('p', { class: 'muted' }, "The machine's and the job's load, as the agent sampled it."), this.body);
    this.el.hidden = true;
  }

  get size(): number {
    return this.charts.size;
  }

  async update(run: RunInfo): Promise<void> {
    const names = Object.keys(run.metrics)
      .filter((n) => isSystemMetric(n) && (run.metrics[n].type === 'integer' || run.metrics[n].type === 'float'))
      .sort((a, b) => a.localeCompare(b));
    this.el.hidden = names.length === 0;
    if (names.length === 0) return;
    const histories = await Promise.all(names.map((n) => (this.charts.get(n)?.count === run.metrics[n].count ? null : getMetric(run.id, n, MAX_POINTS))));
    // The time of the run's first sample is x = 0 for every chart.
    for (const hist of histories) if (hist?.points.length) this.t0 = Math.min(this.t0, hist.points[0].time);
    names.forEach((name, i) => {
      const hist = histories[i];
      if (hist) this.draw(name, hist);
    });
    this.layout(names);
  }

  private draw(name: string, hist: MetricHistory): void {
    const pts = hist.points.filter((p) => typeof p.value === 'number');
    const data: ChartData = {
      xLabel: 'seconds',
      labels: [name],
      data: [pts.map((p) => Math.round((p.time - this.t0) * 10) / 10), pts.map((p) => p.value as number)],
      note: hist.downsampled ? `${pts.length.toLocaleString('en-US')} of ${hist.count.toLocaleString('en-US')} samples` : `${hist.count.toLocaleString('en-US')} samples`,
    };
    const known = this.charts.get(name);
    if (known) {
      known.chart.update(data);
      known.count = hist.count;
    } else {
      this.charts.set(name, { chart: new Chart(name, data), count: hist.count });
    }
  }

  /** Groups in order, charts in name order within each. */
  private layout(names: string[]): void {
    const byGroup = new Map<string, { title: string; els: HTMLElement[] }>();
    for (const name of names) {
      const g = groupOf(name);
      const el = this.charts.get(name)?.chart.el;
      if (!el) continue;
      const entry = byGroup.get(g.key) ?? { title: g.title, els: [] };
      entry.els.push(el);
      byGroup.set(g.key, entry);
    }
    const keys = [...byGroup.keys()].sort();
    const groups = new Map<string, HTMLElement>();
    for (const key of keys) {
      const { title, els } = byGroup.get(key)!;
      const grid = this.groups.get(key) ?? h('div', { class: 'chart-grid' });
      if (els.some((el, i) => grid.children[i] !== el) || grid.children.length !== els.length) replace(grid, els);
      groups.set(key, grid);
      if (!this.groups.has(key)) this.body.append(h('div', { class: 'system-group', 'data-group': key }, h('h3', {}, title), grid));
    }
    // Groups appear in key order: put each group's wrapper in its place.
    const wrappers = keys.map((k) => groups.get(k)!.parentElement!);
    wrappers.forEach((w, i) => {
      if (this.body.children[i] !== w) this.body.insertBefore(w, this.body.children[i] ?? null);
    });
    this.groups = groups;
  }

  destroy(): void {
    for (const { chart } of this.charts.values()) chart.destroy();
    this.charts.clear();
  }
}
