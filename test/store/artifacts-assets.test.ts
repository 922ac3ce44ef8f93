import fs from 'fs';
import { Readable } from 'stream';
import type { SqliteStore } from '../../src/store/sqlite-store';
import { openTempStore } from './store-fixture';

describe('artifacts and assets', () => {
  let store: SqliteStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await openTempStore());
    await store.upsertRun('r1', {});
    await store.upsertRun('r2', {});
  });
  afterEach(() => cleanup());

  const tooLarge = () => new Error('too large');
  async function put(run: string, p: string, content: string) {
    const blob = await store.blobs.write(Readable.from([Buffer.from(content)]), 1 << 20, tooLarge);
    return store.putArtifact(run, p, blob);
  }

  test('each change of a file is a new version; the same bytes again are not', async () => {
    expect(await put('r1', 'outputs/a.txt', 'one')).toMatchObject({ versions: 1, size: 3, unchanged: false });
    expect(await put('r1', 'outputs/a.txt', 'one')).toMatchObject({ versions: 1, unchanged: true });
    expect(await put('r1', 'outputs/a.txt', 'two!')).toMatchObject({ versions: 2, size: 4, unchanged: false });
    expect(await store.getArtifact('r1', 'outputs/a.txt')).toMatchObject({ version: 2, size: 4 });
    const v1 = (await store.getArtifact('r1', 'outputs/a.txt', 1))!;
    expect(fs.readFileSync(store.blobs.pathOf(v1.sha256), 'utf8')).toBe('one');
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
    const a = await put('r1', 'x.bin', 'same bytes');
    const b = await put('r2', 'y.bin', 'same bytes');
    expect(a.sha256).toBe(b.sha256);
    const dir = store.blobs.pathOf(a.sha256).replace(/[^/]+$/, '');
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
    await expect(store.blobs.write(big, 1024, tooLarge)).rejects.toThrow('too large');
    expect(fs.readdirSync(store.blobs.tmpDir)).toEqual([]);
  });
});
