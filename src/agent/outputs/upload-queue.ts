/**
 * The upload queue: files due go up uploadConcurrency at a time, each streamed whole (never a torn
 * version, file-uploader.ts). A file over the cap is refused before a byte is sent; one rewritten
 * during its upload goes again once it settles; one the service refuses is not tried again until
 * it changes; one that failed for a reason not its own stays owed.
 */
import path from 'path';
import type { AxiosInstance } from 'axios';
import type { AgentSettings } from '../../../config/agent';
import { ApiError } from '../../http/api-client';
import { classify } from '../../http/classify';
import type { Logger } from '../../log/logger';
import type { RecordEvent } from '../../protocol';
import type { FileStat } from '../../run-folder';
import { GaveUp, untilDeadline, withRetry } from '../retry';
import type { ChunkedUploader } from './chunked-upload';
import type { FileBook } from './file-book';
import { FileChanged, OutsideRoot, prepareUpload, sameStat, TrailersNotHonoured, uploadFile } from './file-uploader';

export interface UploadQueueDeps {
  api: AxiosInstance;
  runId: string;
  outputsDir: string;
  prefix: string;
  settings: AgentSettings;
  maxFileBytes: number;
  log: Logger;
  registerRun: () => Promise<void>;
  recordEvent: (e: RecordEvent) => void;
  laterHint?: string;
  book: FileBook;
  /** Big files go as resumable uploads, their progress kept beside the state file. */
  chunked: ChunkedUploader;
  /** The file's stat now, if it is a regular file inside the folder. */
  stat: (rel: string) => FileStat | null;
  /** The folder with every link resolved, as it is now; null: nothing in it may be read. */
  realRoot: () => string | null;
  /** Changed after the cut-off: a later run's file, left alone. */
  afterCutoff: (st: FileStat) => boolean;
  giveUpAt: () => number;
  /** The run is ending: no stability wait any more. */
  closing: () => boolean;
  /** The file leads out of the folder now (said once per file). */
  escaped: (rel: string, target: string, how: string) => void;
  /** A scan should come soon (a link on the way changed). */
  scanSoon: () => void;
  /** Rewritten during its upload: back to the stability stage. */
  retouch: (rel: string) => void;
  /** An upload ended: the folder may be drained. */
  settled: () => void;
}

export class UploadQueue {
  /** Files to upload, with the stat that found them due (null: stat again). */
  private readonly queued = new Map<string, FileStat | null>();
  private readonly active = new Set<string>();
  /** Files whose last attempt failed for a reason that is not the file's fault: still owed. */
  readonly unsynced = new Set<string>();
  /** Files this agent has stored a version of (each counted once, however many versions). */
  readonly uploaded = new Set<string>();
  /** Files said to be left for later (the deadline passed), each once. */
  private readonly leftWarned = new Set<string>();
  private readonly failWarned = new Set<string>();
  /** False once the service has been seen not to receive trailers: big files are then hashed first. */
  private trailers = true;

  constructor(private readonly d: UploadQueueDeps) {}

  /** Files waiting or being uploaded. */
  get busy(): number {
    return this.queued.size + this.active.size;
  }

  /** Files owed: waiting, being uploaded, or failed for a reason not their own. */
  owed(): string[] {
    return [...this.queued.keys(), ...this.active, ...this.unsynced];
  }

  has(rel: string): boolean {
    return this.queued.has(rel) || this.active.has(rel);
  }

  enqueue(rel: string, st: FileStat | null = null): void {
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
        this.d.settled();
      });
    }
    this.d.settled();
  }

  /** `found`: the stat that made the file due, if fresh; the read checks the file against it anyway. */
  private async upload(rel: string, found: FileStat | null): Promise<void> {
    const d = this.d;
    const abs = path.join(d.outputsDir, rel);
    const artifactPath = `${d.prefix}${rel}`;
    this.unsynced.delete(rel);
    const before = found ?? d.stat(rel);
    if (!before || d.afterCutoff(before)) return;
    const known = d.book.get(rel);
    if (sameStat(known, before)) return;
    if (before.size > d.maxFileBytes) {
      const message = `${artifactPath} is ${before.size} bytes (${mib(before.size)}), over the ${mib(d.maxFileBytes)} limit (limits.maxFileBytes); not uploaded`;
      d.log.error(message);
      d.recordEvent({ kind: 'file-refused', path: artifactPath, message });
      d.book.set(rel, { ...before, state: 'refused' });
      return;
    }
    let putting = false;
    const root = d.realRoot();
    if (root === null) return; // the folder leads where nothing may be read (said once, by the watcher)
    try {
      // A big file of the size already sent may be that file touched: hashing it first can save sending it.
      const prepared = await prepareUpload(abs, root, before, !this.trailers || (known?.state === 'uploaded' && known.size === before.size));
      if (prepared.sha256 !== null && known?.sha256 === prepared.sha256 && known.state === 'uploaded') {
        d.book.set(rel, { ...before, state: 'uploaded', sha256: prepared.sha256 }); // touched, not changed
        return;
      }
      await d.registerRun();
      putting = true;
      const stored = await withRetry(
        // The root as it is at each attempt: a re-pointed link is never read through a stale answer.
        () => uploadFile(d.api, d.runId, artifactPath, abs, d.realRoot() ?? root, before, prepared, this.trailers, d.chunked),
        untilDeadline(d.settings, d.giveUpAt, (m) => d.log.warn(m), `upload of ${artifactPath} failed`),
      );
      this.uploaded.add(rel);
      d.book.set(rel, { ...before, state: 'uploaded', sha256: stored.sha256 });
      d.log.debug(`uploaded ${artifactPath} (${before.size} bytes)`);
    } catch (err) {
      if (err instanceof OutsideRoot) {
        // A folder on the way swapped for a link out, or outputs/ itself (a link) re-pointed:
        // the next scan, soon, sees which, and finds the file again if it is outputs/'s now.
        d.escaped(rel, err.target, 'leads');
        return d.scanSoon();
      }
      if (err instanceof TrailersNotHonoured) {
        if (this.trailers) d.log.warn(`${err.message}: from now on big files are hashed before they are sent`);
        this.trailers = false;
        if (Date.now() < d.giveUpAt()) this.queued.set(rel, null);
        return;
      }
      if (err instanceof GaveUp) {
        // Said once: the final rescan queues a file again while its first attempt still waits.
        if (!this.leftWarned.has(rel)) d.log.warn(`${artifactPath} not uploaded before the deadline; ${d.laterHint ?? '`outpost sync` will finish it'}`);
        this.leftWarned.add(rel);
        this.unsynced.add(rel);
        return;
      }
      const verdict = err instanceof ApiError ? classify(err) : undefined;
      if (err instanceof FileChanged || verdict === 'resend' || (err as NodeJS.ErrnoException).code === 'ENOENT') {
        // Rewritten during the upload: that version is discarded; try again once it settles, or
        // at once when the run is ending (a stability timer would not be waited for).
        if (d.giveUpAt() === Infinity && !d.closing()) d.retouch(rel);
        else if (Date.now() < d.giveUpAt()) this.queued.set(rel, null);
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
        d.log.warn(message);
      }
    }
  }

  /** A 4xx that asking again cannot fix: reported on the run, not retried until the file changes. */
  private refuse(rel: string, artifactPath: string, st: FileStat, err: ApiError): void {
    const message = `${artifactPath} refused by the service: ${err.message}`;
    this.d.log.error(message);
    this.d.recordEvent({ kind: 'file-refused', path: artifactPath, message });
    this.d.book.set(rel, { ...st, state: 'refused' });
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
