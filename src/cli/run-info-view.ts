/** `history info` (and `last`) for people: the run's facts, metrics, rejected lines, events, artifacts. */
import { paramText, type RunInfo } from '../protocol';
import { formatBytes, formatDuration, formatTime, formatValue } from './format-human';
import { formatTable } from './format-table';

export function renderRunInfo(run: RunInfo, now = Date.now()): string {
  const out: string[] = [];
  const facts: [string, string][] = [
    ['run', run.id],
    ['experiment', run.experiment],
    ['name', run.name],
    ['status', run.status],
    ['exit code', run.exitCode === null ? '-' : String(run.exitCode)],
    ['started', formatTime(run.startTime)],
    ['ended', formatTime(run.endTime)],
    ['duration', `${formatDuration(run.startTime, run.endTime, now)}${run.endTime ? '' : ' (so far)'}`],
    ['command', run.command ?? '-'],
    ['cwd', run.cwd ?? '-'],
    ['host', run.host ?? '-'],
    ['git', run.gitCommit ? `${run.gitCommit}${run.gitDirty ? ' (uncommitted changes)' : ''}` : '-'],
  ];
  if (run.deletedTime) facts.push(['deleted', `${formatTime(run.deletedTime)} (outpost history restore -r ${run.id} brings it back)`]);
  const width = Math.max(...facts.map(([k]) => k.length));
  for (const [k, v] of facts) out.push(`${k.padEnd(width)}  ${v}\n`);

  const params = Object.entries(run.params ?? {});
  if (params.length) {
    out.push(`\nparams (${params.length})\n`);
    out.push(formatTable(['NAME', 'VALUE'], params.map(([k, v]) => [k, paramText(v)]), { indent: '  ' }));
  }
  const tags = Object.entries(run.tags ?? {});
  if (tags.length) {
    out.push(`\ntags (${tags.length})\n`);
    out.push(formatTable(['NAME', 'VALUE'], tags, { indent: '  ' }));
  }
  if (run.note) out.push(`\nnote\n${run.note.replace(/^/gm, '  ').replace(/\s*$/, '')}\n`);

  const metrics = Object.entries(run.metrics);
  out.push(`\nmetrics (${metrics.length})\n`);
  if (metrics.length) {
    const rows = metrics.map(([name, m]) => [name, m.type, String(m.count), m.lastStep === null ? '-' : String(m.lastStep), formatValue(m.last)]);
    out.push(formatTable(['NAME', 'TYPE', 'COUNT', 'STEP', 'LAST'], rows, { indent: '  ', align: ['left', 'left', 'right', 'right'] }));
  }

  if (run.rejectedLines > 0) {
    const shown = run.rejected.length < run.rejectedLines ? `, first ${run.rejected.length} shown` : '';
    out.push(`\nrejected lines (${run.rejectedLines}${shown})\n`);
    const rows = run.rejected.map((r) => [r.file || r.stream, String(r.line), reasonAlone(r)]);
    out.push(formatTable(['FILE', 'LINE', 'REASON'], rows, { indent: '  ', align: ['left', 'right'] }));
  }

  if (run.events.length) {
    const refused = run.events.filter((e) => e.kind === 'file-refused').length;
    out.push(`\nevents (${run.events.length}${refused ? `, ${refused} refused file${refused === 1 ? '' : 's'}` : ''})\n`);
    const rows = run.events.map((e) => [formatTime(e.time), e.kind, e.path ?? '-', e.message]);
    out.push(formatTable(['TIME', 'KIND', 'PATH', 'MESSAGE'], rows, { indent: '  ' }));
  }

  const total = run.artifacts.reduce((sum, a) => sum + a.size, 0);
  out.push(`\nartifacts (${run.artifacts.length}, ${formatBytes(total)})\n`);
  if (run.artifacts.length) {
    const rows = run.artifacts.map((a) => [a.path, formatBytes(a.size), String(a.versions), a.sha256.slice(0, 12), formatTime(a.time)]);
    out.push(formatTable(['PATH', 'SIZE', 'VERSIONS', 'SHA256', 'UPDATED'], rows, { indent: '  ', align: ['left', 'right', 'right'] }));
  }
  if (run.deletedArtifacts.length) out.push(`  deleted: ${run.deletedArtifacts.join(', ')}\n`);
  return out.join('');
}

/** Stores made before the reason was kept alone hold "<file> line <n>: <reason>": the columns say the first part. */
function reasonAlone(r: RunInfo['rejected'][number]): string {
  const prefix = `${r.file || r.stream} line ${r.line}: `;
  return r.reason.startsWith(prefix) ? r.reason.slice(prefix.length) : r.reason;
}
