/**
 * One run: facts, metrics, params, tags and note (editable), charts, logs, artifacts (with
 * promote), rejected lines and events; rename, delete and restore in its header. While the run is
 * running the view polls about every second and updates in place.
 */
import type { RunInfo } from '../../protocol/api-types';
import { ApiError, getRun } from './api';
import { artifactsTree } from './artifacts-tree';
import { h, replace, section } from './dom';
import { formatTime } from './format';
import { LogTail } from './log-tail';
import { MetricCharts } from './metric-charts';
import { metricsTable } from './metrics-table';
import { NoteEditor } from './note-editor';
import { paramsTable } from './params-table';
import { eventList, rejectedLines } from './problems';
import { PromoteForm } from './promote-form';
import type { Route } from './router';
import { runFacts } from './run-facts';
import { RunHeader } from './run-header';
import { TagsEditor } from './tags-editor';
import { SystemMetrics, withoutSystemMetrics } from './system-metrics';

const POLL_MS = 1000;

export function runView(root: HTMLElement, route: Route): () => void {
  const id = route.path[1];
  const loading = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  // An edit's answer is the run as stored now: every part that shows it follows at once.
  const saved = (run: RunInfo) => {
    header.update(run);
    tags.update(run);
    note.update(run);
    document.title = `${run.name || run.id} · outpost`;
  };
  const header = new RunHeader(saved);
  const tags = new TagsEditor(saved);
  const note = new NoteEditor(saved);
  const params = h('div');
  const live = h('div', { class: 'live', hidden: true });
  const facts = h('div');
  const table = h('div');
  const charts = new MetricCharts();
  const chartsNote = h('p', { class: 'muted' });
  const system = new SystemMetrics();
  const logs = new LogTail();
  const promoteForm = new PromoteForm(id);
  const tree = h('div');
  const rejected = h('div');
  const events = h('div');
  const body = h(
    'div',
    { class: 'run', hidden: true },
    h('div', { class: 'two-col facts-row' }, section('Run', facts), section('Metrics', table)),
    h('div', { class: 'two-col meta-row' }, section('Params', params), h('div', {}, section('Tags', tags.el), section('Note', note.el))),
    section('Charts', chartsNote, charts.el),
    system.el,
    section('Logs', logs.el),
    section('Artifacts', tree, h('h3', {}, 'Promote to an asset'), promoteForm.el),
    h('div', { class: 'two-col' }, section('Rejected lines', rejected), section('Events', events)),
  );
  root.append(header.banner, h('div', { class: 'run-top' }, loading, header.el, live), body);

  let stopped = false;
  let timer: number | undefined;
  const shown = new Map<string, string>(); // what each part was last drawn from, to redraw only on change

  const draw = (key: string, from: unknown, el: HTMLElement, render: () => Node) => {
    const sig = JSON.stringify(from);
    if (shown.get(key) === sig) return;
    shown.set(key, sig);
    replace(el, render());
  };

  const tick = async () => {
    let run: RunInfo;
    try {
      run = await getRun(id);
    } catch (err) {
      if (stopped) return;
      if (err instanceof ApiError && err.status === 404) return replace(loading, h('h1', {}, 'Run not found'), h('p', { class: 'muted' }, err.message));
      if (!shown.size) replace(loading, h('p', { class: 'bad' }, String((err as Error).message)));
      live.hidden = false;
      replace(live, h('span', { class: 'bad' }, 'connection lost, retrying…'));
      timer = window.setTimeout(tick, POLL_MS * 3);
      return;
    }
    if (stopped) return;
    body.hidden = false;
    loading.hidden = true;
    header.update(run);
    tags.update(run);
    note.update(run);
    draw('params', run.params, params, () => paramsTable(run.params));
    // A running run's duration grows: redraw its facts each second.
    const now = run.status === 'running' ? Date.now() : 0;
    draw('facts', { ...run, metrics: 0, artifacts: 0, rejected: 0, events: 0, now }, facts, () => runFacts(run));
    draw('table', run.metrics, table, () => metricsTable(run));
    draw('rejected', [run.rejectedLines, run.rejected], rejected, () => rejectedLines(run));
    draw('events', run.events, events, () => eventList(run));
    draw('tree', run.artifacts, tree, () => artifactsTree(run.id, run.artifacts, (prefix) => promoteForm.fill(prefix)));
    document.title = `${run.name || run.id} · outpost`;
    try {
      await Promise.all([charts.update(withoutSystemMetrics(run)), system.update(run), logs.update(run)]);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
    }
    if (stopped) return;
    chartsNote.textContent = charts.size ? 'Drag to zoom, double-click to reset; hover for values.' : 'No metric with a series yet: numbers logged more than once, and lists, are drawn here.';
    const running = run.status === 'running';
    live.hidden = !running;
    if (running) {
      replace(live, h('span', { class: 'pulse' }), `live · updated ${formatTime(new Date().toISOString())}`);
      timer = window.setTimeout(tick, POLL_MS);
    }
  };
  void tick();

  return () => {
    stopped = true;
    window.clearTimeout(timer);
    charts.destroy();
    header.dispose();
    system.destroy();
  };
}
