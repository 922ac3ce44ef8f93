/** Several PgStores on one database, as replicas are: every guarantee holds whichever of them a request reaches. */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { FolderBlobStore } from '../../src/store/folder-blob-store';
import { PG_SCHEMA_VERSION } from '../../src/store/pg-migrations';
import { PgStore } from '../../src/store/pg-store';
import { checked, lines, pgCluster, upload } from './store-fixture';

describe('replicas on one PostgreSQL database', () => {
  let dir: string;
  let url: string;
  let replicas: PgStore[];
  let n = 0;

  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-replicas-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    url = await (await pgCluster()).createDatabase(`replicas_${process.pid}_${++n}`);
    const blobs = () => new FolderBlobStore(path.join(dir, `blobs-${n}`));
    // Started together: the migration runs once, under its lock, and none of them fails.
    replicas = await Promise.all([1, 2, 3].map(() => PgStore.open(url, blobs())));
    await replicas[0].upsertRun('r1', { experiment: 'e' });
  });
  afterEach(() => Promise.all(replicas.map((r) => r.close())));

  test('replicas started together migrate once', async () => {
    expect((await pgCluster()).sql('SELECT version FROM outpost_schema', `replicas_${process.pid}_${n}`).trim()).toBe(String(PG_SCHEMA_VERSION));
  });

  test('a batch and its retries reaching every replica at once are stored exactly once, in order', async () => {
    const values: number[] = [];
    for (let from = 1; from <= 2_000; from += 200) {
      const batch = checked({ stream: 's', lines: lines(from, from + 199) });
      // The agent's retry reaches B and C while A is still committing: the stream's lock makes them wait, then skip.
      const acks = await Promise.all(replicas.map((r) => r.ingestMetrics('r1', batch)));
      expect(acks.reduce((sum, a) => sum + a.stored, 0)).toBe(200);
      expect(acks.every((a) => a.ackedSeq === from + 199)).toBe(true);
      for (let s = from; s <= from + 199; s++) values.push(s);
    }
    const h = (await replicas[2].metricHistory('r1', 'loss', {}))!;
    expect(h.points.map((p) => p.value)).toEqual(values);
    expect(h.points.map((p) => p.index)).toEqual(values.map((_, i) => i));
  });

  test('two streams appending to one series at once get indexes without gaps or repeats', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => replicas[i % 3].ingestMetrics('r1', checked({ stream: `s${i}`, lines: lines(1, 300) }))),
    );
    const h = (await replicas[1].metricHistory('r1', 'loss', {}))!;
    expect(h.count).toBe(3_000);
    expect(h.points.map((p) => p.index)).toEqual([...Array(3_000).keys()]);
  });

  test('artifact versions written through every replica at once are numbered without gaps or duplicates', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => replicas[i % 3].putArtifact('r1', 'outputs/log.txt', upload(`version ${i}`))));
    expect(results.map((r) => r.versions).sort((a, b) => a - b)).toEqual([...Array(12).keys()].map((i) => i + 1));
    expect((await replicas[0].getArtifact('r1', 'outputs/log.txt'))!.version).toBe(12);
  });

  test('asset versions promoted through every replica at once are numbered without gaps or duplicates', async () => {
    await replicas[0].putArtifact('r1', 'outputs/model.bin', upload('weights'));
    const made = await Promise.all(Array.from({ length: 9 }, (_, i) => replicas[i % 3].promote({ run: 'r1', prefix: 'outputs', name: 'net' })));
    expect(made.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('params from two streams at once: the first value is kept, the other line is rejected', async () => {
    const acks = await Promise.all(
      replicas.map((r, i) => r.ingestMetrics('r1', checked({ stream: `p${i}`, lines: [{ seq: 1, time: 1, params: { lr: i / 10 } }] as never }))),
    );
    expect(acks.filter((a) => a.rejected.length === 0)).toHaveLength(1);
    const run = (await replicas[0].getRun('r1'))!;
    expect(run.rejectedLines).toBe(2);
    expect(acks.find((a) => a.rejected.length === 0)!.stream).toBe(`p${[0, 1, 2].find((i) => run.params.lr === i / 10)}`);
  });

  test('a database made by a newer outpost is refused, naming the versions', async () => {
    const c = await pgCluster();
    c.sql(`UPDATE outpost_schema SET version = ${PG_SCHEMA_VERSION + 1}`, `replicas_${process.pid}_${n}`);
    await expect(PgStore.open(url, new FolderBlobStore(path.join(dir, 'x')))).rejects.toThrow(/newer than this outpost knows/);
  });
});
