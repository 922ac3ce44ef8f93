/**
 * One folder's files -> artifacts under a prefix (outputs/ -> outputs/..., and the run's log
 * folder -> logs/...), as one chain:
 *   watch (events, and scans that find what events missed) -> stability -> upload queue
 *   and, for files gone, -> deletions.
 * A file goes once it has been stable for `fileStableMs`, again whenever it changes, and at the
 * end; unchanged files (size, mtime, hash) are not sent again.
 */
import path from 'path';
import type { AxiosInstance } from 'axios';
import type { AgentSettings } from '../../../config/agent';
import type { Logger } from '../../log/logger';
import { RecordEvent } from '../../protocol';
import { FILES_STATE_FILE, type FileStat, uploadsStateFileFor } from '../../run-folder';
import { ChunkedUploader } from './chunked-upload';
import { Deletions } from './deletions';
import { FileBook } from './file-book';
import { sameStat } from './file-uploader';
import { OutputsWatcher } from './outputs-watcher';
import { Stability } from './stability';
import { UploadQueue } from './upload-queue';

export interface FolderShipperDeps {
  api: AxiosInstance;
  runId: string;
  runDir: string;
  outputsDir: string;
  /** Artifact path prefix for files under outputsDir. */
  prefix: string;
  settings: AgentSettings;
  maxFileBytes: number;
  log: Logger;
  registerRun: () => Promise<void>;
  recordEvent: (e: RecordEvent) => void;
  /** State file name in runDir (one per synced folder). */
  stateFileName?: string;
  /** What finishes a file left over at the deadline (default: `outpost sync`). */
  laterHint?: string;
  /** The folder outputsDir must resolve inside, however it is linked (null: anywhere). */
  allowedIn?: string | null;
  /**
   * Files changed after this time (ms) belong to a later run sharing the folder: left alone. Nor is
   * a vanished file marked deleted then, since it may have been deleted by that later run.
   */
  modifiedBefore?: number;
  /** Told of every file written or found changed (the metric sources read some of them). */
  onFileChanged?: (rel: string) => void;
}

export class FolderShipper {
  private readonly watcher: OutputsWatcher;
  private readonly book: FileBook;
  private readonly stability: Stability;
  private readonly queue: UploadQueue;
  private readonly deletions: Deletions;
  private drainWaiters: (() => void)[] = [];
  private reconcileTimer: NodeJS.Timeout | null = null;
  private reconcileGap: number;
  /** When a watch event last reported a change (ms). */
  private lastEventAt = 0;
  private nextScanAt = Infinity;
  /** Folders reported gone, not yet looked through. */
  private goneDirs = new Set<string>();
  private escapedWarned = new Set<string>();
  private failWarned = new Set<string>();
  private giveUpAt = Infinity;
  private closed = false;

  constructor(private readonly d: FolderShipperDeps) {
    this.reconcileGap = d.settings.reconcileIntervalMs;
    const stateFile = path.join(d.runDir, d.stateFileName ?? FILES_STATE_FILE);
    this.book = new FileBook(stateFile, d.settings.fileStateFlushMs, d.log);
    this.watcher = new OutputsWatcher(
      d.outputsDir,
      {
        touched: (rel, st) => this.touched(rel, st),
        removed: (rel) => this.removed(rel),
        removedDir: (rel) => this.removedDir(rel),
        unwatchable: (rel, err) => this.unwatchable(rel, err),
        escaped: (rel, target) => this.escaped(rel, target),
        rootRefused: (target, allowedIn) => this.rootRefused(target, allowedIn),
      },
      d.allowedIn ?? null,
    );
    const settled = () => this.checkDrained();
    this.stability = new Stability({
      stableMs: d.settings.fileStableMs,
      stat: (rel) => this.watcher.statInside(rel),
      uploaded: (rel) => this.book.get(rel),
      due: (rel, st) => this.queue.enqueue(rel, st),
    });
    this.queue = new UploadQueue({
      ...d,
      book: this.book,
      chunked: new ChunkedUploader({ api: d.api, runId: d.runId, stateFile: uploadsStateFileFor(stateFile), chunkBytes: d.settings.uploadChunkBytes, log: d.log }),
      stat: (rel) => this.watcher.statInside(rel),
      realRoot: () => this.watcher.realRoot,
      afterCutoff: (st) => this.afterCutoff(st),
      giveUpAt: () => this.giveUpAt,
      closing: () => this.closed,
      escaped: (rel, target, how) => this.escaped(rel, target, how),
      scanSoon: () => this.scanSoon(),
      retouch: (rel) => this.touched(rel),
      settled,
    });
    this.deletions = new Deletions({ ...d, exists: (rel) => this.watcher.statInside(rel) !== null, giveUpAt: () => this.giveUpAt, settled });
  }

