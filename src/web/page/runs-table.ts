/**
 * The runs table, virtualised: only the rows in view (plus a margin) exist in the DOM, between
 * two spacer rows, so scrolling through thousands of runs stays smooth. Rows have a fixed height.
 * The table holds no runs itself: it asks for the rows it shows, and a row not read yet from the
 * service is drawn as a placeholder until its page arrives.
 */
import type { RunRow } from './api';
import type { Chosen } from './column-picker';
import { h } from './dom';
import type { ColumnKey } from './filter-text';
import { formatDate, formatDuration, formatValue, runDuration } from './format';
import { paramText } from './params-table';
import { href } from './router';
import { statusBadge } from './run-facts';
import type { Sort } from './runs-data';

export const ROW_HEIGHT = 38; // px; must match .runs-table tbody tr in style.css
const OVERSCAN = 10; // rows drawn beyond each edge of the view

interface Column {
  key: ColumnKey | 'select';
  label: string;
  title?: string;
  width: number; // px
  cls?: string;
  cell(run: RunRow): Node | string;
}

export interface TableState {
  /** Rows in all, read or not. */
  count: number;
  row(i: number): RunRow | undefined;
  columns: Chosen;
  showExperiment: boolean;
  sort: Sort;
  selected: Set<string>;
}

export class RunsTable {
  readonly el: HTMLElement;
  private readonly table = h('table', { class: 'grid runs-table' });
  private readonly body = h('tbody');
  private state: TableState | null = null;
  private columns: Column[] = [];
  private frame = 0;
  private shownOnce = false;

  constructor(
    private readonly onSort: (key: ColumnKey) => void,
    private readonly onSelect: (id: string, on: boolean) => void,
    /** Told which rows the view needs: [first, last). */
    private readonly onRange: (first: number, last: number) => void,
  ) {
    this.el = h('div', { class: 'runs-scroll', onscroll: () => this.schedule() }, this.table);
    new ResizeObserver(() => this.schedule()).observe(this.el);
  }

  set(state: TableState): void {
    this.state = state;
    this.columns = this.columnsFor(state);
    const width = this.columns.reduce((n, c) => n + c.width, 0);
    this.table.style.minWidth = `${width}px`;
    this.table.replaceChildren(
      h('colgroup', {}, this.columns.map((c) => h('col', { style: `width:${c.width}px` }))),
      h('thead', {}, h('tr', {}, this.columns.map((c) => this.headerCell(c, state.sort)))),
      this.body,
    );
    this.draw();
  }

  /** The rows again (a page arrived), the columns unchanged. */
  redraw(): void {
    this.draw();
  }

  /** Back to the first row (a new filter or sort). */
  scrollTop(): void {
    this.el.scrollTop = 0;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    if (!this.state) return;
    const { count } = this.state;
    const view = this.el.clientHeight || window.innerHeight;
    const first = Math.max(0, Math.floor(this.el.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(count, Math.ceil((this.el.scrollTop + view) / ROW_HEIGHT) + OVERSCAN);
    this.onRange(first, last);
    const spacer = (rows: number) => h('tr', { class: 'spacer', 'aria-hidden': 'true' }, h('td', { colspan: this.columns.length, style: `height:${rows * ROW_HEIGHT}px` }));
    const rows: Node[] = [];
    let loaded = 0;
    if (first > 0) rows.push(spacer(first));
    for (let i = first; i < last; i++) {
      const run = this.state.row(i);
      if (run) loaded++;
      rows.push(run ? this.row(run) : h('tr', { class: 'placeholder', 'aria-hidden': 'true' }, h('td', { colspan: this.columns.length }, '…')));
    }
    if (last < count) rows.push(spacer(count - last));
    this.body.replaceChildren(...rows);
    this.body.dataset.rows = String(count);
    // The moment the first runs are on screen (the runs-page benchmark waits for it).
    if (loaded > 0 && !this.shownOnce) {
      this.shownOnce = true;
      this.body.dataset.shown = 'true';
      performance.mark('outpost:runs-shown');
    }
  }

  private row(run: RunRow): HTMLElement {
    return h('tr', { 'data-run': run.id, class: this.state?.selected.has(run.id) ? 'selected' : '' }, this.columns.map((c) => h('td', { class: c.cls }, c.cell(run))));
  }

  private headerCell(c: Column, sort: Sort): HTMLElement {
    if (c.key === 'select') return h('th', { class: 'select' }, '');
    const key = c.key;
    const active = sort.key === key;
    return h(
      'th',
      { class: c.cls?.replace('mono', ''), 'aria-sort': active ? (sort.desc ? 'descending' : 'ascending') : 'none', title: c.title ?? c.label },
      h('button', { type: 'button', class: 'sort', 'data-sort': key, onclick: () => this.onSort(key) }, h('span', { class: 'label' }, c.label), h('span', { class: 'arrow' }, active ? (sort.desc ? '▼' : '▲') : '')),
    );
  }

  private columnsFor(state: TableState): Column[] {
    const cols: Column[] = [
      {
        key: 'select',
        label: '',
        width: 40,
        cls: 'select',
        cell: (run) =>
          h('input', {
            type: 'checkbox',
            'aria-label': `select ${run.name || run.id} to compare`,
            checked: state.selected.has(run.id),
            onchange: (e: Event) => this.onSelect(run.id, (e.target as HTMLInputElement).checked),
          }),
      },
      { key: 'status', label: 'Status', width: 128, cell: (run) => statusBadge(run.status) },
      { key: 'name', label: 'Run', width: 240, cls: 'name', cell: (run) => h('a', { href: href(['runs', run.id]), title: run.id }, run.name || run.id) },
    ];
    if (state.showExperiment) cols.push({ key: 'experiment', label: 'Experiment', width: 160, cls: 'ellipsis', cell: (run) => run.experiment });
    cols.push(
      { key: 'start', label: 'Started', width: 180, cls: 'nowrap', cell: (run) => formatDate(run.startTime) },
      { key: 'duration', label: 'Duration', width: 110, cls: 'num', cell: (run) => formatDuration(runDuration(run)) },
    );
    for (const name of state.columns.metric) {
      cols.push({ key: `m:${name}`, label: name, title: `metric ${name} (last value)`, width: 130, cls: 'num mono', cell: (run) => (Object.hasOwn(run.metrics, name) ? formatValue(run.metrics[name]) : '') });
    }
    for (const name of state.columns.param) {
      cols.push({ key: `p:${name}`, label: name, title: `param ${name}`, width: 130, cls: 'param mono ellipsis', cell: (run) => (Object.hasOwn(run.params, name) ? paramText(run.params[name]) : '') });
    }
    for (const name of state.columns.tag) {
      cols.push({ key: `t:${name}`, label: name, title: `tag ${name}`, width: 130, cls: 'tag ellipsis', cell: (run) => (Object.hasOwn(run.tags, name) ? run.tags[name] : '') });
    }
    return cols;
  }
}
