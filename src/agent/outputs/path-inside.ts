/** Whether a resolved path lies in (or is) a resolved root folder. */
import path from 'path';

export function isInside(real: string | null, realRoot: string): boolean {
  if (real === null) return false;
  if (real === realRoot) return true;
  return real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep);
}
