/**
 * Parallel coordinates over runs, as W&B and MLflow draw them: one vertical axis per chosen param
 * and one for a metric, one line per run through its values, coloured by the metric (the best
 * end bright). An axis of numbers is linear (logarithmic when its positive values span more than
 * LOG_SPAN); any other axis lists its values as categories. A run without a value on an axis
 * passes below it, at "none". Dragging along an axis keeps the lines that cross it there
 * (d3-brush); several axes' ranges must all hold.
 */
import { axisLeft } from 'd3-axis';
import { brushY } from 'd3-brush';
import { scaleLinear, scaleLog, scalePoint, scaleSequential } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import { select } from 'd3-selection';
import { line } from 'd3-shape';
import type { MetricValue } from '../../protocol/metric-line';
import type { ParamValue } from '../../protocol/run-meta-line';
import { bestDirection } from './best-direction';
import { h, replace } from './dom';
import { formatNumber } from './format';
import { paramText } from './params-table';

export interface PcRun {
  id: string;
  label: string;
  params: Record<string, ParamValue>;
  /** Last values. */
  metrics: Record<string, MetricValue>;
}

const HEIGHT = 300; // px of the axes themselves
const MARGIN = { top: 34, right: 40, bottom: 34, left: 56 }; // px: labels above, "none" below
const MISSING_GAP = 20; // px below an axis where runs without a value pass
const LOG_SPAN = 1000; // max/min of an axis's positive numbers beyond which it is logarithmic
const DEFAULT_PARAM_AXES = 8;

type Value = number | string;

interface Axis {
  key: string;
  label: string;
  value(run: PcRun): Value | undefined;
  /** y of a value; undefined (no value) passes below the axis. */
  y(v: Value | undefined): number;
  draw(g: SVGGElement): void;
}

function paramValue(run: PcRun, name: string): Value | undefined {
  if (!Object.hasOwn(run.params, name)) return undefined;
  const v = run.params[name];
  return typeof v === 'number' ? v : paramText(v);
}

