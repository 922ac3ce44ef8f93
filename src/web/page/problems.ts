/** What went wrong on the way in: rejected metric lines and refused files, each naming where. */
import type { RunInfo } from '../../protocol/api-types';
import { h } from './dom';
import { formatTime } from './format';

export function rejectedLines(run: RunInfo): HTMLElement {
  if (run.rejectedLines === 0) return h('p', { class: 'muted' }, 'No rejected lines.');
  const shown = run.rejected.length;
  return h(
    'div',
    {},
    h('p', {}, `${run.rejectedLines.toLocaleString('en-US')} line${run.rejectedLines === 1 ? '' : 's'} rejected`, shown < run.rejectedLines ? ` (the first ${shown} shown)` : '', '.'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'grid rejected-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'File'), h('th', { class: 'num' }, 'Line'), h('th', {}, 'Reason'))),
        h('tbody', {}, run.rejected.map((r) => h('tr', {}, h('td', { class: 'mono', title: r.stream }, r.file || r.stream), h('td', { class: 'num' }, r.line), h('td', {}, r.reason)))),
      ),
    ),
  );
}

export function eventList(run: RunInfo): HTMLElement {
  if (run.events.length === 0) return h('p', { class: 'muted' }, 'No events.');
  return h(
    'ul',
    { class: 'events' },
    run.events.map((e) =>
      h('li', { class: `event event-${e.kind}` }, h('time', { class: 'muted mono' }, formatTime(e.time)), ' ', h('span', { class: 'event-kind' }, e.kind), ' ', e.path ? h('span', { class: 'mono' }, e.path) : '', e.path ? ': ' : '', e.message),
    ),
  );
}
