/**
 * One uPlot chart in a card: drag to zoom (double-click resets), values on hover in the legend,
 * a log-scale toggle. `data-points` on the card holds how many x values uPlot was given, so
 * tests (and curious people) can check what is drawn.
 */
import uPlot from 'uplot';
import { h } from './dom';
import { formatNumber } from './format';

export interface ChartData {
  xLabel: string;
  labels: string[]; // one per y series
  data: uPlot.AlignedData; // [xs, ...ys]
  note?: string; // e.g. "2,000 of 1,000,000 points"
  colors?: string[]; // one per y series; a run keeps its colour across compare charts
}

// x is always a step, an order or a list position: whole numbers, so ticks fall on whole numbers too.
const WHOLE_INCRS = Array.from({ length: 16 }, (_, exp) => [1, 2, 2.5, 5].map((m) => m * 10 ** exp)).flat().filter(Number.isInteger);

const PALETTE = ['#2f6fde', '#e8590c', '#2b8a3e', '#c2255c', '#7048e8', '#0c8599', '#e67700', '#5c940d', '#862e9c', '#495057'];

export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

export class Chart {
  readonly el: HTMLElement;
  private readonly plotEl: HTMLElement;
  private readonly noteEl: HTMLElement;
  private readonly logButton: HTMLButtonElement;
  private plot: uPlot | null = null;
  private log = false;
  private readonly resize: ResizeObserver;

  constructor(
    readonly title: string,
    private current: ChartData,
  ) {
    this.plotEl = h('div', { class: 'plot' });
    this.noteEl = h('span', { class: 'chart-note' });
    this.logButton = h('button', { type: 'button', class: 'toggle', title: 'logarithmic y axis', 'aria-pressed': 'false', onclick: () => this.toggleLog() }, 'log');
    this.el = h(
      'figure',
      { class: 'chart', 'data-metric': title },
      h('figcaption', {}, h('span', { class: 'chart-title' }, title), this.noteEl, this.logButton),
      this.plotEl,
    );
    // uPlot needs a width: build it on the first layout, then follow the card's width.
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(this.plotEl);
    this.describe();
  }

  update(next: ChartData): void {
    const sameShape = next.labels.length === this.current.labels.length && next.labels.every((l, i) => l === this.current.labels[i]) && next.xLabel === this.current.xLabel;
    this.current = next;
    this.describe();
    if (!this.plot) return;
    if (!sameShape) return this.rebuild();
    // Keep a zoom the user chose; otherwise follow the growing series.
    const x = this.plot.scales.x;
    const old = this.plot.data[0];
    const zoomed = old.length > 1 && x.min !== undefined && x.max !== undefined && (x.min > old[0] || x.max < old[old.length - 1]);
    this.plot.setData(this.shaped(), !zoomed);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  private describe(): void {
    this.el.dataset.points = String(this.current.data[0].length);
    this.el.dataset.series = String(this.current.labels.length);
    this.noteEl.textContent = this.current.note ?? '';
  }

  private toggleLog(): void {
    this.log = !this.log;
    this.logButton.setAttribute('aria-pressed', String(this.log));
    this.rebuild();
  }

  private fit(): void {
    const width = this.plotEl.clientWidth;
    if (width <= 0) return;
    if (!this.plot) this.rebuild();
    else if (Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: chartHeight(width) });
  }

  private rebuild(): void {
    this.plot?.destroy();
    this.plotEl.replaceChildren();
    const width = this.plotEl.clientWidth;
    if (width <= 0) {
      this.plot = null;
      return;
    }
    this.plot = new uPlot(this.options(width), this.shaped(), this.plotEl);
  }

  /** A log axis cannot show zero or negatives: those points become gaps. */
  private shaped(): uPlot.AlignedData {
    if (!this.log) return this.current.data;
    const [xs, ...ys] = this.current.data;
    return [xs, ...ys.map((y) => Array.from(y as ArrayLike<number | null>, (v) => (v !== null && v > 0 ? v : null)))];
  }

  /** The x ticks drawn, kept in `data-x-ticks` (canvas text cannot be read back). */
  private xTicks(u: uPlot, ticks: (number | null)[]): string[] {
    this.el.dataset.xTicks = ticks.filter((t) => t !== null).join(',');
    return tickLabels(u, ticks);
  }

  private options(width: number): uPlot.Options {
    const css = getComputedStyle(document.documentElement);
    const axis = css.getPropertyValue('--chart-axis').trim() || '#666';
    const grid = css.getPropertyValue('--chart-grid').trim() || '#eee';
    const card = css.getPropertyValue('--card').trim() || '#fff';
    const font = `12px ${css.getPropertyValue('--font-sans').trim() || 'system-ui, sans-serif'}`;
    const axisStyle = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font };
    const many = this.current.labels.length > 1;
    return {
      width,
      height: chartHeight(width),
      scales: { x: { time: false }, y: this.log ? { distr: 3, log: 10 } : {} },
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      legend: { live: true },
      axes: [
        { ...axisStyle, label: this.current.xLabel, labelSize: 18, labelFont: font, incrs: WHOLE_INCRS, values: (u, ticks) => this.xTicks(u, ticks) },
        { ...axisStyle, size: yAxisSize(font), values: tickLabels },
      ],
      series: [
        { label: this.current.xLabel, value: (_u, v) => (v === null || v === undefined ? '–' : formatNumber(v)) },
        ...this.current.labels.map((label, i) => ({
          label,
          stroke: this.current.colors?.[i] ?? seriesColor(i),
          width: 1.5,
          points: { fill: card },
          spanGaps: many, // runs logged at different steps still draw as lines
          value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '–' : formatNumber(v)),
        })),
      ],
    };
  }
}

/** A log axis leaves some ticks out as null. */
function tickLabels(_u: uPlot, ticks: (number | null)[]): string[] {
  return ticks.map((t) => (t === null ? '' : formatNumber(t)));
}

function chartHeight(width: number): number {
  return Math.round(Math.min(260, Math.max(170, width * 0.45)));
}

/** Wide enough for the longest tick label (measured in the axis font), so small floats are not clipped. */
let measure: CanvasRenderingContext2D | null = null;
function yAxisSize(font: string): (self: uPlot, values: string[] | null) => number {
  return (_self, values) => {
    measure ??= document.createElement('canvas').getContext('2d');
    if (!measure || !values) return 50;
    measure.font = font;
    const widest = values.reduce((n, v) => Math.max(n, measure!.measureText(String(v)).width), 0);
    return Math.ceil(Math.max(40, widest + 18));
  };
}