function metricValue(run: PcRun, name: string): number | undefined {
  const v = Object.hasOwn(run.metrics, name) ? run.metrics[name] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function makeAxis(key: string, label: string, runs: PcRun[], value: (run: PcRun) => Value | undefined): Axis {
  const values = runs.map(value).filter((v): v is Value => v !== undefined);
  const below = HEIGHT + MISSING_GAP;
  if (values.length > 0 && values.every((v) => typeof v === 'number')) {
    const nums = values as number[];
    let lo = Math.min(...nums);
    let hi = Math.max(...nums);
    if (lo > 0 && hi / lo > LOG_SPAN) {
      const scale = scaleLog().domain([lo, hi]).range([HEIGHT, 0]);
      return { key, label, value, y: (v) => (typeof v === 'number' ? scale(v) : below), draw: (g) => void select(g).call(axisLeft(scale).ticks(6, '~g')) };
    }
    if (lo === hi) [lo, hi] = [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
    const scale = scaleLinear().domain([lo, hi]).nice().range([HEIGHT, 0]);
    return { key, label, value, y: (v) => (typeof v === 'number' ? scale(v) : below), draw: (g) => void select(g).call(axisLeft(scale).ticks(6).tickFormat((d) => formatNumber(Number(d)))) };
  }
  // Categories: numbers in order before the rest by their text.
  const texts = [...new Set(values.map(String))].sort((a, b) => {
    const na = Number(a);
    const nb = Number(b);
    const an = a.trim() !== '' && Number.isFinite(na);
    const bn = b.trim() !== '' && Number.isFinite(nb);
    return an && bn ? na - nb : an ? -1 : bn ? 1 : a.localeCompare(b);
  });
  const scale = scalePoint<string>().domain(texts).range([HEIGHT, 0]).padding(0.5);
  return {
    key,
    label,
    value,
    y: (v) => (v === undefined ? below : (scale(String(v)) ?? below)),
    draw: (g) => void select(g).call(axisLeft(scale).tickFormat((d) => (d.length > 14 ? `${d.slice(0, 13)}…` : d))),
  };
}

export class ParallelCoords {
  readonly el: HTMLElement;
  private readonly axesPicker = h('details', { class: 'picker pc-axes' });
  private readonly metricSelect = h('select', { name: 'pc-metric', 'aria-label': 'metric axis and colour' });
  private readonly status = h('span', { class: 'muted pc-status' });
  private readonly extra = h('span', { class: 'pc-extra' });
  private readonly plot = h('div', { class: 'pc-plot' });
  private runs: PcRun[] = [];
  private params: string[] = []; // chosen param axes, in order
  private metric = '';
  private sig = '';
  private width = 0;
  private readonly ranges = new Map<string, [number, number]>(); // axis key -> brushed y range
  private paths: { run: PcRun; el: SVGPathElement }[] = [];
  private axes: Axis[] = [];
  private readonly resize: ResizeObserver;

  /** `onBrushed` hears the runs left after each brush (all of them when none is set). */
  constructor(private readonly onBrushed: (runs: PcRun[]) => void = () => undefined) {
    this.metricSelect.addEventListener('change', () => {
      this.metric = this.metricSelect.value;
      this.render();
    });
    this.el = h('div', { class: 'pc' }, h('div', { class: 'toolbar' }, this.axesPicker, h('label', { class: 'pc-metric-label' }, 'Metric ', this.metricSelect), this.status, this.extra), this.plot);
    this.resize = new ResizeObserver(() => {
      const w = this.plot.clientWidth;
      if (w > 0 && Math.abs(w - this.width) > 1) this.render();
    });
    this.resize.observe(this.plot);
  }

  destroy(): void {
    this.resize.disconnect();
  }

  /** Room for something beside the status (e.g. a link to compare the brushed runs). */
  get extraEl(): HTMLElement {
    return this.extra;
  }

  set(runs: PcRun[]): void {
    const sig = JSON.stringify(runs.map((r) => [r.id, r.label, r.params, r.metrics]));
    if (sig === this.sig) return;
    this.sig = sig;
    this.runs = runs;
    const paramNames = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort((a, b) => a.localeCompare(b));
    const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.metrics).filter((n) => metricValue(r, n) !== undefined)))];
    // The metric most runs have first; among those, one measured on held-out data (val, test,
    // eval), what a sweep is judged by; then by name.
    const having = (n: string) => runs.filter((r) => metricValue(r, n) !== undefined).length;
    const heldOut = (n: string) => Number(/(^|[^a-z])(val|valid|validation|test|eval)([^a-z]|$)/i.test(n));
    metricNames.sort((a, b) => having(b) - having(a) || heldOut(b) - heldOut(a) || a.localeCompare(b));
    if (!metricNames.includes(this.metric)) this.metric = metricNames[0] ?? '';
    const kept = this.params.filter((p) => paramNames.includes(p));
    if (kept.length) this.params = kept;
    else {
      const varying = paramNames.filter((n) => new Set(runs.map((r) => JSON.stringify(paramValue(r, n) ?? null))).size > 1);
      this.params = (varying.length ? varying : paramNames).slice(0, DEFAULT_PARAM_AXES);
    }
    replace(this.metricSelect, h('option', { value: '' }, '(none)'), metricNames.map((n) => h('option', { value: n, selected: n === this.metric }, n)));
    this.drawPicker(paramNames);
    this.render();
  }

  private drawPicker(names: string[]): void {
    const chosen = new Set(this.params);
    const summary = h('summary', { class: 'button' }, `Params (${chosen.size})`);
    replace(
      this.axesPicker,
      summary,
      h(
        'div',
        { class: 'picker-menu' },
        h(
          'div',
          { class: 'picker-list' },
          names.length === 0
            ? h('p', { class: 'muted' }, 'These runs have no params.')
            : names.map((n) =>
                h(
                  'label',
                  {},
                  h('input', {
                    type: 'checkbox',
                    value: n,
                    checked: chosen.has(n),
                    onchange: (e: Event) => {
                      if ((e.target as HTMLInputElement).checked) chosen.add(n);
                      else chosen.delete(n);
                      this.params = names.filter((x) => chosen.has(x));
                      summary.textContent = `Params (${this.params.length})`;
                      this.render();
                    },
                  }),
                  h('span', {}, n),
                ),
              ),
        ),
      ),
    );
  }

  private render(): void {
    this.ranges.clear();
    this.width = this.plot.clientWidth;
    const runs = this.runs;
    this.axes = [
      ...this.params.map((p) => makeAxis(`p:${p}`, p, runs, (r) => paramValue(r, p))),
      ...(this.metric ? [makeAxis(`m:${this.metric}`, this.metric, runs, (r) => metricValue(r, this.metric))] : []),
    ];
    if (this.axes.length < 2 || this.width <= 0) {
      this.paths = [];
      replace(this.plot, h('p', { class: 'muted' }, runs.length < 2 ? 'Parallel coordinates need two runs or more.' : 'Choose two axes or more: params, and a metric.'));
      this.describe();
      return;
    }
    const inner = Math.max(120, this.width - MARGIN.left - MARGIN.right);
    const step = inner / (this.axes.length - 1);
    const x = (i: number) => MARGIN.left + i * step;
    const svg = select(this.plot).html('').append('svg').attr('class', 'pc-svg').attr('width', this.width).attr('height', HEIGHT + MARGIN.top + MARGIN.bottom);
    svg.attr('data-axes', this.axes.length);
    const body = svg.append('g').attr('transform', `translate(0,${MARGIN.top})`);

    const dir = this.metric ? bestDirection(this.metric) : 'max';
    const metricValues = runs.map((r) => metricValue(r, this.metric)).filter((v): v is number => v !== undefined);
    const lo = Math.min(...metricValues);
    const hi = Math.max(...metricValues);
    // The best end is the bright one, whichever way best goes.
    const colour = scaleSequential(interpolateViridis).domain(dir === 'min' ? [hi, lo === hi ? hi - 1 : lo] : [lo, lo === hi ? lo + 1 : hi]);
    const path = line<[number, number]>();
    this.paths = runs.map((run) => {
      const points = this.axes.map((a, i) => [x(i), a.y(a.value(run))] as [number, number]);
      const m = this.metric ? metricValue(run, this.metric) : undefined;
      const el = body
        .append('path')
        .attr('class', 'pc-line')
        .attr('data-run', run.id)
        .attr('d', path(points))
        .attr('stroke', m === undefined ? 'var(--muted)' : colour(m))
        .node()!;
      select(el).append('title').text(run.label);
      return { run, el };
    });

    this.axes.forEach((axis, i) => {
      const g = body.append('g').attr('class', 'pc-axis').attr('data-axis', axis.key).attr('transform', `translate(${x(i)},0)`);
      axis.draw(g.node()!);
      // The end axes' labels lean inwards, so they are not cut at the edges.
      const anchor = i === 0 ? 'start' : i === this.axes.length - 1 ? 'end' : 'middle';
      const label = g.append('text').attr('class', 'pc-label').attr('y', -14).attr('x', anchor === 'start' ? -MARGIN.left + 8 : anchor === 'end' ? MARGIN.right - 8 : 0).attr('text-anchor', anchor).text(axis.label.length > 18 ? `${axis.label.slice(0, 17)}…` : axis.label);
      label.append('title').text(axis.label);
      if (runs.some((r) => axis.value(r) === undefined)) g.append('text').attr('class', 'pc-none').attr('x', -8).attr('y', HEIGHT + MISSING_GAP + 4).attr('text-anchor', 'end').text('none');
      const brush = brushY<unknown>()
        .extent([
          [-12, 0],
          [12, HEIGHT + MISSING_GAP / 2],
        ])
        .on('start brush end', (event: { selection: [number, number] | null }) => {
          if (event.selection) this.ranges.set(axis.key, event.selection);
          else this.ranges.delete(axis.key);
          this.applyRanges();
        });
      g.append('g').attr('class', 'pc-brush').call(brush);
    });
    this.applyRanges();
  }

  private applyRanges(): void {
    const kept: PcRun[] = [];
    for (const { run, el } of this.paths) {
      const inside = this.axes.every((a) => {
        const range = this.ranges.get(a.key);
        if (!range) return true;
        const v = a.value(run);
        if (v === undefined) return false;
        const y = a.y(v);
        return y >= range[0] && y <= range[1];
      });
      el.classList.toggle('dimmed', !inside);
      if (inside) kept.push(run);
    }
    // Kept lines drawn over the dimmed ones.
    for (const { el } of this.paths) if (!el.classList.contains('dimmed')) el.parentNode?.appendChild(el);
    for (const g of this.plot.querySelectorAll('.pc-axis')) g.parentNode?.appendChild(g);
    this.describe(kept.length);
    this.onBrushed(this.ranges.size ? kept : this.runs);
  }

  private describe(kept = this.paths.length): void {
    const total = this.paths.length;
    this.plot.dataset.lines = String(total);
    this.plot.dataset.kept = String(kept);
    this.status.textContent = total === 0 ? '' : kept === total ? `${total} runs` : `${kept} of ${total} runs in the ranges dragged`;
    if (this.metric) this.status.title = `colour: ${this.metric}, the brighter the better (${bestDirection(this.metric) === 'min' ? 'lower' : 'higher'} is better)`;
  }
}
