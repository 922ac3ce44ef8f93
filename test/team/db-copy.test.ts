/** `outpost db copy --from sqlite:... --to postgresql://...`: a store moved into PostgreSQL answers as it did, and agents resume where they stopped. */
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import { FolderBlobStore } from '../../src/store/folder-blob-store';
import { PgStore } from '../../src/store/pg-store';
import type { Store } from '../../src/store/store';
import { outpost } from '../agent/agent-process';
import { checked, lines, openTempStore, pgCluster, type TempStore, upload } from '../store/store-fixture';

let source: TempStore;
const big = crypto.randomBytes(150_000);

beforeAll(async () => {
  source = await openTempStore();
  const s = source.store;
  await s.upsertRun('r1', { experiment: 'mnist', name: 'baseline', status: 'completed', exitCode: 0, command: 'python train.py', gitDirty: true, note: 'first' });
  await s.upsertRun('r2', { experiment: 'cifar', gitDirty: false });
  await s.upsertRun('r3', { experiment: 'mnist' });
  await s.ingestMetrics(
    'r1',
    checked({
      stream: 'spool',
      file: 'metrics.jsonl',
      lines: [
        { seq: 1, time: 1, params: { lr: 0.01, opt: 'adam\ttab', nested: [1, 2] } },
        { seq: 2, time: 1, tags: { team: 'vision' } },
        { seq: 3, time: 1.5, step: 1, metrics: { label: 'line\nbreak \\ back', flag: true, hist: [1, 2, 3], int: 7, f: 0.1 } },
        { seq: 4, time: 2, error: 'not valid JSON' },
        ...lines(5, 3_000, 'loss', (k) => Math.sin(k / 50)),
      ] as never,
    }),
  );
  await s.ingestMetrics('r2', checked({ stream: 'spool', lines: lines(1, 10) }));
  await s.putArtifact('r1', 'outputs/small.txt', upload('kept in the database'));
  await s.putArtifact('r1', 'outputs/model.bin', upload(big));
  await s.putArtifact('r1', 'outputs/small.txt', upload('second version'));
  await s.promote({ run: 'r1', prefix: 'outputs', name: 'net' });
  await s.recordEvent('r1', { kind: 'warning', path: 'outputs/x', message: 'refused' });
  await s.deleteRun('r3');
});
afterAll(() => source.cleanup());

async function snapshot(store: Store) {
  const runs = [...(await store.listRuns()), ...(await store.listRuns({ deleted: true }))];
  const out: Record<string, unknown> = { runs, experiments: await store.listExperiments(), assets: await store.listAssets(), net: await store.getAsset('net') };
  for (const r of runs) {
    out[`run ${r.id}`] = await store.getRun(r.id);
    for (const name of Object.keys((await store.getRun(r.id))!.metrics)) {
      out[`${r.id} ${name}`] = await store.metricHistory(r.id, name, {});
      out[`${r.id} ${name} downsampled`] = await store.metricHistory(r.id, name, { maxPoints: 100 });
    }
  }
  return out;
}

const read = async (store: Store, sha256: string) => {
  const chunks: Buffer[] = [];
  for await (const c of await store.openBlob(sha256)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

test('the copy answers every query as the SQLite store did, serves the same bytes, and takes the agents back where they stopped', async () => {
  const url = await (await pgCluster()).createDatabase(`copy_${process.pid}`);
  const r = outpost(['db', 'copy', '--from', `sqlite:${path.join(source.dir, 'outpost.db')}`, '--to', url]);
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  expect(r.stdout).toMatch(/^points: 3,011 rows$/m);
  expect(r.stdout).toMatch(/^copied [\d,]+ rows into the PostgreSQL database postgresql:/m);

  // Served with the same blob folder.
  const copy = await PgStore.open(url, source.blobs);
  try {
    expect(await snapshot(copy)).toEqual(await snapshot(source.store));
    const model = (await copy.getArtifact('r1', 'outputs/model.bin'))!;
    expect((await read(copy, model.sha256)).equals(big)).toBe(true);
    expect((await read(copy, (await copy.getArtifact('r1', 'outputs/small.txt', 1))!.sha256)).toString()).toBe('kept in the database');
    // An agent resending what it sent before is skipped; the next lines follow on.
    expect(await copy.ingestMetrics('r2', checked({ stream: 'spool', lines: lines(5, 12) }))).toMatchObject({ ackedSeq: 12, stored: 2, skipped: 6 });
    // New rows get new ids after the copied ones.
    await copy.upsertRun('r4', { experiment: 'new' });
    await copy.ingestMetrics('r4', checked({ stream: 'spool', lines: lines(1, 3) }));
    expect((await copy.getRun('r4'))!.metrics.loss.count).toBe(3);
    expect(await copy.putArtifact('r1', 'outputs/small.txt', upload('third'))).toMatchObject({ versions: 3 });
    expect(await copy.promote({ run: 'r1', prefix: 'outputs', name: 'net' })).toMatchObject({ version: 2 });
  } finally {
    await copy.close().catch(() => undefined);
  }

  // Once the database holds runs, a copy into it is refused, and changes nothing.
  const again = outpost(['db', 'copy', '--from', `sqlite:${path.join(source.dir, 'outpost.db')}`, '--to', url]);
  expect(again.status).toBe(2);
  expect(again.stderr).toMatch(/holds 4 runs already: outpost db copy copies into an empty database only/);
});

test('with --from-blobs and --to-blobs the blobs are copied too, each checked against its hash', async () => {
  const url = await (await pgCluster()).createDatabase(`copy_blobs_${process.pid}`);
  const target = path.join(source.dir, 'new-blobs');
  const r = outpost(['db', 'copy', '--from', `sqlite:${path.join(source.dir, 'outpost.db')}`, '--to', url, '--from-blobs', path.join(source.dir, 'blobs'), '--to-blobs', target]);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/and 1 blobs into /);
  const blobs = new FolderBlobStore(target);
  await blobs.init({ sweep: false });
  const copy = await PgStore.open(url, blobs);
  try {
    expect((await read(copy, (await copy.getArtifact('r1', 'outputs/model.bin'))!.sha256)).equals(big)).toBe(true);
  } finally {
    await copy.close();
  }
  expect(fs.existsSync(target)).toBe(true);
});

test.each([
  [['--from', 'postgresql://x@127.0.0.1/db', '--to', 'postgresql://y@127.0.0.1/db'], /--from postgresql:\/\/x@127\.0\.0\.1\/db: give the SQLite store as sqlite:PATH/],
  [['--from', 'sqlite:/nonexistent/outpost.db', '--to', 'sqlite:/tmp/x.db'], /--to sqlite:\/tmp\/x\.db: give the PostgreSQL database as postgresql:/],
])('wrong locations are said as such: %j', (args, message) => {
  const r = outpost(['db', 'copy', ...args]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
});
