/**
 * The runs page: a filter box (the service's filter syntax, or plain words for name and id),
 * experiment, status and deleted, metric, param and tag columns, a table the service sorts and
 * pages, and a selection to compare. The filter, sort and selection live in the address.
 */
import { RUN_STATUSES, RunStatus } from '../../protocol/api-types';
import { ApiError, listExperiments } from './api';
import { Chosen, chosenColumns, ColumnPicker } from './column-picker';
import { h, replace } from './dom';
import { ColumnKey, filterExpression, isColumnKey, sortExpression } from './filter-text';
import { href, replaceQuery, Route } from './router';
import { keyNames, loggedCounts, metricNames, Sort, varyingParams } from './runs-data';
import { RunsSource, SourceQuery } from './runs-source';
import { RunsTable } from './runs-table';

const DEFAULT_METRIC_COLUMNS = 3;
const DEFAULT_PARAM_COLUMNS = 3; // of the params that vary between the first runs listed
const COUNT_SAMPLE = 3; // first runs whose metric counts rank the default columns
const REFRESH_MS = 5000; // while some run in view is running: its status, duration and metrics move
const TYPING_MS = 400; // the filter applies once typing pauses this long (or at Enter)

export function runsView(root: HTMLElement, route: Route): () => void {
  const q = route.query;
  const sortKey = q.get('sort') ?? '';
  const state = {
    experiment: q.get('experiment') ?? '',
    status: (RUN_STATUSES as readonly string[]).includes(q.get('status') ?? '') ? (q.get('status') as RunStatus) : undefined,
    deleted: q.get('deleted') === '1',
    // `q` was the name search of earlier versions: its plain words still work as a filter.
    filter: q.get('filter') ?? q.get('q') ?? '',
    sort: isColumnKey(sortKey) ? { key: sortKey, desc: q.get('dir') !== 'asc' } : ({ key: 'start', desc: true } as Sort),
    columns: { metric: [], param: [], tag: [] } as Chosen,
    selected: new Set((q.get('sel') ?? '').split(',').filter(Boolean)),
  };
  let source: RunsSource | null = null;
  let refreshTimer: number | undefined;
  let typingTimer: number | undefined;
  let logged: Map<string, number> | null = null;
  let columnsFrom = ''; // the query the default columns were chosen for

  const experimentSelect = h('select', { 'aria-label': 'experiment', name: 'experiment', onchange: () => ((state.experiment = experimentSelect.value), reload()) }, h('option', { value: '' }, 'All experiments'));
  const statusSelect = h(
    'select',
    { 'aria-label': 'status', name: 'status', onchange: () => ((state.status = (statusSelect.value || undefined) as RunStatus | undefined), reload()) },
    h('option', { value: '' }, 'Any status'),
    RUN_STATUSES.map((s) => h('option', { value: s, selected: s === state.status }, s)),
  );
  const deletedBox = h('input', { type: 'checkbox', name: 'deleted', checked: state.deleted, onchange: () => ((state.deleted = deletedBox.checked), reload()) });
  const applyFilter = () => {
    window.clearTimeout(typingTimer);
    if (filterInput.value === state.filter) return;
    state.filter = filterInput.value;
    reload();
  };
  const filterInput = h('input', {
    type: 'search',
    name: 'filter',
    class: 'filter-input',
    placeholder: "name or id, or: params.lr = 0.01 and metrics.val_acc > 0.9",
    value: state.filter,
    autocomplete: 'off',
    spellcheck: false,
    'aria-label': 'filter runs',
    'aria-describedby': 'filter-error',
    oninput: () => {
      window.clearTimeout(typingTimer);
      typingTimer = window.setTimeout(applyFilter, TYPING_MS);
    },
    onkeydown: (e: Event) => {
      if ((e as KeyboardEvent).key === 'Enter') applyFilter();
    },
    onsearch: applyFilter, // the clear button of a search box
  });
  const filterError = h('div', { class: 'filter-error bad', id: 'filter-error', role: 'alert', hidden: true });
  const filterHelp = h(
    'details',
    { class: 'filter-help' },
    h('summary', { class: 'link-button' }, 'syntax'),
    h(
      'div',
      { class: 'filter-help-body' },
      h('p', {}, 'Plain words look for runs whose name or id holds each of them. Anything else is a filter in MLflow’s search syntax, with ', h('code', {}, 'and'), ', ', h('code', {}, 'or'), ', ', h('code', {}, 'not'), ' and parentheses:'),
      h(
        'ul',
        {},
        [
          "params.lr = 0.01 and metrics.val_acc > 0.9",
          "tags.team = 'vision' or tags.team = 'audio'",
          "metrics.loss.min < 0.2 and status = 'completed'",
          "name ILIKE '%resnet%' and not params.optimizer IN ('sgd')",
          "params.`batch size` >= 64 and duration > 600",
        ].map((x) => h('li', {}, h('code', {}, x))),
      ),
      h('p', {}, 'Keys: ', h('code', {}, 'params.X'), ', ', h('code', {}, 'tags.X'), ', ', h('code', {}, 'metrics.X'), ' (last value; ', h('code', {}, '.min'), ', ', h('code', {}, '.max'), '), and ', h('code', {}, 'name'), ', ', h('code', {}, 'id'), ', ', h('code', {}, 'experiment'), ', ', h('code', {}, 'status'), ', ', h('code', {}, 'startTime'), ', ', h('code', {}, 'endTime'), ', ', h('code', {}, 'duration'), ' (seconds). Operators: ', h('code', {}, '= != < <= > >= LIKE ILIKE IN'), '. The same as ', h('code', {}, 'outpost history list --filter'), '.'),
    ),
  );
  const picker = new ColumnPicker((chosen) => ((state.columns = chosen), setTable(), saveQuery()));
  const compareButton = h('a', { class: 'button primary compare-button', href: '#/' }, 'Compare');
  const count = h('span', { class: 'count muted' });
  const table = new RunsTable(
    (key) => {
      state.sort = state.sort.key === key ? { key, desc: !state.sort.desc } : { key, desc: key === 'start' || key === 'duration' };
      reload();
    },
    (id, on) => {
      if (on) state.selected.add(id);
      else state.selected.delete(id);
      updateCompare();
    },
    (first, last) => source?.want(first, last),
  );
  const empty = h('div', { class: 'empty', hidden: true });

  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Runs'), count),
    h(
      'div',
      { class: 'toolbar' },
      experimentSelect,
      statusSelect,
      h('label', { class: 'check', title: 'deleted runs only: restore them from their page' }, deletedBox, 'Deleted'),
      picker.el,
      h('span', { class: 'spacer' }),
      compareButton,
    ),
    h('div', { class: 'filter-row' }, filterInput, filterHelp),
    filterError,
    table.el,
    empty,
  );

  // Asked for once the first runs are drawn: the service answers one request at a time, and over
  // many runs counting each experiment's takes as long as the first page itself.
  let experimentsAsked = false;
  function fillExperiments() {
    if (experimentsAsked) return;
    experimentsAsked = true;
    if (state.experiment) experimentSelect.append(h('option', { value: state.experiment, selected: true }, state.experiment));
    listExperiments().then((exps) => {
      replace(experimentSelect, h('option', { value: '' }, 'All experiments'));
      for (const e of exps) experimentSelect.append(h('option', { value: e.name, selected: e.name === state.experiment }, `${e.name} (${e.runs.toLocaleString('en-US')})`));
      if (state.experiment && !exps.some((e) => e.name === state.experiment)) experimentSelect.append(h('option', { value: state.experiment, selected: true }, state.experiment));
    }, () => undefined);
  }

  function query(): SourceQuery {
    const isDefault = state.sort.key === 'start' && state.sort.desc;
    return {
      experiment: state.experiment || undefined,
      status: state.status,
      deleted: state.deleted || undefined,
      filter: filterExpression(state.filter) || undefined,
      sort: isDefault ? undefined : sortExpression(state.sort.key, state.sort.desc),
    };
  }

  function updateCompare() {
    const ids = [...state.selected];
    const total = source?.total ?? 0;
    // Nothing ticked: compare what the filter selects (its parallel coordinates).
    const all = ids.length === 0;
    const ok = all ? total >= 2 : ids.length >= 2;
    compareButton.textContent = all ? 'Compare all' : ids.length === 1 ? 'Compare' : `Compare ${ids.length}`;
    compareButton.classList.toggle('disabled', !ok);
    compareButton.setAttribute('aria-disabled', String(!ok));
    compareButton.title = ok ? (all ? 'the runs this filter selects, in parallel coordinates' : '') : 'tick two or more runs to compare them';
    const q = query();
    compareButton.href = !ok ? 'javascript:void 0' : all ? href(['compare'], { filter: q.filter, experiment: q.experiment, status: q.status, sort: q.sort, deleted: q.deleted ? '1' : undefined }) : href(['compare'], { runs: ids.join(',') });
    saveQuery();
  }

  function saveQuery() {
    const isDefault = state.sort.key === 'start' && state.sort.desc;
    replaceQuery({
      experiment: state.experiment || undefined,
      status: state.status,
      deleted: state.deleted ? '1' : undefined,
      filter: state.filter.trim() || undefined,
      sort: isDefault ? undefined : state.sort.key,
      dir: isDefault ? undefined : state.sort.desc ? 'desc' : 'asc',
      sel: state.selected.size ? [...state.selected].join(',') : undefined,
    });
  }

  function setTable() {
    table.set({ count: source?.total ?? 0, row: (i) => source?.row(i), columns: state.columns, showExperiment: !state.experiment, sort: state.sort, selected: state.selected });
  }

  function describe() {
    const total = source?.total ?? 0;
    count.textContent = `${total.toLocaleString('en-US')} ${state.deleted ? 'deleted ' : ''}run${total === 1 ? '' : 's'}`;
    empty.hidden = total > 0;
    if (total === 0) {
      const filtered = state.experiment || state.status || state.filter.trim() || state.deleted;
      replace(empty, filtered ? 'No runs match these filters.' : h('span', {}, 'No runs yet. Start one with ', h('code', {}, 'outpost run -- python train.py'), '.'));
    }
  }

  /** Default columns from the first page of a query; the picker's names from every page read. */
  async function chooseColumns(mine: RunsSource): Promise<boolean> {
    const runs = mine.loaded();
    const key = JSON.stringify([state.experiment, state.status, state.deleted, state.filter]);
    if (columnsFrom !== key) {
      // Read once per query, before the first drawing, so the columns do not jump.
      logged = await loggedCounts(runs, COUNT_SAMPLE);
      if (mine !== source && mine !== next) return false;
      columnsFrom = key;
    }
    const available: Chosen = { metric: metricNames(runs, logged ?? new Map()), param: keyNames(runs, 'params'), tag: keyNames(runs, 'tags') };
    const defaults: Chosen = {
      metric: available.metric.slice(0, DEFAULT_METRIC_COLUMNS),
      param: varyingParams(runs, available.param).slice(0, DEFAULT_PARAM_COLUMNS),
      tag: [],
    };
    const before = JSON.stringify(state.columns);
    state.columns = {
      metric: chosenColumns('metric', state.experiment, available.metric, defaults.metric),
      param: chosenColumns('param', state.experiment, available.param, defaults.param),
      tag: chosenColumns('tag', state.experiment, available.tag, defaults.tag),
    };
    picker.set(state.experiment, available, state.columns);
    return before !== JSON.stringify(state.columns);
  }

  /** Re-reads the rows in view while one of them is running; stops once none is. */
  function follow(mine: RunsSource) {
    window.clearTimeout(refreshTimer);
    const running = mine.loaded().some((r) => r.status === 'running');
    if (!running) return;
    refreshTimer = window.setTimeout(() => {
      if (mine === source) void mine.refresh();
    }, REFRESH_MS);
  }

  // A new query's runs replace the shown ones once its first page has arrived: a filter the
  // service refuses leaves the table as it was, with the reason under the box.
  let next: RunsSource | null = null;
  function reload() {
    next?.close();
    window.clearTimeout(refreshTimer);
    const mine: RunsSource = new RunsSource(query(), (err) => void arrived(mine, err));
    next = mine;
    table.el.dataset.loading = 'true'; // until the new query's first page is drawn (tests wait on it)
    if (!source) count.textContent = 'Loading…';
    saveQuery();
    mine.want(0, 1);
  }

  async function arrived(mine: RunsSource, err?: Error) {
    if (mine !== source && mine !== next) return;
    if (err) {
      fillExperiments();
      if (mine === next) delete table.el.dataset.loading;
      if (mine === next && err instanceof ApiError && err.code === 'OUTPOST_ERR_BAD_FILTER') {
        next = null;
        replace(filterError, err.message);
        filterError.hidden = false;
        if (!source) count.textContent = 'Filter not applied';
        return;
      }
      if (mine === next && !source) replace(empty, h('span', { class: 'bad' }, `Could not load runs: ${err.message}`)), (empty.hidden = false);
      return;
    }
    const changed = await chooseColumns(mine);
    if (mine !== source && mine !== next) return;
    if (mine === next) {
      source?.close();
      source = mine;
      next = null;
      delete table.el.dataset.loading;
      filterError.hidden = true;
      table.scrollTop();
      setTable();
    } else if (changed) setTable();
    else table.redraw();
    describe();
    updateCompare();
    follow(mine);
    fillExperiments();
  }

  updateCompare();
  reload();
  return () => {
    source?.close();
    next?.close();
    source = next = null;
    window.clearTimeout(refreshTimer);
    window.clearTimeout(typingTimer);
    picker.dispose();
  };
}
