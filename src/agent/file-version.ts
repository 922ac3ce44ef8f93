/** When two stats show the same version of a file, and when a ctime is old enough to trust. */
import type fs from 'fs';

/** Older than this, a file's ctime cannot share a timestamp tick (jiffies, before Linux 6.13) with a later change. */
export const CTIME_SETTLED_MS = 100;

export function ctimeSettled(st: fs.Stats, now = Date.now()): boolean {
  return st.ctimeMs < now - CTIME_SETTLED_MS;
}

/** The same version of a file: ctime and inode too, which no tool can set back (cp -p restores mtime). */
export function sameVersion(a: fs.Stats, b: fs.Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.dev === b.dev;
}
