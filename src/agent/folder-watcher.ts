/**
 * Watches a folder tree with one fs.watch per folder (inotify on Linux), and reports by name
 * whatever changed in it. Written here rather than taken from chokidar, which re-lists a folder
 * with an lstat per entry on every event in it: one log appended ten times a second beside
 * 10,000 samples kept it busy for more than a core (23.6 s of CPU in 20 s, scripts/bench
 * many-files-hot-folder). chokidar also watches every file on its own (27 MB of heap for 10,000),
 * where the folder's watch already names each file that changes.
 */
import fs from 'fs';
import path from 'path';

export interface FolderEvents {
  /**
   * Something at `abs` was created, written, renamed or deleted. `st` is its lstat, taken just now;
   * undefined when nothing is there any more. Folders are not reported: they are watched.
   */
  changed(abs: string, st: fs.Stats | undefined): void;
  /** A watched folder went away (deleted, or moved out): what was under it went with it. */
  folderGone(abs: string): void;
  /** A folder could not be watched (the inotify watch limit, say): its changes are left to scans. */
  unwatchable(abs: string, err: Error): void;
}

// While the root itself is missing (removed, to be made again), it is looked for this often.
const ROOT_POLL_MS = 1000;

export class FolderWatcher {
  private readonly watches = new Map<string, fs.FSWatcher>();
  private rootPoll: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly root: string,
    private readonly on: FolderEvents,
  ) {}

  /** Watches the root and every folder under it. What is already there is not reported. */
  start(): void {
    this.add(this.root, false);
  }

  close(): void {
    this.closed = true;
    if (this.rootPoll) clearInterval(this.rootPoll);
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  /** Folders watched now. */
  get size(): number {
    return this.watches.size;
  }

  /**
   * Watches `dir` and the folders under it. Watched first, listed second: a file made in between
   * is reported twice, never missed. With `report`, every file found is reported (a new folder's
   * files may have been written before its watch existed).
   */
  private add(dir: string, report: boolean): void {
    if (this.closed || this.watches.has(dir)) return;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(dir, { persistent: true }, (type, name) => this.event(dir, type, name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (dir === this.root && code === 'ENOENT') this.pollForRoot();
      else if (code !== 'ENOENT' && code !== 'ENOTDIR') this.on.unwatchable(dir, err as Error);
      return;
    }
    // The folder went away, or cannot be read any more.
    watcher.on('error', () => this.rewatch(dir));
    this.watches.set(dir, watcher);
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
      else if (report) this.on.changed(abs, lstatOrUndefined(abs));
    }
  }

  private event(dir: string, type: string, name: string | Buffer | null): void {
    if (this.closed) return;
    // No name given (some platforms, or an overflow): look at the whole folder again.
    if (name === null) return this.list(dir, true);
    const base = String(name);
    // Linux names the watched folder itself in its own events: removed or moved (perhaps made
    // again at once, which the parent's event cannot tell), or, rarely, a child of the same name.
    if (type === 'rename' && base === path.basename(dir)) return this.rewatch(dir);
    const abs = path.join(dir, base);
    const st = lstatOrUndefined(abs);
    if (this.watches.has(abs) && !st?.isDirectory()) {
      this.drop(abs);
      this.on.folderGone(abs);
    }
    if (st?.isDirectory()) return this.add(abs, true);
    this.on.changed(abs, st);
  }

  /** The folder at `dir` may not be the one watched: forget it, and watch (and report) what is there now. */
  private rewatch(dir: string): void {
    if (this.closed) return;
    this.drop(dir);
    this.on.folderGone(dir);
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
  }

  /** The root was removed: watched again, and all in it reported, once it is back. */
  private pollForRoot(): void {
    if (this.rootPoll || this.closed) return;
    this.rootPoll = setInterval(() => {
      if (!fs.existsSync(this.root)) return;
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
