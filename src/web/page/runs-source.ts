/**
 * The runs of one query (filter, sort, experiment...), read from the service a page at a time as
 * the table scrolls to them: the service filters and sorts, the page never holds every run. Pages
 * far from the view are dropped, so memory stays bounded however far one scrolls.
 */
import { listRuns, RunQuery, RunRow } from './api';

export const PAGE_SIZE = 100; // runs per request: a few screens of rows
const KEEP_PAGES = 30; // pages held at most (3,000 runs); those farthest from the view go first

export type SourceQuery = Omit<RunQuery, 'limit' | 'offset'>;

export class RunsSource {
  /** Runs the query selects, from the last page read (x-total-count). */
  total = 0;
  /** The first page has arrived (or failed): total means something. */
  started = false;
  private readonly pages = new Map<number, RunRow[]>();
  private readonly loading = new Set<number>();
  private closed = false;
  private view = { first: 0, last: 0 };

  constructor(
    readonly query: SourceQuery,
    /** Told when a page arrives (`error` when one failed). */
    private readonly onChange: (error?: Error) => void,
  ) {}

  close(): void {
    this.closed = true;
  }

  row(i: number): RunRow | undefined {
    return this.pages.get(Math.floor(i / PAGE_SIZE))?.[i % PAGE_SIZE];
  }

  /** Every run read so far, in order (for the column picker's names). */
  loaded(): RunRow[] {
    return [...this.pages.keys()].sort((a, b) => a - b).flatMap((p) => this.pages.get(p)!);
  }

  /** Reads the pages rows [first, last) fall in, unless they are here or on their way. */
  want(first: number, last: number): void {
    this.view = { first, last };
    const from = Math.floor(first / PAGE_SIZE);
    const to = Math.max(from, Math.floor((Math.max(first, last) - 1) / PAGE_SIZE));
    for (let p = from; p <= to; p++) if (!this.pages.has(p) && !this.loading.has(p) && (p === 0 || p * PAGE_SIZE < this.total)) void this.read(p);
  }

  /** Reads the pages in view again (a run there may be running), then drops the others. */
  async refresh(): Promise<void> {
    const from = Math.floor(this.view.first / PAGE_SIZE);
    const to = Math.max(from, Math.floor((Math.max(this.view.first, this.view.last) - 1) / PAGE_SIZE));
    const inView = [...this.pages.keys()].filter((p) => p >= from && p <= to);
    for (const p of [...this.pages.keys()]) if (!inView.includes(p)) this.pages.delete(p);
    await Promise.all((inView.length ? inView : [0]).map((p) => this.read(p)));
  }

  private async read(p: number): Promise<void> {
    this.loading.add(p);
    try {
      const page = await listRuns({ ...this.query, limit: PAGE_SIZE, offset: p * PAGE_SIZE });
      if (this.closed) return;
      this.total = page.total;
      this.started = true;
      this.pages.set(p, page.runs);
      this.evict();
      this.onChange();
    } catch (err) {
      if (this.closed) return;
      this.started = true;
      this.onChange(err as Error);
    } finally {
      this.loading.delete(p);
    }
  }

  private evict(): void {
    if (this.pages.size <= KEEP_PAGES) return;
    const centre = Math.floor(this.view.first / PAGE_SIZE);
    const far = [...this.pages.keys()].sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
    for (const p of far.slice(0, this.pages.size - KEEP_PAGES)) this.pages.delete(p);
  }
}
