/**
 * The stability stage: a file is due for upload once its size and mtime stayed as they were at
 * its last write for agent.fileStableMs. Each write restarts its wait; `due` is told of the files
 * that settled and differ from what was uploaded.
 */
import type { FileStat } from '../../run-folder';
import { sameStat } from './file-uploader';

export type StabilityVerdict = 'gone' | 'changed' | 'due' | 'unchanged';

/**
 * One check, a period after the last: gone, still changing (wait another period), settled and
 * different from what the service has (due), or settled as it was uploaded (nothing to do).
 */
export function stabilityVerdict(last: FileStat | null, now: FileStat | null, uploaded: FileStat | undefined): StabilityVerdict {
  if (!now) return 'gone';
  if (!sameStat(last, now)) return 'changed';
  return sameStat(uploaded, now) ? 'unchanged' : 'due';
}

export interface StabilityDeps {
  stableMs: number;
  /** The file's stat now (null: gone, or not a regular file inside the folder). */
  stat: (rel: string) => FileStat | null;
  /** The stat of the version the service has, if any. */
  uploaded: (rel: string) => FileStat | undefined;
  /** The file settled and differs from what was uploaded. */
  due: (rel: string, st: FileStat) => void;
}

export class Stability {
  private readonly waiting = new Map<string, { timer: NodeJS.Timeout; last: FileStat | null }>();

  constructor(private readonly d: StabilityDeps) {}

  /**
   * The file was written. `st`, the stat taken with this event (after the write it reports), is
   * what the check compares with: a file written for a while is due one quiet period after its
   * last write, not two.
   */
  touched(rel: string, st?: FileStat): void {
    const s = this.waiting.get(rel);
    if (s) clearTimeout(s.timer);
    const entry: { timer: NodeJS.Timeout; last: FileStat | null } = {
      timer: setTimeout(() => this.check(rel), this.d.stableMs),
      last: st ?? s?.last ?? null,
    };
    this.waiting.set(rel, entry);
    entry.last ??= this.d.stat(rel);
  }

  private check(rel: string): void {
    const entry = this.waiting.get(rel);
    if (!entry) return;
    const now = this.d.stat(rel);
    const verdict = stabilityVerdict(entry.last, now, this.d.uploaded(rel));
    if (verdict === 'changed') {
      entry.last = now;
      entry.timer = setTimeout(() => this.check(rel), this.d.stableMs);
      return;
    }
    this.waiting.delete(rel);
    if (verdict === 'due') this.d.due(rel, now!);
  }

  has(rel: string): boolean {
    return this.waiting.has(rel);
  }

  keys(): IterableIterator<string> {
    return this.waiting.keys();
  }

  forget(rel: string): void {
    const s = this.waiting.get(rel);
    if (s) clearTimeout(s.timer);
    this.waiting.delete(rel);
  }

  /** Ends every wait; returns the files that were waiting (the end of the run sends them at once). */
  clear(): string[] {
    const rels = [...this.waiting.keys()];
    for (const s of this.waiting.values()) clearTimeout(s.timer);
    this.waiting.clear();
    return rels;
  }
}
