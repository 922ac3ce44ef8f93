/**
 * The Store and its BlobStore, built from what `outpost server --db URL --blobs URL` (or
 * OUTPOST_DB, OUTPOST_BLOBS, service.db, service.blobs) says. Defaults: the SQLite file
 * <data>/outpost.db and the blob folder <data>/blobs.
 */
import path from 'path';
import { settings } from '../../config';
import { E } from '../protocol';
import type { BlobStore } from './blob-store';
import { FolderBlobStore } from './folder-blob-store';
import { DB_FILE, SqliteStore } from './sqlite-store';
import type { Store } from './store';

export const BLOB_DIR = 'blobs';

export interface StoreLocation {
  /** The data folder: where the defaults live. */
  dataDir: string;
  /** sqlite:PATH, postgresql://... or postgres://...; empty or absent: sqlite:<data>/outpost.db. */
  db?: string;
  /** A folder, or s3://bucket/prefix; empty or absent: <data>/blobs. */
  blobs?: string;
}

export type DbTarget = { kind: 'sqlite'; file: string } | { kind: 'postgresql'; url: string };
export type BlobTarget = { kind: 'folder'; root: string } | { kind: 's3'; bucket: string; prefix: string };

export function parseDbUrl(db: string | undefined, dataDir: string): DbTarget {
  if (!db) return { kind: 'sqlite', file: path.join(dataDir, DB_FILE) };
  if (/^postgres(ql)?:\/\//.test(db)) return { kind: 'postgresql', url: db };
  const m = /^sqlite:(.+)$/.exec(db);
  if (m) return { kind: 'sqlite', file: path.resolve(m[1].replace(/^\/\/(?=\/)/, '')) };
  throw E.startup(`--db ${redact(db)}: not a database URL; give sqlite:PATH or postgresql://user:password@host:port/dbname`);
}

export function parseBlobUrl(blobs: string | undefined, dataDir: string): BlobTarget {
  if (!blobs) return { kind: 'folder', root: path.join(dataDir, BLOB_DIR) };
  if (blobs.startsWith('s3://')) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(blobs);
    if (!m) throw E.startup(`--blobs ${blobs}: an S3 location is s3://bucket or s3://bucket/prefix`);
    return { kind: 's3', bucket: m[1], prefix: m[2].replace(/\/+$/, '') };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(blobs)) throw E.startup(`--blobs ${blobs}: not a folder nor s3://bucket/prefix`);
  return { kind: 'folder', root: path.resolve(blobs) };
}

/** A URL as it may be shown: without its password. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** `sweep`: abandoned temp objects removed now and every service.blobTempSweepS (a service does; a one-off command need not). */
export async function openBlobStore(target: BlobTarget, { sweep = true } = {}): Promise<BlobStore> {
  if (target.kind === 'folder') {
    const folder = new FolderBlobStore(target.root);
    await folder.init({ sweep });
    return folder;
  }
  const { S3BlobStore } = await import('./s3-blob-store');
  return S3BlobStore.open(target.bucket, target.prefix, { sweep });
}

export async function openStore(where: StoreLocation): Promise<Store> {
  const dbTarget = parseDbUrl(where.db ?? (settings.service.db || undefined), where.dataDir);
  const blobs = await openBlobStore(parseBlobUrl(where.blobs ?? (settings.service.blobs || undefined), where.dataDir));
  try {
    if (dbTarget.kind === 'sqlite') return await SqliteStore.open(dbTarget.file, blobs);
    const { PgStore } = await import('./pg-store');
    return await PgStore.open(dbTarget.url, blobs, `the PostgreSQL database ${redact(dbTarget.url)}`);
  } catch (err) {
    await blobs.close();
    throw err;
  }
}

/** The default layout of a data folder, typed as SQLite (benchmarks and tests reach its database). */
export async function openSqliteStore(dataDir: string): Promise<SqliteStore> {
  return SqliteStore.open(path.join(dataDir, DB_FILE), await openBlobStore({ kind: 'folder', root: path.join(dataDir, BLOB_DIR) }));
}
