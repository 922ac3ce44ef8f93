/**
 * "Columns": which metrics, params and tags show as columns of the runs table, remembered per
 * experiment and kind. A name chosen earlier but absent from the runs shown now (a filter hides
 * them) stays chosen.
 */
import { h, replace } from './dom';

export type ColumnKind = 'metric' | 'param' | 'tag';
export const COLUMN_KINDS: readonly ColumnKind[] = ['metric', 'param', 'tag'];
const TITLES: Record<ColumnKind, string> = { metric: 'Metrics', param: 'Params', tag: 'Tags' };
// Metrics keep the key they always had, so choices made before params and tags existed still hold.
const KEYS: Record<ColumnKind, string> = { metric: 'outpost.columns.', param: 'outpost.paramColumns.', tag: 'outpost.tagColumns.' };

export type Chosen = Record<ColumnKind, string[]>;

export function savedColumns(kind: ColumnKind, experiment: string): string[] | null {
  try {
    const raw = localStorage.getItem(KEYS[kind] + experiment);
    return raw ? (JSON.parse(raw) as string[]) : null;
  } catch {
    return null;
  }
}

/** The columns to show: the choice saved for this experiment, else `defaults`. */
export function chosenColumns(kind: ColumnKind, experiment: string, available: string[], defaults: string[]): string[] {
  const saved = savedColumns(kind, experiment);
  if (saved === null) return defaults;
  const picked = new Set(saved);
  return available.filter((n) => picked.has(n));
}

function saveColumns(kind: ColumnKind, experiment: string, available: string[], names: string[]): void {
  const hidden = (savedColumns(kind, experiment) ?? []).filter((n) => !available.includes(n));
  try {
    localStorage.setItem(KEYS[kind] + experiment, JSON.stringify([...names, ...hidden]));
  } catch {
    /* storage disabled: the choice lasts until reload */
  }
}

export class ColumnPicker {
  readonly el: HTMLDetailsElement;
  private readonly list = h('div', { class: 'picker-list' });
  private readonly summary = h('summary', { class: 'button' }, 'Columns');
  private chosen: Chosen = { metric: [], param: [], tag: [] };

  constructor(private readonly onChange: (chosen: Chosen) => void) {
    this.el = h('details', { class: 'picker' }, this.summary, h('div', { class: 'picker-menu' }, this.list));
    document.addEventListener('click', this.closeOutside);
  }

  dispose(): void {
    document.removeEventListener('click', this.closeOutside);
  }

  private readonly closeOutside = (e: Event) => {
    if (this.el.open && !this.el.contains(e.target as Node)) this.el.open = false;
  };

  set(experiment: string, available: Chosen, chosen: Chosen): void {
    this.chosen = { ...chosen };
    this.describe();
    replace(
      this.list,
      COLUMN_KINDS.map((kind) => {
        const head = h('div', { class: 'picker-head' }, `${TITLES[kind]} (${chosen[kind].length})`);
        const names = available[kind];
        const picked = new Set(chosen[kind]);
        return h(
          'div',
          { class: 'picker-group', 'data-kind': kind },
          head,
          names.length === 0
            ? h('p', { class: 'muted' }, `No ${TITLES[kind].toLowerCase()} in these runs.`)
            : names.map((name) =>
                h(
                  'label',
                  {},
                  h('input', {
                    type: 'checkbox',
                    value: name,
                    'data-kind': kind,
                    checked: picked.has(name),
                    onchange: (e: Event) => {
                      if ((e.target as HTMLInputElement).checked) picked.add(name);
                      else picked.delete(name);
                      const list = names.filter((n) => picked.has(n));
                      saveColumns(kind, experiment, names, list);
                      this.chosen = { ...this.chosen, [kind]: list };
                      head.textContent = `${TITLES[kind]} (${list.length})`;
                      this.describe();
                      this.onChange(this.chosen);
                    },
                  }),
                  h('span', {}, name),
                ),
              ),
        );
      }),
    );
  }

  private describe(): void {
    const n = COLUMN_KINDS.reduce((sum, k) => sum + this.chosen[k].length, 0);
    this.summary.textContent = `Columns (${n})`;
  }
}
