/**
 * Watches a folder tree with one fs.watch per folder (inotify on Linux), and reports by name
 * whatever changed in it. Written here rather than taken from chokidar, which re-lists a folder
 * with an lstat per entry on every event in it: one log appended ten times a second beside
 * 10,000 samples kept it busy for more than a core (the hot-folder benchmark). chokidar also
 * watches every file on its own, where the folder's watch already names each file that changes
 * (figures in docs/benchmarks.md).
 *
 * A folder is known by its parent's events, never by its own: libuv shares one inotify watch
 * between the paths of one inode and names a folder's own events after the first of them, and
 * Linux holds back a removed folder's own event while a process still has it as its working
 * folder. So a rename event that names a folder always means "look again": what was watched
 * there is dropped (reported gone) and what is there now is watched and listed afresh. The root,
 * which has no watched parent, is checked by identity (device, inode and birth time: Linux hands
 * a removed folder's inode number to the next one made) on its own events and at every scan,
 * and each scan also matches the watched folders with the folders on disk (events do get lost).
 */
import fs from 'fs';
import path from 'path';
import { isInside } from './path-inside';
import { lstatOrNull, realpathOrNull, statOrNull } from './quiet-fs';

export interface FolderEvents {
  /**
   * Something at `abs` was created, written, renamed or deleted. `st` is its lstat, taken just now;
   * null when nothing is there any more. Folders are not reported: they are watched.
   */
  changed(abs: string, st: fs.Stats | null): void;
  /** A watched folder went away or was replaced: what was known under it may be gone. */
  folderGone(abs: string): void;
  /** A folder could not be watched (the inotify watch limit, say): its changes are left to scans. */
  unwatchable(abs: string, err: Error): void;
}

// While the root itself is missing, it is looked for this often.
const ROOT_POLL_MS = 1000;

/** Which folder a path is: a removed folder's inode number goes to the next one made, its birth time does not. */
function identity(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.birthtimeMs}`;
}

export class FolderWatcher {
  private readonly watches = new Map<string, { watcher: fs.FSWatcher; id: string }>();
  /** Folders whose watch failed: tried again at each matchWatches(). */
  private readonly failed = new Set<string>();
  private rootPoll: NodeJS.Timeout | null = null;
  private realRootPath = '';
  private closed = false;

  constructor(
    readonly root: string,
    private readonly on: FolderEvents,
    /** Whether the root may be watched where it leads now (a link to /etc may not): else it is treated as missing. */
    private readonly rootAllowed: (realRoot: string) => boolean = () => true,
  ) {}

  /** The root with every symlink resolved (re-resolved at each matchWatches: a link may be re-pointed). */
  get realRoot(): string {
    return this.realRootPath;
  }

  /** Watches the root and every folder under it. What is already there is not reported. */
  start(): void {
    this.realRootPath = realpathOrNull(this.root) ?? path.resolve(this.root);
    this.add(this.root, false);
  }

  close(): void {
    this.closed = true;
    if (this.rootPoll) clearInterval(this.rootPoll);
    for (const { watcher } of this.watches.values()) watcher.close();
    this.watches.clear();
    this.failed.clear();
  }

  /** Folders that could not be watched, still. */
  get unwatched(): number {
    return this.failed.size;
  }

  /**
   * Matches the watches with the folders on disk, as a full scan found them (path -> lstat; the
   * root included): watches on folders gone or replaced are dropped, folders not watched are
   * watched and listed, failed ones tried again. True if anything had to be put right.
   */
  matchWatches(folders: Map<string, fs.Stats>): boolean {
    if (this.closed) return false;
    let repaired = false;
    const real = realpathOrNull(this.root);
    if (real !== null && real !== this.realRootPath) {
      // outputs/ is a link, pointed somewhere else since (or back to a folder): that is outputs/ now.
      this.realRootPath = real;
      this.rewatch(this.root);
      repaired = true;
    }
    if (real !== null && !this.rootAllowed(real)) {
      // Leads where nothing may be read: nothing is watched until it leads somewhere allowed.
      if (this.watches.size > 0) this.drop(this.root);
      this.pollForRoot();
      return repaired;
    }
    for (const [dir, w] of [...this.watches]) {
      if (!this.watches.has(dir)) continue; // dropped with a parent just now
      const st = folders.get(dir);
      if (st && identity(st) === w.id) continue;
      this.rewatch(dir);
      repaired = true;
    }
    this.failed.clear();
    for (const dir of folders.keys()) {
      if (this.watches.has(dir)) continue;
      this.add(dir, true);
      repaired = true;
    }
    return repaired;
  }

  /**
   * Watches `dir` and the folders under it. Watched first, listed second: a file made in between
   * is reported twice, never missed. With `report`, every file found is reported (a new folder's
   * files may have been written before its watch existed).
   */
  private add(dir: string, report: boolean): void {
    if (this.closed || this.watches.has(dir)) return;
    const st = this.folderStat(dir);
    // Never a folder that leads out of the root: a parent swapped for a symlink since the event.
    // Nor the root itself where it may not lead.
    const real = realpathOrNull(dir);
    if (!st?.isDirectory() || !isInside(real, this.realRootPath) || (dir === this.root && !this.rootAllowed(real!))) {
      if (dir === this.root) this.pollForRoot();
      return;
    }
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
    this.watches.set(dir, { watcher, id: identity(st) });
    this.list(dir, report);
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
      else if (report) this.on.changed(abs, lstatOrNull(abs));
    }
  }

  private event(dir: string, type: string, name: string | Buffer | null): void {
    if (this.closed) return;
    // No name given (some platforms): look at the whole folder again.
    if (name === null) return this.list(dir, true);
    const base = String(name);
    // The root's own removal (or a child of the same name): told apart by the root's identity.
    if (dir === this.root && type === 'rename' && base === path.basename(dir)) {
      const st = this.folderStat(dir);
      if (!st || identity(st) !== this.watches.get(dir)?.id) return this.rewatch(dir);
    }
    const abs = path.join(dir, base);
    const st = lstatOrNull(abs);
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
      this.on.changed(dir, null); // a file of this name, if there was one, is gone
    }
    this.add(dir, true);
  }

  /** The root may be a link to a folder (followed); any other folder is taken as it is. */
  private folderStat(dir: string): fs.Stats | null {
    return dir === this.root ? statOrNull(dir) : lstatOrNull(dir);
  }

  /** Stops watching `dir` and everything under it. */
  private drop(dir: string): void {
    const inside = dir + path.sep;
    for (const [p, w] of this.watches) {
      if (p === dir || p.startsWith(inside)) {
        w.watcher.close();
        this.watches.delete(p);
      }
    }
    for (const p of this.failed) if (p === dir || p.startsWith(inside)) this.failed.delete(p);
  }

  /** The root is missing: looked for until it is back, then watched and listed. */
  private pollForRoot(): void {
    if (this.rootPoll || this.closed) return;
    this.rootPoll = setInterval(() => {
      if (!this.folderStat(this.root)?.isDirectory()) return;
      const real = realpathOrNull(this.root);
      if (real === null || !this.rootAllowed(real)) return;
      clearInterval(this.rootPoll!);
      this.rootPoll = null;
      this.realRootPath = real;
      this.add(this.root, true);
    }, ROOT_POLL_MS);
    this.rootPoll.unref();
  }
}
