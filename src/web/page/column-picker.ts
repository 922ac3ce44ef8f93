/**
 * "Metrics": which metrics show as columns of the runs table, remembered per experiment. A name
 * chosen earlier but absent from the runs shown now (a filter hides them) stays chosen.
 */
import { h, replace } from './dom';

const KEY = 'outpost.columns.';

export function savedColumns(experiment: string): string[] | null {
  try {
    const raw = localStorage.getItem(KEY + experiment);
    return raw ? (JSON.parse(raw) as string[]) : null;
  } catch {
    return null;
  }
}

/** The columns to show: the choice saved for this experiment, else the first `defaults` names. */
export function chosenColumns(experiment: string, available: string[], defaults: number): string[] {
  const saved = savedColumns(experiment);
  if (saved === null) return available.slice(0, defaults);
  const picked = new Set(saved);
  return available.filter((n) => picked.has(n));
}

function saveColumns(experiment: string, available: string[], names: string[]): void {
  const hidden = (savedColumns(experiment) ?? []).filter((n) => !available.includes(n));
  try {
    localStorage.setItem(KEY + experiment, JSON.stringify([...names, ...hidden]));
  } catch {
    /* storage disabled: the choice lasts until reload */
  }
}

export class ColumnPicker {
  readonly el: HTMLDetailsElement;
  private readonly list = h('div', { class: 'picker-list' });
  private readonly summary = h('summary', { class: 'button' }, 'Columns');

  constructor(private readonly onChange: (names: string[]) => void) {
    this.el = h('details', { class: 'picker' }, this.summary, h('div', { class: 'picker-menu' }, this.list));
    document.addEventListener('click', this.closeOutside);
  }

  dispose(): void {
    document.removeEventListener('click', this.closeOutside);
  }

  private readonly closeOutside = (e: Event) => {
    if (this.el.open && !this.el.contains(e.target as Node)) this.el.open = false;
  };

  set(experiment: string, available: string[], chosen: string[]): void {
    this.summary.textContent = `Metrics (${chosen.length})`;
    if (available.length === 0) return replace(this.list, h('p', { class: 'muted' }, 'No metrics in these runs.'));
    const picked = new Set(chosen);
    replace(
      this.list,
      available.map((name) =>
        h(
          'label',
          {},
          h('input', {
            type: 'checkbox',
            value: name,
            checked: picked.has(name),
            onchange: (e: Event) => {
              if ((e.target as HTMLInputElement).checked) picked.add(name);
              else picked.delete(name);
              const names = available.filter((n) => picked.has(n));
              saveColumns(experiment, available, names);
              this.summary.textContent = `Metrics (${names.length})`;
              this.onChange(names);
            },
          }),
          h('span', {}, name),
        ),
      ),
    );
  }
}