  async start(): Promise<void> {
    if (!(await this.book.load()) && !this.d.settings.uploadExisting) {
      // First start of this run: what is already there belongs to earlier runs.
      for (const f of await this.watcher.scan()) this.book.set(f.rel, { size: f.size, mtimeMs: f.mtimeMs, state: 'preexisting' });
      await this.book.save();
    }
    await this.watcher.start();
    await this.reconcile(false);
    this.scheduleReconcile();
  }

  /**
   * Scans at least every reconcileIntervalMs while files change, then ever less often: an idle
   * agent costs next to nothing (docs/benchmarks.md: many-files-idle-cpu), and a change after a
   * long quiet brings the next scan back within reconcileIntervalMs (touched()).
   */
  private scheduleReconcile(): void {
    this.nextScanAt = Date.now() + this.reconcileGap;
    this.reconcileTimer = setTimeout(async () => {
      const started = Date.now();
      const found = await this.reconcile(false);
      const s = this.d.settings;
      // At rest: nothing found, no change for a stability period before the scan nor during it,
      // and every folder watched. Only then does the gap grow (x4).
      const quiet = !found && this.lastEventAt < started - s.fileStableMs && !this.watcher.blind;
      this.reconcileGap = quiet ? Math.min(this.reconcileGap * 4, s.reconcileMaxIntervalMs) : s.reconcileIntervalMs;
      if (!this.closed) this.scheduleReconcile();
    }, this.reconcileGap);
    this.reconcileTimer.unref();
  }

  /** Brings the next scan within reconcileIntervalMs, if it was further away. */
  private scanSoon(): void {
    const base = this.d.settings.reconcileIntervalMs;
    if (this.closed || !this.reconcileTimer || this.nextScanAt - Date.now() <= base) return;
    clearTimeout(this.reconcileTimer);
    this.reconcileGap = base;
    this.scheduleReconcile();
  }

  /** Files waiting or being uploaded, and deletions not yet sent. */
  get pending(): number {
    return this.pendingFiles + this.deletions.size;
  }

  /** Files (not deletions) still owed to the service, each counted once. */
  get pendingFiles(): number {
    return new Set([...this.queue.owed(), ...this.stability.keys()]).size;
  }

  /** Files uploaded by this agent, each counted once. */
  get uploads(): number {
    return this.queue.uploaded.size;
  }

  /** Rescans everything and uploads what changed, without waiting for stability. */
  async finish(deadline: number): Promise<boolean> {
    this.giveUpAt = deadline;
    // Closed first: a periodic scan still in flight must not start stability timers (or re-arm
    // itself) behind the final rescan, which finds everything it would have.
    this.closed = true;
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    await this.watcher.stop();
    for (const rel of this.stability.clear()) this.queue.enqueue(rel);
    await this.reconcile(true);
    await this.drained();
    await this.book.save();
    return this.pending === 0;
  }

  async stop(): Promise<void> {
    this.giveUpAt = 0;
    this.closed = true;
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.stability.clear();
    await this.watcher.stop();
    await this.drained();
    await this.book.save();
  }

