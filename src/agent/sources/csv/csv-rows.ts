/**
 * CSV logs as rows, and what changed between two reads of one. Pure: bytes in, rows and
 * verdicts out. Keras' CSVLogger appends a row per epoch; Lightning's CSVLogger appends buffered
 * rows and rewrites the whole file, every row again under a wider header, when a new column
 * appears. A row is known by its number and its content (column -> value, empty cells left out),
 * so a rewrite that keeps the rows is no change, whatever the order of the columns.
 */
import { createHash } from 'crypto';
import { parse } from 'csv-parse/sync';

export interface CsvTable {
  header: string[];
  rows: string[][];
  /** Byte offset just past the header, and just past each row. */
  headerEnd: number;
  ends: number[];
}

/** The complete lines of `bytes` (up to the last newline) as a header and rows; null before the header is whole. */
export function parseCsv(bytes: Buffer): CsvTable | null {
  let end = bytes.lastIndexOf(0x0a) + 1;
  for (;;) {
    if (end === 0) return null;
    try {
      const records = parse(bytes.subarray(0, end), { info: true, relax_column_count: true, bom: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] }) as unknown as { record: string[]; info: { bytes: number } }[];
      if (records.length === 0) return null;
      return { header: records[0].record, headerEnd: records[0].info.bytes, rows: records.slice(1).map((r) => r.record), ends: records.slice(1).map((r) => r.info.bytes) };
    } catch (err) {
      // A quoted cell still open at the end (it holds a newline): its row is not whole yet.
      if ((err as { code?: string }).code !== 'CSV_QUOTE_NOT_CLOSED') throw err;
      end = bytes.lastIndexOf(0x0a, end - 2) + 1;
    }
  }
}

/** Rows after the header, from `from` (a byte offset just past a row) on, under a known header. */
export function parseRowsAfter(bytes: Buffer, from: number): { rows: string[][]; ends: number[] } {
  const table = parseCsv(Buffer.concat([Buffer.from('h\n'), bytes.subarray(from)]));
  if (!table) return { rows: [], ends: [] };
  return { rows: table.rows, ends: table.ends.map((e) => e - 2 + from) };
}

/** A row's identity: its non-empty cells by column, in column-name order. */
export function rowKey(header: string[], row: string[]): string {
  const cells: string[] = [];
  for (let i = 0; i < row.length; i++) if (row[i] !== '' && i < header.length) cells.push(`${header[i]}\u0001${row[i]}`);
  return cells.sort().join('\u0002');
}

export function digestKeys(keys: string[]): string {
  const h = createHash('sha256');
  for (const k of keys) h.update(k).update('\u0003');
  return h.digest('hex');
}

/**
 * What the rows read now mean, given `consumed` rows already shipped (whose keys digest to
 * `digest`; `known`: their keys, when still in memory):
 *  - append: the first `consumed` are those rows; the ones after them are new;
 *  - wait: fewer rows than shipped, all as shipped (a rewrite under way): nothing yet;
 *  - rewritten: the rows differ from those shipped (another file, or the log started over).
 */
export function diffRows(consumed: number, digest: string, keys: string[], known: string[] | null): 'append' | 'wait' | 'rewritten' {
  if (keys.length >= consumed) return digestKeys(keys.slice(0, consumed)) === digest ? 'append' : 'rewritten';
  if (known && known.length >= keys.length) return keys.every((k, i) => k === known[i]) ? 'wait' : 'rewritten';
  return 'wait';
}

/** The column of the step: Lightning's "step", else Keras' "epoch"; null when the file is no metric log. */
export function stepColumn(header: string[]): string | null {
  if (header.includes('step')) return 'step';
  if (header.includes('epoch')) return 'epoch';
  return null;
}

export interface RowLine {
  /** The metric line (NDJSON, with its newline); a blank line for a row without a value. */
  text: string;
  /** Cells no metric can hold (nan, inf): column and text. */
  dropped: { column: string; cell: string }[];
}

/**
 * A row as one metric line: {"metrics": {column: value...}, "step"}. Numbers are numbers, other
 * text is a string value, empty cells are no value; the step column is the line's step.
 */
export function rowLine(header: string[], row: string[], step: string): RowLine {
  const metrics: Record<string, number | string> = {};
  const dropped: RowLine['dropped'] = [];
  let stepValue: number | undefined;
  let n = 0;
  for (let i = 0; i < header.length && i < row.length; i++) {
    const cell = row[i].trim();
    if (cell === '') continue;
    const column = header[i];
    const num = cell.length <= 40 && NUMBER.test(cell) ? Number(cell) : NaN;
    if (column === step) {
      if (Number.isSafeInteger(num) && num >= 0) stepValue = num;
      continue;
    }
    if (!Number.isNaN(num)) metrics[column] = num;
    else if (NON_FINITE.test(cell)) dropped.push({ column, cell });
    else metrics[column] = cell;
    n++;
  }
  if (n === dropped.length) return { text: '\n', dropped };
  const line: { metrics: Record<string, number | string>; step?: number } = { metrics };
  if (stepValue !== undefined) line.step = stepValue;
  return { text: `${JSON.stringify(line)}\n`, dropped };
}

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const NON_FINITE = /^[-+]?(?:nan|inf|infinity)$/i;
