/**
 * The compare view's tables: params (and tags) side by side with the rows that differ marked, and
 * the last value of every metric with the best of each marked (best-direction.ts says which way).
 */
import type { RunInfo } from '../../protocol/api-types';
import { bestDirection, bestOf, flipDirection } from './best-direction';
import { h } from './dom';
import { formatValue } from './format';
import { paramText } from './params-table';

type Labels = Map<string, string>;

function head(first: string, runs: RunInfo[], labels: Labels, extra?: string): HTMLElement {
  return h('thead', {}, h('tr', {}, h('th', {}, first), runs.map((r) => h('th', { title: r.id }, labels.get(r.id))), extra === undefined ? null : h('th', {}, extra)));
}

/**
 * One row per name that any run has; a row whose values are not all the same (a run without the
 * name counts as a value of its own) is marked `differs`. Differing rows come first.
 */
export function sideBySide(kind: 'params' | 'tags', runs: RunInfo[], labels: Labels): HTMLElement {
  const text = (r: RunInfo, name: string): string | null => {
    const values = r[kind] as Record<string, unknown>;
    if (!Object.hasOwn(values, name)) return null;
    return kind === 'params' ? paramText(r.params[name]) : r.tags[name];
  };
  const names = [...new Set(runs.flatMap((r) => Object.keys(r[kind])))].sort((a, b) => a.localeCompare(b));
  if (!names.length) return h('p', { class: 'muted' }, kind === 'params' ? 'None of these runs has params.' : 'None of these runs has tags.');
  const rows = names.map((name) => {
    const values = runs.map((r) => text(r, name));
    return { name, values, differs: new Set(values).size > 1 };
  });
  rows.sort((a, b) => Number(b.differs) - Number(a.differs));
  const differing = rows.filter((r) => r.differs).length;
  return h(
    'div',
    {},
    h('p', { class: 'muted' }, differing ? `${differing} of ${rows.length} differ (marked).` : `All ${rows.length} are the same in every run.`),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: `grid compare-table ${kind}-compare` },
        head(kind === 'params' ? 'Param' : 'Tag', runs, labels),
        h(
          'tbody',
          {},
          rows.map((row) =>
            h(
              'tr',
              { [`data-${kind === 'params' ? 'param' : 'tag'}`]: row.name, class: row.differs ? 'differs' : '' },
              h('td', { class: 'row-name', title: row.name }, row.name),
              row.values.map((v) => h('td', { class: v === null ? 'mono missing' : 'mono' }, v ?? '–')),
            ),
          ),
        ),
      ),
    ),
  );
}

/** Last values, the best of each metric marked; the button at the row's end flips which way is best. */
export function lastValues(runs: RunInfo[], labels: Labels, onFlip: () => void): HTMLElement {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort((a, b) => a.localeCompare(b));
  if (!names.length) return h('p', { class: 'muted' }, 'No metrics.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid compare-table last-values' },
      head('Metric', runs, labels, 'Best'),
      h(
        'tbody',
        {},
        names.map((n) => {
          const values = runs.map((r) => (Object.hasOwn(r.metrics, n) ? r.metrics[n].last : undefined));
          const dir = bestDirection(n);
          const best = bestOf(values, dir);
          return h(
            'tr',
            { 'data-metric': n, 'data-best': dir },
            h('td', { class: 'row-name', title: n }, n),
            values.map((v, i) =>
              h('td', { class: best.has(i) ? 'num mono best' : 'num mono', title: best.has(i) ? `best (${dir === 'min' ? 'lowest' : 'highest'})` : undefined }, formatValue(v ?? null)),
            ),
            h(
              'td',
              { class: 'best-dir' },
              values.some((v) => typeof v === 'number') &&
                h(
                'button',
                {
                  type: 'button',
                  class: 'toggle',
                  'data-action': 'flip-best',
                  title: `best is the ${dir === 'min' ? 'lowest' : 'highest'}; click for the ${dir === 'min' ? 'highest' : 'lowest'}`,
                  onclick: () => {
                    flipDirection(n);
                    onFlip();
                  },
                },
                dir === 'min' ? '↓ lowest' : '↑ highest',
              ),
            ),
          );
        }),
      ),
    ),
  );
}
