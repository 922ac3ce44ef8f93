/**
 * Watches a folder tree with one fs.watch per folder (inotify on Linux), and reports by name
 * whatever changed in it. Written here rather than taken from chokidar, which re-lists a folder
 * with an lstat per entry on every event in it: one log appended ten times a second beside
 * 10,000 samples kept it busy for more than a core (23.6 s of CPU in 20 s; see the hot-folder
 * benchmark). chokidar also watches every file on its own (27 MB of heap for 10,000), where the
 * folder's watch already names each file that changes.
 *
 * A folder is known by its parent's events, never by its own: libuv shares one inotify watch
 * between the paths of one inode and names a folder's own events after the first of them, and
 * Linux holds back a removed folder's own event while a process still has it as its working
 * folder. So a rename event that names a folder always means "look again": what was watched
 * there is dropped (reported gone, which costs a stat per file known under it) and what is
 * there now is watched and listed afresh. The root's parent is watched for the root's name.
 */
import fs from 'fs';
import path from 'path';

export interface FolderEvents {
  /**
   * Something at `abs` was created, written, renamed or deleted. `st` is its lstat, taken just now;
   * undefined when nothing is there any more. Folders are not reported: they are watched.
   */
  changed(abs: string, st: fs.Stats | undefined): void;
  /** A watched folder went away or was replaced: what was known under it may be gone. */
  folderGone(abs: string): void;
  /** A folder could not be watched (the inotify watch limit, say): its changes are left to scans. */
  unwatchable(abs: string, err: Error): void;
}

// While the root itself is missing and its parent cannot be watched, it is looked for this often.
const ROOT_POLL_MS = 1000;

export class FolderWatcher {
  private readonly watches = new Map<string, fs.FSWatcher>();
  /** Folders whose watch failed: tried again by retryFailed(). */
  private readonly failed = new Set<string>();
  private parentWatch: fs.FSWatcher | null = null;
  private rootPoll: NodeJS.Timeout | null = null;
  private realRoot = '';
  private closed = false;

  constructor(
    readonly root: string,
    private readonly on: FolderEvents,
  ) {}

  /** Watches the root and every folder under it. What is already there is not reported. */
  start(): void {
    this.realRoot = realpathOrNull(this.root) ?? path.resolve(this.root);
    const parent = path.dirname(this.root);
    const name = path.basename(this.root);
    if (parent !== this.root) {
      try {
        this.parentWatch = fs.watch(parent, { persistent: false }, (type, n) => {
          if (type === 'rename' && n !== null && String(n) === name) this.rewatch(this.root);
        });
        this.parentWatch.on('error', () => {
          this.parentWatch?.close();
          this.parentWatch = null;
        });
      } catch {
        this.parentWatch = null; // then the root's own events and a poll tell when it goes
      }
    }
    this.add(this.root, false);
  }

  close(): void {
    this.closed = true;
    if (this.rootPoll) clearInterval(this.rootPoll);
    this.parentWatch?.close();
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  /** Folders watched now. */
  get size(): number {
    return this.watches.size;
  }

  /** Folders that could not be watched, still. */
  get unwatched(): number {
    return this.failed.size;
  }

  /** Tries again the folders that could not be watched; each one watched now is listed and reported. */
  retryFailed(): void {
    for (const dir of [...this.failed]) {
      this.failed.delete(dir);
      if (lstatOrUndefined(dir)?.isDirectory()) this.add(dir, true);
    }
  }

  /**
   * Watches `dir` and the folders under it. Watched first, listed second: a file made in between
   * is reported twice, never missed. With `report`, every file found is reported (a new folder's
   * files may have been written before its watch existed).
   */
  private add(dir: string, report: boolean): void {
    if (this.closed || this.watches.has(dir)) return;
    // Never a folder that leads out of the root: a parent swapped for a symlink since the event.
    if (!this.inside(dir)) return;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(dir, { persistent: true }, (type, name) => this.event(dir, type, name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        if (dir === this.root) this.pollForRoot();
      } else {
        this.failed.add(dir);
        this.on.unwatchable(dir, err as Error);
      }
      return;
    }
    // The folder went away, or cannot be read any more.
    watcher.on('error', () => this.rewatch(dir));
    this.watches.set(dir, watcher);
    this.list(dir, report);
  }

  private inside(dir: string): boolean {
    const real = realpathOrNull(dir);
    return real !== null && (real === this.realRoot || real.startsWith(this.realRoot + path.sep));
  }

  private list(dir: string, report: boolean): void {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // gone already: the parent's event follows
    }
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) this.add(abs, report);
      else if (report) this.on.changed(abs, lstatOrUndefined(abs));
    }
  }

  private event(dir: string, type: string, name: string | Buffer | null): void {
    if (this.closed) return;
    // No name given (some platforms): look at the whole folder again.
    if (name === null) return this.list(dir, true);
    const base = String(name);
    // Without a watch on its parent, the root learns of its own removal from its own event.
    if (dir === this.root && !this.parentWatch && type === 'rename' && base === path.basename(dir) && !lstatOrUndefined(dir)) {
      return this.rewatch(dir);
    }
    const abs = path.join(dir, base);
    const st = lstatOrUndefined(abs);
    if (st?.isDirectory()) {
      // A folder made, removed, moved or replaced under this name: whatever was watched here may
      // not be what is here now.
      if (type === 'rename' || !this.watches.has(abs)) this.rewatch(abs);
      return;
    }
    if (this.watches.has(abs)) {
      this.drop(abs);
      this.on.folderGone(abs);
    }
    this.on.changed(abs, st);
  }

  /** Forgets what was watched at `dir`, and watches (and reports) what is there now. */
  private rewatch(dir: string): void {
    if (this.closed) return;
    if (this.watches.has(dir)) {
      this.drop(dir);
      this.on.folderGone(dir);
    } else if (dir !== this.root) {
      this.on.changed(dir, undefined); // a file of this name, if there was one, is gone
    }
    if (lstatOrUndefined(dir)?.isDirectory()) this.add(dir, true);
    else if (dir === this.root) this.pollForRoot();
  }

  /** Stops watching `dir` and everything under it. */
  private drop(dir: string): void {
    const inside = dir + path.sep;
    for (const [p, w] of this.watches) {
      if (p === dir || p.startsWith(inside)) {
        w.close();
        this.watches.delete(p);
      }
    }
    for (const p of this.failed) if (p === dir || p.startsWith(inside)) this.failed.delete(p);
  }

  /** The root is missing and nothing will say when it is back: it is looked for. */
  private pollForRoot(): void {
    if (this.rootPoll || this.closed || this.parentWatch) return;
    this.rootPoll = setInterval(() => {
      if (!lstatOrUndefined(this.root)?.isDirectory()) return;
      clearInterval(this.rootPoll!);
      this.rootPoll = null;
      this.add(this.root, true);
    }, ROOT_POLL_MS);
    this.rootPoll.unref();
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

function realpathOrNull(p: string): string | null {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return null;
  }
}
