import fs from 'fs';
import { Readable } from 'stream';
import { FolderBlobStore } from '../../src/store/folder-blob-store';
import type { Store } from '../../src/store/store';
import { openStoreOf, STORE_KINDS, upload } from './store-fixture';

describe.each(STORE_KINDS)('artifacts and assets (%s)', (kind) => {
  let store: Store;
  let blobs: FolderBlobStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, blobs, cleanup } = await openStoreOf(kind));
    await store.upsertRun('r1', {});
    await store.upsertRun('r2', {});
  });
  afterEach(() => cleanup());

  const tooLarge = () => new Error('too large');
  const put = (run: string, p: string, content: string) => store.putArtifact(run, p, upload(content));
  const read = async (sha256: string) => {
    const chunks: Buffer[] = [];
    for await (const c of await store.openBlob(sha256)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };

  test('each change of a file is a new version; the same bytes again are not', async () => {
    expect(await put('r1', 'outputs/a.txt', 'one')).toMatchObject({ versions: 1, size: 3, unchanged: false });
    expect(await put('r1', 'outputs/a.txt', 'one')).toMatchObject({ versions: 1, unchanged: true });
    expect(await put('r1', 'outputs/a.txt', 'two!')).toMatchObject({ versions: 2, size: 4, unchanged: false });
    expect(await store.getArtifact('r1', 'outputs/a.txt')).toMatchObject({ version: 2, size: 4 });
    const v1 = (await store.getArtifact('r1', 'outputs/a.txt', 1))!;
    expect(await read(v1.sha256)).toBe('one');
    expect(await store.getArtifact('r1', 'outputs/a.txt', 3)).toBeNull();
  });

  test('a deleted artifact leaves the listing, keeps its old versions, and can come back', async () => {
    await put('r1', 'outputs/a.txt', 'one');
    expect(await store.deleteArtifact('r1', 'outputs/a.txt')).toBe(true);
    expect(await store.deleteArtifact('r1', 'outputs/a.txt')).toBe(false);
    expect(await store.listArtifacts('r1')).toEqual([]);
    expect(await store.getArtifact('r1', 'outputs/a.txt')).toBeNull();
    expect(await store.getArtifact('r1', 'outputs/a.txt', 1)).toMatchObject({ size: 3 });
    expect((await store.getRun('r1'))!.deletedArtifacts).toEqual(['outputs/a.txt']);
    expect(await put('r1', 'outputs/a.txt', 'one')).toMatchObject({ versions: 2, unchanged: false });
    expect((await store.getRun('r1'))!.deletedArtifacts).toEqual([]);
  });

  test('identical files across runs are one blob', async () => {
    const same = Buffer.alloc(100_000, 7); // over service.inlineBlobBytes: a blob of its own
    const a = await store.putArtifact('r1', 'x.bin', upload(same));
    const b = await store.putArtifact('r2', 'y.bin', upload(same));
    expect(a.sha256).toBe(b.sha256);
    const dir = blobs.pathOf(a.sha256).replace(/[^/]+$/, '');
    expect(fs.readdirSync(dir)).toEqual([a.sha256]);
  });

  test('promoting a prefix makes asset versions holding exactly the files under it', async () => {
    await put('r1', 'outputs/model/w.bin', 'weights');
    await put('r1', 'outputs/model/cfg.json', '{}');
    await put('r1', 'outputs/modelx.txt', 'not under the prefix');
    const v1 = await store.promote({ run: 'r1', prefix: 'outputs/model/', name: 'net' });
    expect(v1).toMatchObject({ name: 'net', version: 1, sourceRun: 'r1', prefix: 'outputs/model' }); // stored without the trailing slash
    expect(v1.files.map((f) => f.path)).toEqual(['outputs/model/cfg.json', 'outputs/model/w.bin']);
    await put('r2', 'm/w.bin', 'better weights');
    expect(await store.promote({ run: 'r2', prefix: 'm', name: 'net' })).toMatchObject({ version: 2, sourceRun: 'r2' });
    expect(await store.listAssets()).toMatchObject([{ name: 'net', latestVersion: 2, versions: 2 }]);
    expect((await store.getAsset('net'))!.map((v) => v.files.length)).toEqual([2, 1]);
    expect(await store.getAsset('nope')).toBeNull();
  });

  test('promoting a prefix with no artifacts, or an unknown run, is refused', async () => {
    await expect(store.promote({ run: 'r1', prefix: 'nothing', name: 'x' })).rejects.toMatchObject({ code: 'OUTPOST_ERR_ARTIFACT_NOT_FOUND', field: 'prefix' });
    await expect(store.promote({ run: 'zz', prefix: '', name: 'x' })).rejects.toMatchObject({ code: 'OUTPOST_ERR_RUN_NOT_FOUND' });
  });

  test('a blob write over its limit leaves nothing behind', async () => {
    const big = Readable.from([Buffer.alloc(2048)]);
    await expect(blobs.put(big, { maxBytes: 1024, tooLarge })).rejects.toThrow('too large');
    expect(fs.readdirSync(blobs.tmpDir)).toEqual([]);
  });
});

describe.each(STORE_KINDS)('a purge meeting an upload of the same bytes (%s)', (kind) => {
  /** A real blob folder that runs `afterPut` once a blob is in, before the store records its version. */
  class PausingBlobs extends FolderBlobStore {
    afterPut: () => Promise<void> = async () => undefined;
    async put(...args: Parameters<FolderBlobStore['put']>) {
      const written = await super.put(...args);
      await this.afterPut();
      return written;
    }
  }

  test('never leaves a version naming a blob that is gone: the upload is refused (503) and may be sent again', async () => {
    let blobs!: PausingBlobs;
    const { store, cleanup } = await openStoreOf(kind, (root) => (blobs = new PausingBlobs(root)));
    try {
      const bytes = Buffer.alloc(200_000, 3); // a blob, not kept in the database
      await store.upsertRun('old', {});
      await store.upsertRun('new', {});
      await store.putArtifact('old', 'model.bin', upload(bytes));
      await store.deleteRun('old');
      // The purge runs between the new upload's blob going in and its version being written.
      blobs.afterPut = async () => {
        blobs.afterPut = async () => undefined;
        expect(await store.purge({})).toMatchObject({ runs: ['old'], blobs: 1 });
      };
      await expect(store.putArtifact('new', 'model.bin', upload(bytes))).rejects.toMatchObject({ code: 'OUTPOST_ERR_UNAVAILABLE', field: 'path' });
      expect(await store.getArtifact('new', 'model.bin')).toBeNull();
      // Sent again, it is stored, with its bytes.
      const again = await store.putArtifact('new', 'model.bin', upload(bytes));
      expect(again).toMatchObject({ versions: 1, unchanged: false });
      expect(await blobs.exists(again.sha256)).toBe(true);
    } finally {
      await cleanup();
    }
  });
});
