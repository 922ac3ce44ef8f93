/**
 * What of a synced folder is known to the service (files.json): each file's stat when it was
 * uploaded, found there before the run, or refused. Saved debounced: it only saves work after a
 * restart (uploads are idempotent).
 */
import type { Logger } from '../../log/logger';
import { type FileState, readFilesState, writeFilesState } from '../../run-folder';

export class FileBook {
  private state = new Map<string, FileState>();
  private flushTimer: NodeJS.Timeout | null = null;
  private lastSaveMs = 0;

  constructor(
    readonly file: string,
    private readonly flushMs: number,
    private readonly log: Logger,
  ) {}

  /** Reads the saved state; false when there is none (the first start of this run). */
  async load(): Promise<boolean> {
    const saved = await readFilesState(this.file);
    if (saved) this.state = saved;
    return saved !== null;
  }

  get(rel: string): FileState | undefined {
    return this.state.get(rel);
  }

  keys(): string[] {
    return [...this.state.keys()];
  }

  set(rel: string, s: FileState): void {
    this.state.set(rel, s);
    this.scheduleFlush();
  }

  delete(rel: string): FileState | undefined {
    const known = this.state.get(rel);
    if (known) {
      this.state.delete(rel);
      this.scheduleFlush();
    }
    return known;
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    // Debounced, and never more than ~2% of the time: with 10,000 files one save is not free.
    this.flushTimer = setTimeout(
      () => {
        this.flushTimer = null;
        void this.save().catch((err) => this.log.warn(`saving ${this.file} failed: ${err.message}`));
      },
      Math.max(this.flushMs, 50 * this.lastSaveMs),
    );
  }

  async save(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const t0 = Date.now();
    await writeFilesState(this.file, this.state);
    this.lastSaveMs = Date.now() - t0;
  }
}
