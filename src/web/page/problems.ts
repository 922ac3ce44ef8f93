/** What went wrong on the way in: rejected metric lines and refused files, each naming where. */
import type { RejectedLineInfo, RunInfo } from '../../protocol/api-types';
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
        h('tbody', {}, run.rejected.map((r) => h('tr', {}, h('td', { class: 'mono', title: r.stream }, r.file || r.stream), h('td', { class: 'num' }, r.line), h('td', {}, reasonAlone(r))))),
      ),
    ),
  );
}

/**
 * The stored reason may start with "<file> line <n>: " (it is also the agent's log line); the File
 * and Line columns say that already. Only that exact prefix, for this row's line, is taken off, so
 * a reason stored alone reads whole.
 */
export function reasonAlone(r: RejectedLineInfo): string {
  const tail = ` line ${r.line}: `;
  const at = r.reason.indexOf(tail);
  if (at < 0) return r.reason;
  const where = r.reason.slice(0, at);
  // The agent's stream names read "<file>@<inode>...": the file is its part before "@".
  const names = [r.file, r.stream, r.stream.split('@')[0]].filter(Boolean).flatMap((n) => [n, n.slice(n.lastIndexOf('/') + 1)]);
  return names.includes(where) ? r.reason.slice(at + tail.length) : r.reason;
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