  private drained(): Promise<void> {
    if (this.queue.busy === 0 && this.deletions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private checkDrained(): void {
    if (this.queue.busy || this.deletions.size) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** watch -> stability: a file was written (or found changed by a scan). */
  private touched(rel: string, st?: FileStat): void {
    if (this.closed) return;
    this.lastEventAt = Date.now();
    if (this.nextScanAt - this.lastEventAt > this.d.settings.reconcileIntervalMs) this.scanSoon();
    this.stability.touched(rel, st);
    this.d.onFileChanged?.(rel);
  }

  /** watch -> deletions: a file the service has is gone. */
  private removed(rel: string): void {
    this.stability.forget(rel);
    this.queue.unsynced.delete(rel);
    if (this.d.modifiedBefore !== undefined) return;
    const known = this.book.delete(rel);
    if (known?.state === 'uploaded') this.deletions.add(rel);
  }

  /**
   * A folder went away or was replaced: each file known at or under its path that is gone is
   * removed. Gathered and done once per turn of the event loop: `rm -rf` of 3,000 folders would
   * otherwise walk every known file 3,000 times.
   */
  private removedDir(dir: string): void {
    if (this.goneDirs.size === 0) setImmediate(() => this.removeGone());
    this.goneDirs.add(dir);
  }

  private removeGone(): void {
    const gone = this.goneDirs;
    this.goneDirs = new Set();
    const under = (rel: string) => {
      if (gone.has('')) return true;
      for (let p = rel; p; p = p.slice(0, Math.max(0, p.lastIndexOf('/')))) if (gone.has(p)) return true;
      return false;
    };
    const known = new Set<string>();
    for (const keys of [this.book.keys(), this.stability.keys(), this.queue.unsynced.keys()]) for (const rel of keys) if (under(rel)) known.add(rel);
    for (const rel of known) if (!this.watcher.statInside(rel)) this.removed(rel);
  }

  /** Scans come every reconcileIntervalMs while part of the folder is not watched: they alone see changes there. */
  private unwatchable(rel: string, err: Error): void {
    const message = `${this.d.prefix}${rel || '.'} cannot be watched (${(err as NodeJS.ErrnoException).code ?? err.message}); changes there are found by a scan every ${this.d.settings.reconcileIntervalMs / 1000} s`;
    if (!this.failWarned.has(message)) {
      this.failWarned.add(message);
      this.d.log.warn(message);
    }
    this.scanSoon();
  }

  private escaped(rel: string, target: string, how = 'is a symlink leading'): void {
    if (this.escapedWarned.has(rel)) return;
    this.escapedWarned.add(rel);
    const message = `${this.d.prefix}${rel} ${how} out of outputs/ (to ${target}); not followed`;
    this.d.log.warn(message);
    this.d.recordEvent({ kind: 'warning', path: `${this.d.prefix}${rel}`, message });
  }

  /** outputs/ itself leads out of where it may (a link to /etc): nothing is read, and the run says why. */
  private rootRefused(target: string, allowedIn: string): void {
    const name = this.d.prefix.replace(/\/$/, '');
    const message =
      `${name}/ leads to ${target}, outside ${allowedIn}; nothing in it is read. ` +
      `${name}/ may be a link only to a folder inside the project folder, or be named with --outputs`;
    this.d.log.error(message);
    this.d.recordEvent({ kind: 'warning', path: this.d.prefix, message });
  }

  /** Compares a full scan with what was uploaded: finds what the watcher missed. True if anything was. */
  private async reconcile(immediate: boolean): Promise<boolean> {
    const seen = new Set<string>();
    let found = false;
    for (const f of await this.watcher.scan()) {
      seen.add(f.rel);
      if (sameStat(this.book.get(f.rel), f) || this.afterCutoff(f)) continue;
      if (immediate) {
        this.queue.enqueue(f.rel, { size: f.size, mtimeMs: f.mtimeMs });
        this.d.onFileChanged?.(f.rel);
      } else if (!this.stability.has(f.rel) && !this.queue.has(f.rel)) {
        found = true;
        this.touched(f.rel, { size: f.size, mtimeMs: f.mtimeMs });
      }
    }
    for (const rel of this.d.modifiedBefore === undefined ? this.book.keys() : []) {
      if (seen.has(rel)) continue;
      found = true;
      this.removed(rel);
    }
    return this.watcher.takeRepaired() || found;
  }

  /** outputs/ with every link resolved, as it is now; null: nothing in it may be read. */
  get realRoot(): string | null {
    return this.watcher.realRoot;
  }

  /** A file that is not this run's: gone, there before the run began and unchanged since, or changed after its end. */
  notThisRuns(rel: string): boolean {
    const st = this.watcher.statInside(rel);
    if (!st || this.afterCutoff(st)) return true;
    const known = this.book.get(rel);
    return known?.state === 'preexisting' && sameStat(known, st);
  }

  private afterCutoff(st: FileStat): boolean {
    return this.d.modifiedBefore !== undefined && st.mtimeMs > this.d.modifiedBefore;
  }
}
