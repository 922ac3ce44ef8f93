/** A full disk said as such: ENOSPC or EDQUOT from the file system, SQLITE_FULL from SQLite, disk_full from PostgreSQL. */
import { E, OutpostError } from '../protocol';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']); // 53100: PostgreSQL's disk_full

/** OUTPOST_ERR_STORAGE_FULL naming the cause and `where`, or undefined for any other error. */
export function storageFull(err: unknown, where: string): OutpostError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !FULL_CODES.has(code)) return undefined;
  return E.storageFull(code, where);
}

/** Runs `write`; a full disk comes out as OUTPOST_ERR_STORAGE_FULL, anything else as it was. */
export function whileWriting<T>(where: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw storageFull(err, where) ?? err;
  }
}
