/** `history metric`: one metric's whole series, paged from the service, written as it arrives. */
import { once } from 'events';
import { settings } from '../../config';
import type { AxiosInstance } from '../http/api-client';
import type { MetricHistory, MetricPoint } from '../protocol';
import { formatTime, formatValue } from './format-human';

export type SeriesFormat = 'table' | 'json' | 'csv';

/** Pages through nextOffset until the service says there is no more. */
export async function* metricPages(api: AxiosInstance, run: string, name: string, pageSize = settings.limits.maxHistoryPageSize) {
  let offset: number | null = 0;
  while (offset !== null) {
    const url = `/runs/${encodeURIComponent(run)}/metrics/${encodeURIComponent(name)}`;
    const { data }: { data: MetricHistory } = await api.get<MetricHistory>(url, { params: { offset, limit: pageSize } });
    yield data;
    offset = data.nextOffset;
  }
}

/** Writes the series to `out` in the chosen format; returns the number of points. */
export async function writeSeries(pages: AsyncIterable<MetricHistory>, format: SeriesFormat, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let n = 0;
  let first = true;
  for await (const page of pages) {
    let text = '';
    if (first) text += opening(page, format);
    for (const p of page.points) {
      text += row({ step: p.step, time: p.time, value: p.value }, format, n === 0);
      n++;
    }
    first = false;
    await write(out, text);
  }
  if (format === 'json') await write(out, n === 0 ? '[]\n' : '\n]\n');
  return n;
}

function opening(page: MetricHistory, format: SeriesFormat): string {
  if (format === 'csv') return 'step,time,value\n';
  if (format === 'table') return `${page.name}: ${page.type}, ${page.count} point${page.count === 1 ? '' : 's'}\n${'STEP'.padStart(10)}  ${'TIME'.padEnd(19)}  VALUE\n`;
  return '';
}

function row(p: MetricPoint, format: SeriesFormat, isFirst: boolean): string {
  if (format === 'json') return `${isFirst ? '[\n  ' : ',\n  '}${JSON.stringify(p)}`;
  if (format === 'csv') return `${p.step ?? ''},${p.time},${csvCell(p.value)}\n`;
  return `${(p.step === null ? '-' : String(p.step)).padStart(10)}  ${formatTime(p.time).padEnd(19)}  ${formatValue(p.value)}\n`;
}

/** RFC 4180: quote cells holding a comma, quote or newline; a list is written as its JSON. */
export function csvCell(v: MetricPoint['value']): string {
  const s = Array.isArray(v) ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (text && !out.write(text)) await once(out, 'drain');
}
