/** How numbers, times, sizes and metric values read on the page. */
import type { MetricValue } from '../../protocol/metric-line';

export function formatValue(v: MetricValue | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return formatNumber(v);
  if (Array.isArray(v)) return `[${v.length} values]`;
  return String(v);
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return Math.abs(n) >= 1e9 ? n.toExponential(3) : n.toLocaleString('en-US');
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e9)) return n.toExponential(3);
  return Number(n.toPrecision(5)).toString();
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1024-based, so KiB, MiB, GiB: the same words and rounding as the CLI's sizes (src/cli/format-human.ts). */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${BYTE_UNITS[u]}`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Wall time a run took, or has taken so far while it runs. */
export function runDuration(run: { startTime: string; endTime: string | null; status: string }, now = Date.now()): number | null {
  const start = Date.parse(run.startTime);
  const end = run.endTime ? Date.parse(run.endTime) : run.status === 'running' ? now : NaN;
  return Number.isFinite(start) && Number.isFinite(end) ? end - start : null;
}

const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function formatDate(iso: string | null): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? dateFmt.format(t) : iso;
}

export function formatTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? timeFmt.format(t) : iso;
}
