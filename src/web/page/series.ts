/** Turns metric histories into x/y arrays: x is the step when every point has one (and steps rise), else the order. */
import type { MetricHistory, MetricSummary } from '../../protocol/api-types';
import type { ChartData } from './chart';

export const MAX_POINTS = 2000; // the server downsamples to this (min/max per bucket, so spikes survive)

export interface XY {
  byStep: boolean;
  steps: number[];
  order: number[];
  ys: number[];
  count: number;
  downsampled: boolean;
}

/** Metrics drawn as charts: numbers logged more than once, and lists. */
export function isChartable(m: MetricSummary): boolean {
  return m.type === 'list' || ((m.type === 'integer' || m.type === 'float') && m.count > 1);
}

/**
 * The series as the run's summary saw it: its first `count` points. The summary (the metrics
 * table) and the history are two requests, and a running series grows between them; cut to the
 * summary's moment, the chart and the table count the same points. A history behind the summary
 * (a replica that lags) gives what it has, and says so in `count`.
 */
export function xyOfHistory(history: MetricHistory, count = history.count): XY {
  const upTo = Math.min(count, history.count);
  const pts = history.points.filter((p) => p.index < upTo && typeof p.value === 'number');
  const steps = pts.map((p) => p.step ?? NaN);
  let byStep = pts.length > 0;
  for (let i = 0; i < steps.length && byStep; i++) byStep = Number.isFinite(steps[i]) && (i === 0 || steps[i] > steps[i - 1]);
  return { byStep, steps, order: pts.map((p) => p.index), ys: pts.map((p) => p.value as number), count: upTo, downsampled: history.downsampled };
}

/** A list value is one chart on its own: x is the position in the list. */
export function xyOfList(values: number[], count: number): XY {
  const order = values.map((_, i) => i);
  return { byStep: false, steps: order, order, ys: values, count, downsampled: false };
}

export function xLabelOf(xy: XY[], isList: boolean): string {
  if (isList) return 'index';
  return xy.every((s) => s.byStep) ? 'step' : 'order';
}

export function singleChartData(name: string, xy: XY, isList: boolean): ChartData {
  const xLabel = xLabelOf([xy], isList);
  const xs = xLabel === 'step' ? xy.steps : xy.order;
  const note = isList ? (xy.count > 1 ? `last of ${xy.count} lists` : 'list') : xy.downsampled ? `${xy.ys.length.toLocaleString('en-US')} of ${xy.count.toLocaleString('en-US')} points` : `${xy.count.toLocaleString('en-US')} points`;
  return { xLabel, labels: [name], data: [xs, xy.ys], note };
}
