/** Plain aligned text tables for people (no borders: easy to read, grep and paste). */
export type Align = 'left' | 'right';

export interface TableOptions {
  /** Alignment per column; numbers read best right-aligned. Default: left. */
  align?: Align[];
  /** Prefix of every line, for tables nested under a heading. */
  indent?: string;
}

export function formatTable(headers: string[], rows: string[][], opts: TableOptions = {}): string {
  const indent = opts.indent ?? '';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    indent +
    cells
      .map((cell, i) => {
        const last = i === cells.length - 1;
        if (opts.align?.[i] === 'right') return cell.padStart(widths[i]);
        return last ? cell : cell.padEnd(widths[i]);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
