/** As findProjectDir in src/service/local-service.ts, without loading the service into the client. */
import fs from 'fs';
import path from 'path';
import { OUTPOST_DIR } from '../protocol';

/** The nearest folder at or above `from` holding .outpost/, else `from` itself. */
export function findProjectDir(from: string): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, OUTPOST_DIR))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(from);
    dir = parent;
  }
}
