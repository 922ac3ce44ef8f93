/**
 * One folder's files -> artifacts under a prefix (outputs/ -> outputs/..., and the run's log
 * folder -> logs/...). A file goes once it has been stable for `fileStableMs`, again whenever it
 * changes, and at the end; unchanged files (size, mtime, hash) are not sent again. Files over the
 * cap are refused before a byte is sent; deleted files are marked deleted.
 */
import path from 'path';
import type { AxiosInstance } from 'axios';
import type { AgentSettings } from '../../config/agent';
import { ApiError, artifactUrl } from '../http/api-client';
import { classify } from '../http/classify';
import type { Logger } from '../log/logger';
import { RecordEvent } from '../protocol';
import { ChunkedUploader } from './chunked-upload';
import { FileChanged, OutsideRoot, prepareUpload, sameStat, TrailersNotHonoured, uploadFile } from './file-uploader';
import { OutputsWatcher } from './outputs-watcher';
import { GaveUp, untilDeadline, withRetry } from './retry';
import { FILES_STATE_FILE, type FileStat, type FileState, readFilesState, uploadsStateFileFor, writeFilesState } from '../run-folder';


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
}

export class FolderShipper {
  private readonly watcher: OutputsWatcher;
  private state = new Map<string, FileState>();
  private readonly stateFile: string;
  private stable = new Map<string, { timer: NodeJS.Timeout; last: FileStat | null }>();
  /** Files to upload, with the stat that found them stable (null: stat again). */
  private queued = new Map<string, FileStat | null>();
  private active = new Set<string>();
  /** Deletions to send or being sent. */
  private removals = new Set<string>();
  private removalQueue: string[] = [];
  private removalsActive = 0;
  /** Files whose last attempt failed for a reason that is not the file's fault: still owed. */
  private unsynced = new Set<string>();
  private drainWaiters: (() => void)[] = [];
  private reconcileTimer: NodeJS.Timeout | null = null;
  private reconcileGap: number;
  /** When a watch event last reported a change (ms). */
  private lastEventAt = 0;
  private nextScanAt = Infinity;
  /** Folders reported gone, not yet looked through. */
  private goneDirs = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private escapedWarned = new Set<string>();
  private failWarned = new Set<string>();
  private giveUpAt = Infinity;
  private closed = false;
  /** False once the service has been seen not to receive trailers: big files are then hashed first. */
  private trailers = true;
  /** Files this agent has stored a version of (each counted once, however many versions). */
  private readonly uploaded = new Set<string>();
  /** Files said to be left for later (the deadline passed), each once. */
  private readonly leftWarned = new Set<string>();
  /** Big files go as resumable uploads, their progress kept beside the state file. */
  private readonly chunked: ChunkedUploader;

  constructor(private readonly d: FolderShipperDeps) {
    this.stateFile = path.join(d.runDir, d.stateFileName ?? FILES_STATE_FILE);
    this.chunked = new ChunkedUploader({ api: d.api, runId: d.runId, stateFile: uploadsStateFileFor(this.stateFile), chunkBytes: d.settings.uploadChunkBytes, log: d.log });
    this.reconcileGap = d.settings.reconcileIntervalMs;
    this.watcher = new OutputsWatcher(d.outputsDir, {
      touched: (rel, st) => this.touched(rel, st),
      removed: (rel) => this.removed(rel),
      removedDir: (rel) => this.removedDir(rel),
      unwatchable: (rel, err) => this.unwatchable(rel, err),
      escaped: (rel, target) => this.escaped(rel, target),
      rootRefused: (target, allowedIn) => this.rootRefused(target, allowedIn),
    }, d.allowedIn ?? null);
  }

