/**
 * A CSV log as a metric source: one line per row, `{"metrics": {column: value...}, "step"}`,
 * numbered by row. Read whole when it changes (it may be rewritten whole: Lightning), or only
 * after the last row shipped while its start is as it was (appended to: Keras). Rows shipped are
 * never sent again, rows not yet shipped never skipped (csv-rows.ts decides).
 */
import { createHash } from 'crypto';
import fs from 'fs';
import { BasePosition, FileReader, ReaderContext, streamName } from '../file-source';
import { CsvTable, diffRows, digestKeys, parseCsv, parseRowsAfter, rowKey, rowLine, stepColumn } from './csv-rows';

export interface CsvPosition extends BasePosition {
  /** Rows shipped (= seq: a row is a line) and the digest of their keys. */
  rows: number;
  digest: string;
  header: string[];
  /** Byte offsets: past the header, the start of the last row shipped, past it; hashes of both parts, to see an append. */
  headerEnd: number;
  headerHash: string;
  tailStart: number;
  tailHash: string;
  offset: number;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export class CsvReader extends FileReader<CsvPosition> {
  readonly file: string;
  readonly source: string;
  private pos: CsvPosition | null;
  /** Keys of the rows shipped, while in memory (after a restart, from the first whole read on). */
  private known: string[] | null = null;

  constructor(
    key: string,
    ctx: ReaderContext,
    private readonly rel: string,
    saved: CsvPosition | null,
  ) {
    super(key, ctx);
    this.file = `${ctx.prefix}${rel}`;
    this.source = `csv ${this.file}`;
    this.pos = saved;
  }

  protected restart(stream: string): void {
    if (this.pos?.stream === stream) this.pos = { ...this.pos, rows: 0, seq: 0, digest: digestKeys([]), offset: 0, tailStart: 0, tailHash: '' };
    this.known = null;
  }

  async read(final: boolean): Promise<boolean> {
    const opened = this.open(this.rel);
    if (!opened) return true;
    const { fd, st } = opened;
    try {
      if (st.size > this.ctx.settings.sourceMaxFileBytes) {
        this.warnOnce(`${this.file} is ${st.size} bytes, over agent.sourceMaxFileBytes (${this.ctx.settings.sourceMaxFileBytes}); its rows are not read`);
        return true;
      }
      const bytes = this.readWhole(fd, st.size);
      const appended = this.appendedRows(bytes);
      if (appended) return this.ship(appended.header, appended.rows, appended.ends, appended.keys, bytes, this.pos!.headerEnd, this.pos!.offset);
      return this.readAll(bytes, final);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The rows after the last one shipped, when the file is that file appended to (its header and last shipped row in place). */
  private appendedRows(bytes: Buffer) {
    const p = this.pos;
    if (!p || p.rows === 0 || this.known === null || bytes.length < p.offset) return null;
    if (sha(bytes.subarray(0, p.headerEnd)) !== p.headerHash || sha(bytes.subarray(p.tailStart, p.offset)) !== p.tailHash) return null;
    const { rows, ends } = parseRowsAfter(bytes, p.offset);
    return { header: p.header, rows, ends, keys: [...this.known, ...rows.map((r) => rowKey(p.header, r))], firstRow: p.rows };
  }

  private readAll(bytes: Buffer, final: boolean): boolean {
    let table: CsvTable | null;
    try {
      table = parseCsv(bytes);
    } catch (err) {
      this.warnOnce(`${this.file} is not CSV (${(err as Error).message}); it is read again when it changes`);
      return true;
    }
    if (!table) return true; // not even a whole header yet
    if (stepColumn(table.header) === null) {
      this.ctx.log.debug(`${this.file} has neither an "epoch" nor a "step" column: not a metric log`);
      return true;
    }
    const keys = table.rows.map((r) => rowKey(table!.header, r));
    let p = this.pos;
    if (p) {
      const verdict = diffRows(p.rows, p.digest, keys, this.known);
      if (verdict === 'wait' && !final) return true;
      if (verdict !== 'append') {
        this.ctx.warn(`${this.file} no longer holds the rows already shipped (started over, or replaced); it is read as a new stream`, this.file);
        p = null;
      }
    }
    if (!p) {
      const generation = (this.pos?.generation ?? 0) + 1;
      this.pos = { stream: streamName('csv', this.file, generation), generation, seq: 0, rows: 0, digest: digestKeys([]), header: [], headerEnd: 0, headerHash: '', tailStart: 0, tailHash: '', offset: 0 };
    }
    const first = this.pos!.rows;
    return this.ship(table.header, table.rows.slice(first), table.ends.slice(first), keys, bytes, table.headerEnd, first === 0 ? table.headerEnd : table.ends[first - 1]);
  }

  /**
   * The rows after the ones shipped (`rows`, ending at `ends`; the last one shipped ends at
   * `shippedEnd`) into lines; each batch's end is the position after its last row.
   */
  private ship(header: string[], rows: string[][], ends: number[], keys: string[], bytes: Buffer, headerEnd: number, shippedEnd: number): boolean {
    const p = this.pos!;
    const firstRow = p.rows;
    if (rows.length === 0) {
      this.known = keys.slice(0, firstRow);
      return true;
    }
    const step = stepColumn(header)!;
    let text = '';
    for (let i = 0; i < rows.length; i++) {
      const line = rowLine(header, rows[i], step);
      for (const d of line.dropped) this.warnOnce(`${this.file}: column ${JSON.stringify(d.column)} holds ${JSON.stringify(d.cell)} (first at row ${firstRow + i + 1}); such cells are not stored (finite numbers only)`);
      text += line.text;
    }
    const headerHash = sha(bytes.subarray(0, headerEnd));
    const endAfter = (n: number): CsvPosition => {
      const shipped = firstRow + n;
      const tailStart = n >= 2 ? ends[n - 2] : shippedEnd;
      const offset = ends[n - 1];
      return { ...p, seq: shipped, rows: shipped, digest: digestKeys(keys.slice(0, shipped)), header, headerEnd, headerHash, tailStart, tailHash: sha(bytes.subarray(tailStart, offset)), offset };
    };
    this.batcher.addLines(p.stream, firstRow + 1, rows.length, Buffer.from(text), endAfter);
    // The read position: every row read is in a batch now.
    this.pos = endAfter(rows.length);
    this.known = keys.slice(0, firstRow + rows.length);
    return true;
  }
}
