/**
 * Finds what changes under a folder: a watch on each folder for prompt events, and full listings
 * for the first scan and the periodic reconciliation (watch events do get lost on busy folders).
 * Symlinks leading out of the folder are never followed.
 */
import fs, { promises as fsp } from 'fs';
import path from 'path';
import fg from 'fast-glob';
import type { FileStat } from '../../run-folder';
import { FolderWatcher } from './folder-watcher';
import { isInside } from './path-inside';
import { lstatOrNull, realpathOrNull, statOrNull } from './quiet-fs';
import { UPLOAD_TEMP_PREFIX } from '../../run-folder';

/** Half-written temp files of the loggers' atomic upload(): they become real files by rename. */
function isTempFile(p: string): boolean {
  return path.basename(p).startsWith(UPLOAD_TEMP_PREFIX);
}

const SCAN_SLICE = 1000;

export interface ScannedFile extends FileStat {
  rel: string;
}

export interface WatchHandlers {
  /** `st`: the file's stat when one was just taken for a regular file (saves a stat). */
  touched(rel: string, st?: FileStat): void;
  removed(rel: string): void;
  /** A folder went away (removed, or moved out): what was under it went with it, with no event each. */
  removedDir(rel: string): void;
  escaped(rel: string, target: string): void;
  /** The root itself leads where nothing may be read (`outputs -> /etc`): nothing under it is read. */
  rootRefused(target: string, allowedIn: string): void;
  /** A folder that cannot be watched: its changes are found only by scans. */
  unwatchable(rel: string, err: Error): void;
}

export class OutputsWatcher {
  private folders: FolderWatcher | null = null;

  readonly root: string;
  /** Watches put right by the last scan (folders the events had missed, or gone unnoticed). */
  private repaired = false;
  /** Where the root may lead, resolved; null: anywhere. */
  private readonly allowedReal: string | null;
  /** The refused target last reported, so each is said once. */
  private refusedTarget: string | null = null;

  /**
   * `allowedIn`: the folder the root must resolve inside (or be), however it is linked: the
   * project folder for the default outputs/, the folder itself when it was named explicitly.
   */
  constructor(
    root: string,
    private readonly handlers: WatchHandlers,
    readonly allowedIn: string | null = null,
  ) {
    this.root = path.resolve(root);
    this.allowedReal = allowedIn === null ? null : (realpathOrNull(allowedIn) ?? path.resolve(allowedIn));
  }

