/** Fresh stores for the store tests, each in temp folders removed afterwards. */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Readable } from 'stream';
import type { MetricBatch, MetricValue, WireLine } from '../../src/protocol';
import type { ArtifactUpload } from '../../src/store/artifact-upload';
import { hashBytes } from '../../src/store/artifact-upload';
import { FolderBlobStore } from '../../src/store/folder-blob-store';
import { PgStore } from '../../src/store/pg-store';
import { DB_FILE, SqliteStore } from '../../src/store/sqlite-store';
import type { CheckedBatch, Store } from '../../src/store/store';
import { type PgCluster, startPgCluster } from '../../scripts/pg/cluster';

export interface TempStore {
  store: Store;
  blobs: FolderBlobStore;
  dir: string;
  cleanup(): Promise<void>;
}

export async function openTempStore(makeBlobs = (root: string) => new FolderBlobStore(root)): Promise<TempStore & { store: SqliteStore }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-store-'));
  const blobs = makeBlobs(path.join(dir, 'blobs'));
  await blobs.init({ sweep: false });
  const store = await SqliteStore.open(path.join(dir, DB_FILE), blobs);
  return {
    store,
    blobs,
    dir,
    async cleanup() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type StoreKind = 'sqlite' | 'postgresql';

/** Every store the suite runs against: `describe.each(STORE_KINDS)`. */
export const STORE_KINDS: StoreKind[] = ['sqlite', 'postgresql'];

let cluster: Promise<PgCluster> | undefined;
let databases = 0;

/** One PostgreSQL cluster per test file, started on first use, stopped when the file's tests are done. */
export function pgCluster(): Promise<PgCluster> {
  cluster ??= startPgCluster();
  return cluster;
}
// Registered as this file is imported (jest takes hooks only while it collects tests).
afterAll(async () => (await cluster)?.stop());

/** A fresh store of `kind`: SQLite in a temp folder, or a new database of this file's PostgreSQL cluster; blobs in a temp folder. */
export async function openStoreOf(kind: StoreKind, makeBlobs = (root: string) => new FolderBlobStore(root)): Promise<TempStore> {
  if (kind === 'sqlite') return openTempStore(makeBlobs);
  const c = await pgCluster();
  const url = await c.createDatabase(`store_${process.pid}_${++databases}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-store-'));
  const blobs = makeBlobs(path.join(dir, 'blobs'));
  await blobs.init({ sweep: false });
  const store = await PgStore.open(url, blobs);
  return {
    store,
    blobs,
    dir,
    async cleanup() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An upload of `content` as the service hands it over: declared size, and no declared hash to check. */
export function upload(content: Buffer | string, check: (b: { sha256: string; size: number }) => void = () => undefined): ArtifactUpload {
  const bytes = Buffer.from(content);
  return { body: Readable.from([bytes]), size: bytes.length, tooLarge: () => new Error('too large'), verify: check };
}

export const sha256Of = (content: Buffer | string) => hashBytes(Buffer.from(content)).sha256;

/** Lines seq from..to, each one metric `name` whose value is f(seq). */
export function lines(from: number, to: number, name = 'loss', f: (seq: number) => MetricValue = (s) => s): WireLine[] {
  const out: WireLine[] = [];
  for (let seq = from; seq <= to; seq++) out.push({ seq, time: 1_700_000_000 + seq, step: seq, metrics: { [name]: f(seq) } });
  return out;
}

/**
 * A batch as the service hands it to the store once checked (src/service/json-batch.ts checks
 * the JSON form): the store's tests give it well-formed batches and test what it stores.
 */
export function checked(batch: MetricBatch): CheckedBatch {
  const first = batch.lines[0]?.seq ?? 1;
  const last = batch.lines[batch.lines.length - 1]?.seq ?? first - 1;
  return { ...batch, firstSeq: first, lastSeq: last } as CheckedBatch;
}
