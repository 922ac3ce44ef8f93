/** The resumable-upload routes over HTTP: validation, the codes of the catalog, chunks acknowledged once durable. */
import crypto from 'crypto';
import axios from 'axios';
import { startTempService } from './in-process-service';

const MiB = 1024 * 1024;
let service: Awaited<ReturnType<typeof startTempService>>;
let api: ReturnType<typeof axios.create>;
beforeAll(async () => {
  service = await startTempService();
  api = axios.create({ baseURL: `${service.url}/api/v1`, validateStatus: () => true });
  await api.put('/runs/h', { experiment: 'e' });
});
afterAll(() => service.stopAndClean());

const raw = { headers: { 'content-type': 'application/octet-stream' } };

test('open, chunks, state, commit: the version is made once every chunk is there and the sha256 matches', async () => {
  const file = crypto.randomBytes(2 * MiB + 5);
  const sha256 = crypto.createHash('sha256').update(file).digest('hex');
  const opened = await api.post('/runs/h/uploads', { path: 'outputs/m.bin', size: file.length, chunkBytes: MiB, sha256 });
  expect(opened.status).toBe(201);
  expect(opened.data).toMatchObject({ size: file.length, chunkBytes: MiB, received: 0, sha256 });
  const id = opened.data.uploadId;
  expect((await api.put(`/runs/h/uploads/${id}?offset=0`, file.subarray(0, MiB), raw)).data.received).toBe(MiB);
  const early = await api.post(`/runs/h/uploads/${id}/commit`, {});
  expect([early.status, early.data.error.code]).toEqual([409, 'OUTPOST_ERR_UPLOAD_INCOMPLETE']);
  const ahead = await api.put(`/runs/h/uploads/${id}?offset=${2 * MiB}`, file.subarray(2 * MiB), raw);
  expect([ahead.status, ahead.data.error.code, ahead.data.error.field]).toEqual([409, 'OUTPOST_ERR_UPLOAD_OFFSET', 'offset']);
  await api.put(`/runs/h/uploads/${id}?offset=${MiB}`, file.subarray(MiB, 2 * MiB), raw);
  await api.put(`/runs/h/uploads/${id}?offset=${2 * MiB}`, file.subarray(2 * MiB), raw);
  expect((await api.get(`/runs/h/uploads/${id}`)).data.received).toBe(file.length);
  const done = await api.post(`/runs/h/uploads/${id}/commit`, {});
  expect(done.status).toBe(201);
  expect(done.data).toMatchObject({ path: 'outputs/m.bin', sha256, size: file.length, versions: 1 });
  const back = await api.get('/runs/h/artifacts/outputs/m.bin', { responseType: 'arraybuffer' });
  expect(Buffer.from(back.data).equals(file)).toBe(true);
});

test('bad requests are refused by name: path, size, hash, ids, offsets, lengths', async () => {
  const bad = async (p: Promise<{ status: number; data: { error: { code: string; field?: string } } }>) => {
    const r = await p;
    return [r.status, r.data.error.code, r.data.error.field];
  };
  expect(await bad(api.post('/runs/h/uploads', { path: '../x', size: 10 }))).toEqual([400, 'OUTPOST_ERR_BAD_PATH', 'path']);
  expect(await bad(api.post('/runs/h/uploads', { path: 'outputs/x', size: 600 * MiB }))).toEqual([413, 'OUTPOST_ERR_TOO_LARGE', 'size']);
  expect((await api.post('/runs/h/uploads', { path: 'outputs/x', size: -1 })).status).toBe(400);
  expect((await api.post('/runs/h/uploads', { path: 'outputs/x', size: 10, sha256: 'abc' })).status).toBe(400);
  expect(await bad(api.post('/runs/nope/uploads', { path: 'outputs/x', size: 10 }))).toEqual([404, 'OUTPOST_ERR_RUN_NOT_FOUND', 'run']);
  expect((await api.get('/runs/h/uploads/not-an-id')).status).toBe(400);
  expect(await bad(api.get(`/runs/h/uploads/${'0'.repeat(32)}`))).toEqual([404, 'OUTPOST_ERR_UPLOAD_NOT_FOUND', 'upload']);
  const id = (await api.post('/runs/h/uploads', { path: 'outputs/y', size: 3 * MiB, chunkBytes: MiB })).data.uploadId;
  expect((await api.put(`/runs/h/uploads/${id}`, Buffer.alloc(MiB), raw)).status).toBe(400); // no offset
  expect(await bad(api.put(`/runs/h/uploads/${id}?offset=0`, Buffer.alloc(10), raw))).toEqual([400, 'OUTPOST_ERR_LENGTH_MISMATCH', 'content-length']);
  // A commit must name the hash when the open did not.
  for (let o = 0; o < 3 * MiB; o += MiB) await api.put(`/runs/h/uploads/${id}?offset=${o}`, Buffer.alloc(MiB, o / MiB), raw);
  expect(await bad(api.post(`/runs/h/uploads/${id}/commit`, {}))).toEqual([400, 'OUTPOST_ERR_BAD_REQUEST', 'sha256']);
  expect(await bad(api.post(`/runs/h/uploads/${id}/commit`, { sha256: 'f'.repeat(64) }))).toEqual([400, 'OUTPOST_ERR_HASH_MISMATCH', 'sha256']);
  expect(await bad(api.get(`/runs/h/uploads/${id}`))).toEqual([404, 'OUTPOST_ERR_UPLOAD_NOT_FOUND', 'upload']);
});
