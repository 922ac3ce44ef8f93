/** A run's params, one row each, in name order: the values exactly as logged (0.0001, not 1e-4). */
import { paramText, type ParamValue } from '../../protocol/run-meta-line';
import { h } from './dom';

export { paramText };

export function paramsTable(params: Record<string, ParamValue>): HTMLElement {
  const names = Object.keys(params).sort((a, b) => a.localeCompare(b));
  if (names.length === 0) return h('p', { class: 'muted' }, 'No params. A job logs them as a line {"params": {...}}, or with outpost run --param.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid params-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Param'), h('th', {}, 'Value'))),
      h(
        'tbody',
        {},
        names.map((name) => {
          const text = paramText(params[name]);
          return h('tr', { 'data-param': name }, h('td', { class: 'param-name', title: name }, name), h('td', { class: 'value mono', title: text }, text));
        }),
      ),
    ),
  );
}
