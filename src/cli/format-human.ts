/** How sizes, times, durations and metric values read in the CLI's human output. */
import type { MetricValue } from '../protocol';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}

/** Local time "YYYY-MM-DD HH:MM:SS" of an ISO string or epoch seconds; "-" when absent. */
export function formatTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined || t === '') return '-';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "1h 02m 03s"; a running run counts up to `now`. */
export function formatDuration(startIso: string, endIso: string | null, now = Date.now()): string {
  const start = Date.parse(startIso);
  const end = endIso ? Date.parse(endIso) : now;
  if (!Number.isFinite(start) || !Number.isFinite(end)) return '-';
  let s = Math.max(0, Math.round((end - start) / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const p = (x: number) => String(x).padStart(2, '0');
  if (h) return `${h}h ${p(m)}m ${p(s)}s`;
  if (m) return `${m}m ${p(s)}s`;
  return `${s}s`;
}

/** Numbers as written; lists in full (a list metric is a chart's data); strings as they are. */
export function formatValue(v: MetricValue): string {
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  return String(v);
}