  async start(): Promise<void> {
    const saved = await readFilesState(this.stateFile);
    if (saved) {
      this.state = saved;
    } else if (!this.d.settings.uploadExisting) {
      // First start of this run: what is already there belongs to earlier runs.
      for (const f of await this.watcher.scan()) this.state.set(f.rel, { size: f.size, mtimeMs: f.mtimeMs, state: 'preexisting' });
      await this.saveState();
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
    return this.pendingFiles + this.removals.size;
  }

  /** Files (not deletions) still owed to the service, each counted once. */
  get pendingFiles(): number {
    return new Set([...this.queued.keys(), ...this.active, ...this.stable.keys(), ...this.unsynced]).size;
  }

  /** Files uploaded by this agent, each counted once. */
  get uploads(): number {
    return this.uploaded.size;
  }

  /** Rescans everything and uploads what changed, without waiting for stability. */
  async finish(deadline: number): Promise<boolean> {
    this.giveUpAt = deadline;
    // Closed first: a periodic scan still in flight must not start stability timers (or re-arm
    // itself) behind the final rescan, which finds everything it would have.
    this.closed = true;
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    await this.watcher.stop();
    for (const [rel, s] of this.stable) {
      clearTimeout(s.timer);
      this.enqueue(rel);
    }
    this.stable.clear();
    await this.reconcile(true);
    await this.drained();
    await this.saveState();
    return this.pending === 0;
  }

  async stop(): Promise<void> {
    this.giveUpAt = 0;
    this.closed = true;
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    for (const s of this.stable.values()) clearTimeout(s.timer);
    this.stable.clear();
    await this.watcher.stop();
    await this.drained();
    await this.saveState();
  }

  private drained(): Promise<void> {
    if (this.queued.size === 0 && this.active.size === 0 && this.removals.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private checkDrained(): void {
    if (this.queued.size || this.active.size || this.removals.size) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private touched(rel: string, st?: FileStat): void {
    if (this.closed) return;
    this.lastEventAt = Date.now();
    if (this.nextScanAt - this.lastEventAt > this.d.settings.reconcileIntervalMs) this.scanSoon();
    const s = this.stable.get(rel);
    if (s) clearTimeout(s.timer);
    // The stat taken with this event (after the write it reports) is what the check compares
    // with: a file written for a while is due one quiet period after its last write, not two.
    const entry: { timer: NodeJS.Timeout; last: FileStat | null } = {
      timer: setTimeout(() => void this.checkStable(rel), this.d.settings.fileStableMs),
      last: st ?? s?.last ?? null,
    };
    this.stable.set(rel, entry);
    entry.last ??= this.watcher.statInside(rel);
  }

  /** Stable = the same size and mtime as one period ago. */
  private async checkStable(rel: string): Promise<void> {
    const entry = this.stable.get(rel);
    if (!entry || this.closed) return;
    const now = this.watcher.statInside(rel);
    if (!now) {
      this.stable.delete(rel);
      return;
    }
    if (sameStat(entry.last ?? undefined, now)) {
      this.stable.delete(rel);
      if (!sameStat(this.state.get(rel), now)) this.enqueue(rel, now);
      return;
    }
    entry.last = now;
    entry.timer = setTimeout(() => void this.checkStable(rel), this.d.settings.fileStableMs);
  }

  private removed(rel: string): void {
    const s = this.stable.get(rel);
    if (s) clearTimeout(s.timer);
    this.stable.delete(rel);
    this.unsynced.delete(rel);
    if (this.d.modifiedBefore !== undefined) return;
    const known = this.state.get(rel);
    if (!known) return;
    this.state.delete(rel);
    this.scheduleStateFlush();
    if (known.state === 'uploaded' && !this.removals.has(rel)) {
      this.removals.add(rel);
      this.removalQueue.push(rel);
      this.pumpRemovals();
    }
  }

  /** Deletions go out uploadConcurrency at a time: `rm -rf` of 9,000 files is not 9,000 requests at once. */
  private pumpRemovals(): void {
    while (this.removalsActive < this.d.settings.uploadConcurrency && this.removalQueue.length > 0) {
      const rel = this.removalQueue.shift()!;
      // Made again while its deletion waited: the upload that follows is what counts, and a
      // DELETE sent after it would mark the new file deleted.
      if (this.watcher.statInside(rel)) {
        this.removals.delete(rel);
        this.checkDrained();
        continue;
      }
      this.removalsActive++;
      void this.sendRemoval(rel).finally(() => {
        this.removalsActive--;
        this.pumpRemovals();
      });
    }
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
    for (const keys of [this.state.keys(), this.stable.keys(), this.unsynced.keys()]) for (const rel of keys) if (under(rel)) known.add(rel);
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
      if (sameStat(this.state.get(f.rel), f) || this.afterCutoff(f)) continue;
      if (immediate) this.enqueue(f.rel, { size: f.size, mtimeMs: f.mtimeMs });
      else if (!this.stable.has(f.rel) && !this.queued.has(f.rel) && !this.active.has(f.rel)) {
        found = true;
        this.touched(f.rel, { size: f.size, mtimeMs: f.mtimeMs });
      }
    }
    for (const rel of this.d.modifiedBefore === undefined ? [...this.state.keys()] : []) {
      if (seen.has(rel)) continue;
      found = true;
      this.removed(rel);
    }
    return this.watcher.takeRepaired() || found;
  }

  private afterCutoff(st: FileStat): boolean {
    return this.d.modifiedBefore !== undefined && st.mtimeMs > this.d.modifiedBefore;
  }

  private enqueue(rel: string, st: FileStat | null = null): void {
    this.queued.set(rel, st);
    this.pump();
  }

  private pump(): void {
    for (const [rel, st] of this.queued) {
      if (this.active.size >= this.d.settings.uploadConcurrency) return;
      if (this.active.has(rel)) continue; // a newer version waits for the current upload
      this.queued.delete(rel);
      this.active.add(rel);
      void this.upload(rel, st).finally(() => {
        this.active.delete(rel);
        this.pump();
        this.checkDrained();
      });
    }
    this.checkDrained();
  }

  /** `found`: the stat that made the file due, if fresh; the read checks the file against it anyway. */
  private async upload(rel: string, found: FileStat | null): Promise<void> {
    const abs = path.join(this.d.outputsDir, rel);
    const artifactPath = `${this.d.prefix}${rel}`;
    this.unsynced.delete(rel);
    const before = found ?? this.watcher.statInside(rel);
    if (!before || this.afterCutoff(before)) return;
    const known = this.state.get(rel);
    if (sameStat(known, before)) return;
    if (before.size > this.d.maxFileBytes) {
      const message = `${artifactPath} is ${before.size} bytes (${mib(before.size)}), over the ${mib(this.d.maxFileBytes)} limit (limits.maxFileBytes); not uploaded`;
      this.d.log.error(message);
      this.d.recordEvent({ kind: 'file-refused', path: artifactPath, message });
      this.setState(rel, { ...before, state: 'refused' });
      return;
    }
    let putting = false;
    const root = this.watcher.realRoot;
    if (root === null) return; // outputs/ leads where nothing may be read (said once, by rootRefused)
    try {
      // A big file of the size already sent may be that file touched: hashing it first can save sending it.
      const prepared = await prepareUpload(abs, root, before, !this.trailers || (known?.state === 'uploaded' && known.size === before.size));
      if (prepared.sha256 !== null && known?.sha256 === prepared.sha256 && known.state === 'uploaded') {
        this.setState(rel, { ...before, state: 'uploaded', sha256: prepared.sha256 }); // touched, not changed
        return;
      }
      await this.d.registerRun();
      putting = true;
      const stored = await withRetry(
        // The root as it is at each attempt: a re-pointed link is never read through a stale answer.
        () => uploadFile(this.d.api, this.d.runId, artifactPath, abs, this.watcher.realRoot ?? root, before, prepared, this.trailers, this.chunked),
        untilDeadline(
          this.d.settings,
          () => this.giveUpAt,
          (m) => this.d.log.warn(m),
          `upload of ${artifactPath} failed`,
        ),
      );
      this.uploaded.add(rel);
      this.setState(rel, { ...before, state: 'uploaded', sha256: stored.sha256 });
      this.d.log.debug(`uploaded ${artifactPath} (${before.size} bytes)`);
    } catch (err) {
      if (err instanceof OutsideRoot) {
        // A folder on the way swapped for a link out, or outputs/ itself (a link) re-pointed:
        // the next scan, soon, sees which, and finds the file again if it is outputs/'s now.
        this.escaped(rel, err.target, 'leads');
        return this.scanSoon();
      }
      if (err instanceof TrailersNotHonoured) {
        if (this.trailers) this.d.log.warn(`${err.message}: from now on big files are hashed before they are sent`);
        this.trailers = false;
        if (Date.now() < this.giveUpAt) this.queued.set(rel, null);
        return;
      }
      if (err instanceof GaveUp) {
        // Said once: the final rescan queues a file again while its first attempt still waits.
        if (!this.leftWarned.has(rel)) this.d.log.warn(`${artifactPath} not uploaded before the deadline; ${this.d.laterHint ?? '`outpost sync` will finish it'}`);
        this.leftWarned.add(rel);
        this.unsynced.add(rel);
        return;
      }
      const verdict = err instanceof ApiError ? classify(err) : undefined;
      if (err instanceof FileChanged || verdict === 'resend' || (err as NodeJS.ErrnoException).code === 'ENOENT') {
        // Rewritten during the upload: that version is discarded; try again once it settles, or
        // at once when the run is ending (a stability timer would not be waited for).
        if (this.giveUpAt === Infinity && !this.closed) this.touched(rel);
        else if (Date.now() < this.giveUpAt) this.queued.set(rel, null);
        return;
      }
      // A 4xx about the file itself (too large, a bad path): sending it again cannot help.
      if (putting && err instanceof ApiError && (verdict === 'refuse' || verdict === 'smaller')) return this.refuse(rel, artifactPath, before, err);
      // Not the file's fault (unreadable here, a bad token, the run refused): it stays owed, is
      // tried again at the next scan, and the run is not reported fully shipped.
      this.unsynced.add(rel);
      const message = `${artifactPath} not uploaded: ${(err as Error).message}`;
      if (!this.failWarned.has(message)) {
        this.failWarned.add(message);
        this.d.log.warn(message);
      }
    }
  }

  /** A 4xx that asking again cannot fix: reported on the run, not retried until the file changes. */
  private refuse(rel: string, artifactPath: string, st: FileStat, err: ApiError): void {
    const message = `${artifactPath} refused by the service: ${err.message}`;
    this.d.log.error(message);
    this.d.recordEvent({ kind: 'file-refused', path: artifactPath, message });
    this.setState(rel, { ...st, state: 'refused' });
  }

  private async sendRemoval(rel: string): Promise<void> {
    try {
      await this.d.registerRun();
      await withRetry(
        () => this.d.api.delete(artifactUrl(this.d.runId, `${this.d.prefix}${rel}`)),
        untilDeadline(this.d.settings, () => this.giveUpAt),
      );
    } catch (err) {
      this.d.log.warn(`marking ${this.d.prefix}${rel} deleted failed: ${(err as Error).message}`);
    } finally {
      this.removals.delete(rel);
      this.checkDrained();
    }
  }

  private setState(rel: string, s: FileState): void {
    this.state.set(rel, s);
    this.scheduleStateFlush();
  }

  private scheduleStateFlush(): void {
    if (this.flushTimer) return;
    // Debounced, and never more than ~2% of the time: the state only saves work after a
    // restart (uploads are idempotent), and with 10,000 files one save is not free.
    this.flushTimer = setTimeout(
      () => {
        this.flushTimer = null;
        void this.saveState().catch((err) => this.d.log.warn(`saving ${this.stateFile} failed: ${err.message}`));
      },
      Math.max(this.d.settings.fileStateFlushMs, 50 * this.lastSaveMs),
    );
  }

  private lastSaveMs = 0;

  private async saveState(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const t0 = Date.now();
    await writeFilesState(this.stateFile, this.state);
    this.lastSaveMs = Date.now() - t0;
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
