/** The run's facts: what ran, where, from which commit, how it ended; and a status as a badge. */
import type { RunInfo } from '../../protocol/api-types';
import { h } from './dom';
import { formatDate, formatDuration, runDuration } from './format';

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status status-${status}` }, status);
}

export function runFacts(run: RunInfo): HTMLElement {
  const git = run.gitCommit ? h('span', { class: 'mono' }, run.gitCommit.slice(0, 12), run.gitDirty ? h('span', { class: 'dirty', title: 'uncommitted changes when the run started' }, ' + uncommitted changes') : '') : '–';
  const rows: [string, Node | string][] = [
    ['Command', run.command ? h('code', { class: 'command' }, run.command) : '–'],
    ['Folder', run.cwd ? h('span', { class: 'mono' }, run.cwd) : '–'],
    ['Host', run.host ?? '–'],
    ['Git commit', git],
    ['Started', formatDate(run.startTime)],
    ['Ended', run.endTime ? formatDate(run.endTime) : run.status === 'running' ? 'still running' : '–'],
    ['Duration', formatDuration(runDuration(run)) || '–'],
    ['Exit code', run.exitCode === null ? '–' : h('span', { class: run.exitCode === 0 ? '' : 'bad' }, String(run.exitCode))],
  ];
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}
