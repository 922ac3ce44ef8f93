/** Every metric of a run with its last value: scalars and strings read best as a table. */
import type { RunInfo } from '../../protocol/api-types';
import { h } from './dom';
import { formatValue } from './format';

export function metricsTable(run: RunInfo): HTMLElement {
  const names = Object.keys(run.metrics).sort((a, b) => a.localeCompare(b));
  if (names.length === 0) return h('p', { class: 'muted' }, 'No metrics yet.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid metrics-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Metric'), h('th', {}, 'Last value'), h('th', { class: 'num' }, 'Step'), h('th', { class: 'num' }, 'Count'))),
      h(
        'tbody',
        {},
        names.map((name) => {
          const m = run.metrics[name];
          const value = m.type === 'list' ? `[${(m.last as number[]).map(formatValue).join(', ')}]` : formatValue(m.last);
          return h(
            'tr',
            { 'data-metric': name },
            h('td', { class: 'metric-name', title: `${name} (${m.type})` }, name),
            h('td', { class: typeof m.last === 'number' ? 'num-left mono' : 'value', title: value }, value),
            h('td', { class: 'num' }, m.lastStep ?? ''),
            h('td', { class: 'num' }, m.count.toLocaleString('en-US')),
          );
        }),
      ),
    ),
  );
}
