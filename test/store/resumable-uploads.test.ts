/** Resumable uploads through the Store, the same on SQLite and PostgreSQL: chunks, their order, the commit's checks. */
import crypto from 'crypto';
import { Readable } from 'stream';
import { STORE_KINDS, openStoreOf, type TempStore } from './store-fixture';

const MiB = 1024 * 1024;
const file = crypto.randomBytes(2 * MiB + 12345);
const fileSha = crypto.createHash('sha256').update(file).digest('hex');
const chunk = (offset: number) => file.subarray(offset, Math.min(file.length, offset + MiB));
const body = (b: Buffer) => Readable.from([b.subarray(0, 1000), b.subarray(1000)]);
const read = async (s: Readable) => {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c as Buffer);
  return Buffer.concat(out);
};

describe.each(STORE_KINDS)('resumable uploads on %s', (kind) => {
  let t: TempStore;
  beforeAll(async () => {
    t = await openStoreOf(kind);
    await t.store.upsertRun('r', { experiment: 'e' });
    await t.store.upsertRun('other', { experiment: 'e' });
  });
  afterAll(() => t.cleanup());

  async function open(size = file.length) {
    return t.store.openUpload('r', { path: 'outputs/model.bin', size, chunkBytes: MiB });
  }

  test('chunks in order, each acknowledged; the commit makes a version with the whole bytes', async () => {
    const u = await open();
    expect(u).toMatchObject({ path: 'outputs/model.bin', size: file.length, chunkBytes: MiB, received: 0, sha256: null });
    for (let offset = 0; offset < file.length; offset += MiB) {
      expect((await t.store.putUploadChunk('r', u.uploadId, offset, body(chunk(offset)), chunk(offset).length)).received).toBe(Math.min(file.length, offset + MiB));
    }
    expect((await t.store.uploadState('r', u.uploadId)).received).toBe(file.length);
    const stored = await t.store.commitUpload('r', u.uploadId, fileSha);
    expect(stored).toMatchObject({ path: 'outputs/model.bin', size: file.length, sha256: fileSha, versions: 1, unchanged: false });
    expect((await read(await t.store.openBlob(fileSha))).equals(file)).toBe(true);
    expect(await t.store.listArtifacts('r')).toEqual([expect.objectContaining({ path: 'outputs/model.bin', sha256: fileSha })]);
    // Gone once committed.
    await expect(t.store.uploadState('r', u.uploadId)).rejects.toMatchObject({ code: 'OUTPOST_ERR_UPLOAD_NOT_FOUND' });
  });

  test('the same bytes again: no new version', async () => {
    const u = await open();
    for (let offset = 0; offset < file.length; offset += MiB) await t.store.putUploadChunk('r', u.uploadId, offset, body(chunk(offset)), chunk(offset).length);
    expect(await t.store.commitUpload('r', u.uploadId, fileSha)).toMatchObject({ versions: 1, unchanged: true });
  });

  test('a chunk stored already is acknowledged again; one past the next expected, of the wrong length or at no chunk boundary is refused', async () => {
    const u = await open();
    await t.store.putUploadChunk('r', u.uploadId, 0, body(chunk(0)), MiB);
    expect((await t.store.putUploadChunk('r', u.uploadId, 0, body(chunk(0)), MiB)).received).toBe(MiB);
    await expect(t.store.putUploadChunk('r', u.uploadId, 2 * MiB, body(chunk(2 * MiB)), chunk(2 * MiB).length)).rejects.toMatchObject({
      code: 'OUTPOST_ERR_UPLOAD_OFFSET',
      message: expect.stringContaining(`send the chunk at offset ${MiB}`),
    });
    await expect(t.store.putUploadChunk('r', u.uploadId, MiB, body(chunk(MiB).subarray(10)), MiB - 10)).rejects.toMatchObject({ code: 'OUTPOST_ERR_LENGTH_MISMATCH' });
    await expect(t.store.putUploadChunk('r', u.uploadId, 100, body(chunk(100)), MiB)).rejects.toMatchObject({ code: 'OUTPOST_ERR_BAD_REQUEST', field: 'offset' });
    await expect(t.store.commitUpload('r', u.uploadId, fileSha)).rejects.toMatchObject({ code: 'OUTPOST_ERR_UPLOAD_INCOMPLETE' });
    expect((await t.store.uploadState('r', u.uploadId)).received).toBe(MiB);
    // Another run cannot see it.
    await expect(t.store.uploadState('other', u.uploadId)).rejects.toMatchObject({ code: 'OUTPOST_ERR_UPLOAD_NOT_FOUND' });
    await t.store.abortUpload('r', u.uploadId);
    await expect(t.store.uploadState('r', u.uploadId)).rejects.toMatchObject({ code: 'OUTPOST_ERR_UPLOAD_NOT_FOUND' });
  });

  test('a commit whose sha256 differs from the bytes stores nothing and removes the partial (the file changed: start over)', async () => {
    const changed = Buffer.from(file);
    changed[5] ^= 1;
    const u = await t.store.openUpload('r', { path: 'outputs/changed.bin', size: changed.length, chunkBytes: MiB });
    for (let offset = 0; offset < changed.length; offset += MiB) {
      const c = changed.subarray(offset, Math.min(changed.length, offset + MiB));
      await t.store.putUploadChunk('r', u.uploadId, offset, body(c), c.length);
    }
    await expect(t.store.commitUpload('r', u.uploadId, fileSha)).rejects.toMatchObject({ code: 'OUTPOST_ERR_HASH_MISMATCH' });
    await expect(t.store.uploadState('r', u.uploadId)).rejects.toMatchObject({ code: 'OUTPOST_ERR_UPLOAD_NOT_FOUND' });
    expect((await t.store.listArtifacts('r')).map((a) => a.path)).toEqual(['outputs/model.bin']);
  });

  test('an upload opened for an unknown run is refused', async () => {
    await expect(t.store.openUpload('nope', { path: 'outputs/x', size: 10 })).rejects.toMatchObject({ code: 'OUTPOST_ERR_RUN_NOT_FOUND' });
  });
});