  async start(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true });
    const rel = (p: string) => path.relative(this.root, p).split(path.sep).join('/');
    this.folders = new FolderWatcher(this.root, {
      changed: (abs, st) => {
        const r = rel(abs);
        if (isTempFile(r)) return;
        if (!st) this.handlers.removed(r);
        else if (st.isFile()) this.handlers.touched(r, { size: st.size, mtimeMs: st.mtimeMs });
        else if (st.isSymbolicLink()) this.handlers.touched(r); // statInside decides where it leads
      },
      folderGone: (abs) => this.handlers.removedDir(rel(abs)),
      unwatchable: (abs, err) => this.handlers.unwatchable(rel(abs), err),
    }, (real) => this.allowed(real));
    this.folders.start();
  }

  /**
   * The root with every symlink resolved, as it is now (a link may be re-pointed, or replaced by a
   * folder: never a stale answer): nothing read may lie outside it. Null when the root is missing,
   * or leads where nothing may be read.
   */
  get realRoot(): string | null {
    const real = realpathOrNull(this.root);
    return real !== null && this.allowed(real) ? real : null;
  }

  private allowed(real: string): boolean {
    if (this.allowedReal === null || isInside(real, this.allowedReal)) {
      this.refusedTarget = null;
      return true;
    }
    if (this.refusedTarget !== real) {
      this.refusedTarget = real;
      this.handlers.rootRefused(real, this.allowedReal);
    }
    return false;
  }

  /** Whether the last scan found watches to put right; reading it clears it. */
  takeRepaired(): boolean {
    const r = this.repaired;
    this.repaired = false;
    return r;
  }

  /** Some folder could not be watched (still): only scans see changes there. */
  get blind(): boolean {
    return (this.folders?.unwatched ?? 0) > 0;
  }

  async stop(): Promise<void> {
    // Closed, not dropped: its real root still serves the uploads of the final sync.
    this.folders?.close();
  }

  /**
   * Every regular file under the root, with size and mtime; symlinks only when they stay inside.
   * Names come from Node's own recursive readdir (cheaper than fast-glob: docs/benchmarks.md);
   * stats are taken synchronously in slices (far cheaper in CPU than async stats, which matters
   * for an agent that rescans a folder of 10,000 files while idle).
   */
  async scan(): Promise<ScannedFile[]> {
    const base = this.root;
    if (this.realRoot === null) {
      this.folders?.matchWatches(new Map()); // drops the watches of a root that now leads elsewhere
      return [];
    }
    const entries = this.list(base);
    const out: ScannedFile[] = [];
    const folders = new Map<string, fs.Stats>();
    const rootSt = statOrNull(base);
    if (rootSt?.isDirectory()) folders.set(base, rootSt);
    for (let i = 0; i < entries.length; i++) {
      const { rel, kind } = entries[i];
      if (kind === 'dir') {
        const st = lstatOrNull(path.join(base, rel));
        if (st?.isDirectory()) folders.set(path.join(base, rel), st);
      } else if (isTempFile(rel)) {
        continue;
      } else if (kind === 'file') {
        const st = lstatOrNull(path.join(base, rel));
        if (st?.isFile()) out.push({ rel, size: st.size, mtimeMs: st.mtimeMs });
      } else {
        const resolved = this.statInside(rel);
        if (resolved) out.push({ rel, ...resolved });
      }
      if (i % SCAN_SLICE === SCAN_SLICE - 1) await new Promise((r) => setImmediate(r)); // let metrics flow
    }
    // Events get lost (the kernel's queue overflows): the watches are matched with what is there.
    if (this.folders?.matchWatches(folders)) this.repaired = true;
    return out;
  }

  /** Files, symlinks and folders under the root, '/'-separated. */
  private list(base: string): { rel: string; kind: 'file' | 'link' | 'dir' }[] {
    const out: { rel: string; kind: 'file' | 'link' | 'dir' }[] = [];
    const kindOf = (d: { isFile(): boolean; isSymbolicLink(): boolean; isDirectory(): boolean }) => (d.isFile() ? 'file' : d.isSymbolicLink() ? 'link' : d.isDirectory() ? 'dir' : null);
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(base, { recursive: true, withFileTypes: true });
    } catch {
      // A folder removed or unreadable mid-listing fails the whole call: fast-glob skips it instead.
      for (const e of fg.sync('**/*', { cwd: base, dot: true, onlyFiles: false, followSymbolicLinks: false, objectMode: true, suppressErrors: true })) {
        const kind = kindOf(e.dirent);
        if (kind) out.push({ rel: e.path, kind });
      }
      return out;
    }
    const prefix = base.length + 1;
    for (const d of dirents) {
      const kind = kindOf(d);
      if (!kind) continue;
      // parentPath since Node 20.12; path before it.
      const parent = (d.parentPath ?? d.path).slice(prefix);
      const rel = parent ? `${parent}/${d.name}` : d.name;
      out.push({ rel: path.sep === '/' ? rel : rel.split(path.sep).join('/'), kind });
    }
    return out;
  }

  /**
   * Stat of `rel` if it is a regular file inside the root (following links that stay inside).
   * Synchronous, like scan(): a stat is far cheaper than a thread-pool round trip.
   */
  statInside(rel: string): FileStat | null {
    const abs = path.join(this.root, rel);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(abs);
      if (st.isSymbolicLink()) {
        const root = this.realRoot;
        if (root === null) return null;
        const target = fs.realpathSync(abs);
        if (!isInside(target, root)) {
          this.handlers.escaped(rel, target);
          return null;
        }
        st = fs.statSync(target);
      }
    } catch {
      return null;
    }
    return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : null;
  }
}
