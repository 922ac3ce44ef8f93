/** The runs page: filters, metric columns, sortable virtual table, and a selection to compare. */
import { RUN_STATUSES, RunStatus } from '../../protocol/api-types';
import { listExperiments, listRuns, RunRow } from './api';
import { chosenColumns, ColumnPicker } from './column-picker';
import { h, replace } from './dom';
import { href, replaceQuery, Route } from './router';
import { MAX_RUNS, PAGE_SIZE, loadRuns, loggedCounts, mergeNewest, metricNames, Sort, SortKey, sortRuns } from './runs-data';
import { RunsTable } from './runs-table';

const DEFAULT_COLUMNS = 3;
const COUNT_SAMPLE = 3; // newest runs whose metric counts rank the default columns
const REFRESH_MS = 5000; // while some run is running: its status, duration and metrics move

export function runsView(root: HTMLElement, route: Route): () => void {
  const q = route.query;
  const state = {
    experiment: q.get('experiment') ?? '',
    status: (RUN_STATUSES as readonly string[]).includes(q.get('status') ?? '') ? (q.get('status') as RunStatus) : undefined,
    search: q.get('q') ?? '',
    sort: { key: (q.get('sort') as SortKey) || 'start', desc: q.get('dir') !== 'asc' } as Sort,
    runs: [] as RunRow[],
    total: 0,
    columns: [] as string[],
    selected: new Set((q.get('sel') ?? '').split(',').filter(Boolean)),
  };
  let generation = 0;
  let refreshTimer: number | undefined;

  const experimentSelect = h('select', { 'aria-label': 'experiment', name: 'experiment', onchange: () => ((state.experiment = experimentSelect.value), reload()) }, h('option', { value: '' }, 'All experiments'));
  const statusSelect = h(
    'select',
    { 'aria-label': 'status', name: 'status', onchange: () => ((state.status = (statusSelect.value || undefined) as RunStatus | undefined), reload()) },
    h('option', { value: '' }, 'Any status'),
    RUN_STATUSES.map((s) => h('option', { value: s, selected: s === state.status }, s)),
  );
  const searchInput = h('input', { type: 'search', placeholder: 'Filter by name or id', value: state.search, 'aria-label': 'filter runs by name', oninput: () => ((state.search = searchInput.value), redraw()) });
  const picker = new ColumnPicker((names) => ((state.columns = names), redraw()));
  const compareButton = h('a', { class: 'button primary compare-button', href: '#/' }, 'Compare');
  const count = h('span', { class: 'count muted' });
  const table = new RunsTable(
    (key) => {
      state.sort = state.sort.key === key ? { key, desc: !state.sort.desc } : { key, desc: key === 'start' || key === 'duration' };
      redraw();
    },
    (id, on) => {
      if (on) state.selected.add(id);
      else state.selected.delete(id);
      updateCompare();
    },
  );
  const empty = h('div', { class: 'empty', hidden: true });

  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Runs'), count),
    h('div', { class: 'toolbar' }, experimentSelect, statusSelect, searchInput, picker.el, h('span', { class: 'spacer' }), compareButton),
    table.el,
    empty,
  );

  listExperiments().then((exps) => {
    for (const e of exps) experimentSelect.append(h('option', { value: e.name, selected: e.name === state.experiment }, `${e.name} (${e.runs.toLocaleString('en-US')})`));
    if (state.experiment && !exps.some((e) => e.name === state.experiment)) experimentSelect.append(h('option', { value: state.experiment, selected: true }, state.experiment));
  }, () => undefined);

  function updateCompare() {
    const ids = [...state.selected];
    compareButton.textContent = ids.length ? `Compare ${ids.length}` : 'Compare';
    compareButton.classList.toggle('disabled', ids.length < 2);
    compareButton.setAttribute('aria-disabled', String(ids.length < 2));
    compareButton.title = ids.length < 2 ? 'tick two or more runs to compare them' : '';
    compareButton.href = ids.length < 2 ? 'javascript:void 0' : href(['compare'], { runs: ids.join(',') });
    saveQuery();
  }

  function saveQuery() {
    replaceQuery({
      experiment: state.experiment || undefined,
      status: state.status,
      q: state.search || undefined,
      sort: state.sort.key === 'start' && state.sort.desc ? undefined : state.sort.key,
      dir: state.sort.key === 'start' && state.sort.desc ? undefined : state.sort.desc ? 'desc' : 'asc',
      sel: state.selected.size ? [...state.selected].join(',') : undefined,
    });
  }

  function redraw() {
    const needle = state.search.trim().toLowerCase();
    const shown = needle ? state.runs.filter((r) => r.name.toLowerCase().includes(needle) || r.id.toLowerCase().includes(needle)) : state.runs;
    table.set({ runs: sortRuns(shown, state.sort), metrics: state.columns, showExperiment: !state.experiment, sort: state.sort, selected: state.selected });
    const loaded = state.runs.length < state.total ? ` · loaded ${state.runs.length.toLocaleString('en-US')}${state.total > MAX_RUNS ? ' (filter to see older runs)' : '…'}` : '';
    count.textContent = `${state.total.toLocaleString('en-US')} run${state.total === 1 ? '' : 's'}${needle ? ` · ${shown.length.toLocaleString('en-US')} match` : ''}${loaded}`;
    empty.hidden = state.total > 0;
    saveQuery();
  }

  function chooseColumns(logged: ReadonlyMap<string, number>) {
    const names = metricNames(state.runs, logged);
    state.columns = chosenColumns(state.experiment, names, DEFAULT_COLUMNS);
    picker.set(state.experiment, names, state.columns);
  }

  /** Re-reads the newest page while a run is running; stops once none is. */
  function follow(mine: number) {
    window.clearTimeout(refreshTimer);
    if (!state.runs.some((r) => r.status === 'running')) return;
    refreshTimer = window.setTimeout(async () => {
      try {
        const page = await listRuns({ experiment: state.experiment || undefined, status: state.status, limit: PAGE_SIZE, offset: 0 });
        if (mine !== generation) return;
        state.runs = mergeNewest(state.runs, page.runs);
        state.total = page.total;
        redraw();
      } catch {
        /* a missed refresh is retried on the next tick */
      }
      if (mine === generation) follow(mine);
    }, REFRESH_MS);
  }

  function reload() {
    const mine = ++generation;
    window.clearTimeout(refreshTimer);
    state.runs = [];
    state.total = 0;
    count.textContent = 'Loading…';
    let logged: Map<string, number> | null = null;
    loadRuns(
      { experiment: state.experiment || undefined, status: state.status },
      async (runs, total) => {
        // Read once per load, before the first drawing, so the columns do not jump.
        logged ??= await loggedCounts(runs, COUNT_SAMPLE);
        if (mine !== generation) return;
        state.runs = runs;
        state.total = total;
        chooseColumns(logged);
        redraw();
      },
      () => mine === generation,
    ).then(
      () => {
        if (mine !== generation) return;
        follow(mine);
        if (state.total) return;
        count.textContent = '0 runs';
        table.set({ runs: [], metrics: [], showExperiment: !state.experiment, sort: state.sort, selected: state.selected });
        replace(empty, state.experiment || state.status ? 'No runs match these filters.' : h('span', {}, 'No runs yet. Start one with ', h('code', {}, 'outpost run -- python train.py'), '.'));
        empty.hidden = false;
      },
      (err: Error) => {
        if (mine === generation) replace(empty, h('span', { class: 'bad' }, `Could not load runs: ${err.message}`)), (empty.hidden = false);
      },
    );
  }

  updateCompare();
  reload();
  return () => {
    generation++;
    window.clearTimeout(refreshTimer);
    picker.dispose();
  };
}
