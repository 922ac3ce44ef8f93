/** A run's charts: one per metric with a series; refetches only the metrics whose count moved. */
import type { RunInfo } from '../../protocol/api-types';
import { getMetric } from './api';
import { Chart } from './chart';
import { h } from './dom';
import { MAX_POINTS, isChartable, singleChartData, xyOfHistory, xyOfList } from './series';

export class MetricCharts {
  readonly el = h('div', { class: 'chart-grid' });
  private readonly charts = new Map<string, { chart: Chart; count: number; lastStep: number | null }>();

  async update(run: RunInfo): Promise<void> {
    const names = Object.keys(run.metrics)
      .filter((n) => isChartable(run.metrics[n]))
      .sort((a, b) => a.localeCompare(b));
    await Promise.all(names.map((name) => this.updateOne(run, name)));
    // Append in name order; existing cards move only if a new name sorts before them.
    names.forEach((name, i) => {
      const el = this.charts.get(name)?.chart.el;
      if (el && this.el.children[i] !== el) this.el.insertBefore(el, this.el.children[i] ?? null);
    });
  }

  destroy(): void {
    for (const { chart } of this.charts.values()) chart.destroy();
    this.charts.clear();
  }

  get size(): number {
    return this.charts.size;
  }

  private async updateOne(run: RunInfo, name: string): Promise<void> {
    const summary = run.metrics[name];
    const known = this.charts.get(name);
    if (known && known.count === summary.count && known.lastStep === summary.lastStep) return;
    const isList = summary.type === 'list';
    const xy = isList ? xyOfList(summary.last as number[], summary.count) : xyOfHistory(await getMetric(run.id, name, MAX_POINTS), summary.count);
    const data = singleChartData(name, xy, isList);
    // xy.count, not summary.count: a history that lagged behind is fetched again on the next poll.
    if (known) {
      known.chart.update(data);
      known.count = xy.count;
      known.lastStep = summary.lastStep;
    } else {
      this.charts.set(name, { chart: new Chart(name, data), count: xy.count, lastStep: summary.lastStep });
    }
  }
}
