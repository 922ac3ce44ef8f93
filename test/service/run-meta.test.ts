/** Params and tags as spool lines, what people change about a run, and deletion: over HTTP, into the real store. */
import { createHash } from 'crypto';
import fs from 'fs';
import path from 'path';
import type { PurgeResult, RunInfo, RunSummary } from '../../src/protocol';
import { pgCluster, STORE_KINDS } from '../store/store-fixture';
import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest } from './raw-http';

describe.each(STORE_KINDS)('params, tags, notes, deletion (%s)', (kind) => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const api = (method: string, p: string, body?: unknown) => jsonRequest(svc.url, method, `/api/v1${p}`, body);
  const seqs = new Map<string, number>();
  /** Spool lines exactly as written, as the agent sends them; continues the run's stream. */
  const spool = async (run: string, ...lines: string[]) => {
    const first = (seqs.get(run) ?? 0) + 1;
    seqs.set(run, first + lines.length - 1);
    const res = await rawRequest(svc.url, {
      method: 'POST',
      path: `/api/v1/runs/${run}/metrics`,
      headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': 'spool', 'x-outpost-first-seq': String(first), 'x-outpost-file': 'metrics.jsonl' },
      body: lines.map((l) => `${l}\n`).join(''),
    });
    expect(res.status).toBe(200);
    return res.json() as { rejected: { seq: number; reason: string }[] };
  };
  const info = async (run: string) => (await api('GET', `/runs/${run}`)).json() as RunInfo;
  const list = async (q = '') => (await api('GET', `/runs${q}`)).json() as RunSummary[];

  beforeAll(async () => {
    svc = await startTempService(undefined, kind === 'postgresql' ? await (await pgCluster()).createDatabase(`run_meta_${process.pid}`) : undefined);
  });
  afterAll(() => svc.stopAndClean());

  test('a params line is flattened to dotted keys, and a param keeps its first value: the same again is fine, another is a rejected line naming both', async () => {
    await api('PUT', '/runs/p1', { experiment: 'sweep' });
    const ack = await spool(
      'p1',
      '{"params": {"lr": 0.01, "optimizer": "adam", "model": {"depth": 4, "width": 256}, "layers": [64, 32], "amp": true}}',
      '{"params": {"lr": 0.01}}',
      '{"params": {"lr": 0.02, "new": 1}}',
      '{"params": {"deep": ' + '{"a":'.repeat(300) + '1' + '}'.repeat(300) + '}}',
      '{"params": {"x": null}}',
      '{"params": {"y": 1}, "step": 3}',
    );
    expect(ack.rejected.map((r) => r.seq)).toEqual([3, 4, 5, 6]);
    expect(ack.rejected[0].reason).toBe('param "lr" is 0.01 already; this line says 0.02: a param keeps its first value');
    expect(ack.rejected[1].reason).toMatch(/^param name "deep\.a\.a\.a.*is longer than 256 characters$/);
    expect(ack.rejected[2].reason).toMatch(/params\["x"\] must be a number, string, boolean, list or object, got null/);
    expect(ack.rejected[3].reason).toMatch(/a line with "params" holds nothing else but "time" \(found "step"\)/);
    const run = await info('p1');
    expect(run.params).toEqual({ amp: true, layers: [64, 32], lr: 0.01, 'model.depth': 4, 'model.width': 256, optimizer: 'adam' });
    expect(run.rejectedLines).toBe(4);
  });

  test('a tags line sets, overwrites and removes (null) tags; numbers and booleans are kept as their text', async () => {
    await api('PUT', '/runs/t1', { experiment: 'sweep' });
    await spool('t1', '{"tags": {"team": "vision", "baseline": true, "stale": "yes"}}', '{"tags": {"stale": null, "team": "audio", "epoch": 3}}');
    expect((await info('t1')).tags).toEqual({ baseline: 'true', epoch: '3', team: 'audio' });
    const bad = await spool('t1', '{"tags": {"nested": {"a": 1}}}');
    expect(bad.rejected[0].reason).toMatch(/tags\["nested"\] must be a string, number, boolean or null \(to remove it\), got an object/);
  });

  test('PATCH renames, notes and tags a run; a bad tag is a 400 naming it', async () => {
    await api('PUT', '/runs/m1', { experiment: 'sweep', name: 'first' });
    const patched = await api('PATCH', '/runs/m1', { name: 'renamed', note: '# Baseline\nwith **bold**', tags: { owner: 'ada', gone: null } });
    expect(patched.status).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'renamed', note: '# Baseline\nwith **bold**', tags: { owner: 'ada' } });
    await api('PATCH', '/runs/m1', { tags: { owner: null, lead: 'grace' }, note: null });
    expect(await info('m1')).toMatchObject({ name: 'renamed', note: null, tags: { lead: 'grace' } });
    const bad = await api('PATCH', '/runs/m1', { tags: { ['k'.repeat(300)]: 'v' } });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'OUTPOST_ERR_BAD_REQUEST', field: 'body.tags' });
    expect((await api('PATCH', '/runs/nope', { name: 'x' })).status).toBe(404);
  });

  test("a run registered again (the agent's start, outpost sync) keeps the note someone wrote; a first registration's note is taken", async () => {
    await api('PUT', '/runs/n1', { experiment: 'sweep', note: 'from outpost run --note' });
    expect((await info('n1')).note).toBe('from outpost run --note');
    await api('PATCH', '/runs/n1', { note: 'edited on the page' });
    expect((await api('PUT', '/runs/n1', { experiment: 'sweep', note: 'from outpost run --note' })).status).toBe(200);
    expect((await info('n1')).note).toBe('edited on the page');
  });

  test('a deleted run leaves the list (and /runs/last) but stays readable; --deleted lists it; restore brings it back', async () => {
    await api('PUT', '/runs/d1', { experiment: 'trash', startTime: '2030-01-01T00:00:00.000Z' });
    await api('PUT', '/runs/d2', { experiment: 'trash', startTime: '2030-01-02T00:00:00.000Z' });
    const deleted = await api('DELETE', '/runs/d2');
    expect(deleted.json()).toMatchObject({ id: 'd2', deleted: true, deletedTime: expect.any(String) });
    expect((await list('?experiment=trash')).map((r) => r.id)).toEqual(['d1']);
    expect((await api('GET', '/runs/last?experiment=trash')).json().id).toBe('d1');
    expect((await list('?experiment=trash&deleted=true')).map((r) => r.id)).toEqual(['d2']);
    expect((await info('d2')).deleted).toBe(true);
    expect((await api('POST', '/runs/d2/restore')).json()).toMatchObject({ deleted: false, deletedTime: null });
    expect((await list('?experiment=trash')).map((r) => r.id)).toEqual(['d2', 'd1']);
  });

  test('purge removes deleted runs for good, with the blobs nothing else refers to; shared ones stay', async () => {
    const put = async (run: string, p: string, body: Buffer) => {
      const sha = createHash('sha256').update(body).digest('hex');
      const res = await rawRequest(svc.url, { method: 'PUT', path: `/api/v1/runs/${run}/artifacts/${p}`, headers: { 'content-type': 'application/octet-stream', 'x-outpost-sha256': sha }, body });
      expect(res.status).toBeLessThan(300);
      return sha;
    };
    const blobFile = (sha: string) => path.join(svc.dataDir, 'blobs', sha.slice(0, 2), sha);
    for (const id of ['gone', 'keeper']) await api('PUT', `/runs/${id}`, { experiment: 'purge' });
    await spool('gone', '{"name":"loss","value":1}', '{"params":{"lr":1}}', '{"tags":{"a":"b"}}');
    const own = await put('gone', 'outputs/own.bin', Buffer.alloc(200_000, 1)); // only this run's: removed
    const shared = await put('gone', 'outputs/shared.bin', Buffer.alloc(200_000, 2)); // keeper has it too: kept
    await put('keeper', 'outputs/shared.bin', Buffer.alloc(200_000, 2));
    const promoted = await put('gone', 'outputs/model.bin', Buffer.alloc(200_000, 3)); // an asset: kept
    expect((await api('POST', '/assets', { run: 'gone', prefix: 'outputs/model.bin', name: 'model' })).status).toBe(201);
    const small = await put('gone', 'outputs/small.txt', Buffer.from('tiny')); // in the database: removed
    await api('DELETE', '/runs/gone');

    const early = (await api('POST', '/purge', { olderThanSeconds: 3600 })).json() as PurgeResult;
    expect(early).toMatchObject({ runs: [], blobs: 0 });
    const dry = (await api('POST', '/purge', { dryRun: true })).json() as PurgeResult;
    expect(dry).toMatchObject({ runs: ['gone'], blobs: 2, bytes: 200_004, dryRun: true });
    expect(fs.existsSync(blobFile(own))).toBe(true);

    const done = (await api('POST', '/purge', {})).json() as PurgeResult;
    expect(done).toMatchObject({ runs: ['gone'], blobs: 2, bytes: 200_004, dryRun: false });
    expect((await api('GET', '/runs/gone')).status).toBe(404);
    expect(fs.existsSync(blobFile(own))).toBe(false);
    expect(fs.existsSync(blobFile(shared))).toBe(true);
    expect(fs.existsSync(blobFile(promoted))).toBe(true);
    void small;
    const download = await rawRequest(svc.url, { path: '/api/v1/runs/keeper/artifacts/outputs/shared.bin' });
    expect(download.body.equals(Buffer.alloc(200_000, 2))).toBe(true);
    expect((await api('GET', '/assets/model')).json().versions[0].files[0].sha256).toBe(promoted);
    // Nothing is left of the run in any table.
    expect((await list('?deleted=true')).map((r) => r.id)).not.toContain('gone');
  });
});
