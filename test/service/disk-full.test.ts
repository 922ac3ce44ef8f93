/**
 * Disk full, for real: the service's data folder on a small tmpfs. Uploads and batches that do
 * not fit are a 507 with Retry-After naming the cause; once space is freed, retries store
 * everything, and nothing acknowledged before is lost.
 */
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import { spawnSync } from 'child_process';
import { rawRequest, RawResponse } from './raw-http';
import { ServerProcess, startServerProcess, tempDir } from './server-process';

const root = tempDir('outpost-disk-full-');
const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', root], { encoding: 'utf8' });
const mounted = mount.status === 0;
if (!mounted) {
  console.warn(`disk-full tests skipped: mounting a tmpfs is not permitted here (${(mount.stderr || mount.error?.message || '').trim()})`);
}

afterAll(() => {
  if (mounted) spawnSync('umount', ['-l', root]);
  fs.rmSync(root, { recursive: true, force: true });
});

(mounted ? describe : describe.skip)('the store on a full disk', () => {
  let server: ServerProcess;
  const dataDir = path.join(root, 'data');
  const filler = path.join(root, 'filler');
  let nextSeq = 1;
  const acked: number[] = [];
  const files: Record<string, Buffer> = {};

  const batch = (count: number) => {
    const first = nextSeq;
    let body = '';
    for (let i = 0; i < count; i++) body += `{"name":"loss","value":${first + i},"step":${first + i}}\n`;
    return { first, count, body };
  };
  const send = (b: { first: number; body: string }) =>
    rawRequest(server.url, {
      method: 'POST',
      path: '/api/v1/runs/full/metrics',
      headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': 's', 'x-outpost-first-seq': String(b.first) },
      body: b.body,
    });
  const upload = (name: string, bytes: Buffer) =>
    rawRequest(server.url, { method: 'PUT', path: `/api/v1/runs/full/artifacts/outputs/${name}`, headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  const expectFull = (res: RawResponse, where: RegExp) => {
    expect(res.status).toBe(507);
    expect(res.headers['retry-after']).toBe('30');
    const err = res.json().error;
    expect(err.code).toBe('OUTPOST_ERR_STORAGE_FULL');
    expect(err.message).toMatch(/the store's disk is full \((ENOSPC|EDQUOT|SQLITE_FULL) writing /);
    expect(err.message).toMatch(where);
  };

  /** Writes the filler until the disk is full. */
  function fill(): void {
    const fd = fs.openSync(filler, 'a');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      fs.closeSync(fd);
    }
  }

  beforeAll(async () => {
    server = await startServerProcess({ dataDir });
    await rawRequest(server.url, { method: 'PUT', path: '/api/v1/runs/full', headers: { 'content-type': 'application/json' }, body: '{}' });
  });
  afterAll(() => server?.stop());

  test('what fits is stored and acknowledged; an upload that does not fit is a 507 naming the file and the cause', async () => {
    for (const [name, size] of [
      ['small.txt', 1000],
      ['big.bin', 1024 * 1024],
    ] as const) {
      files[name] = crypto.randomBytes(size);
      expect((await upload(name, files[name])).status).toBe(201);
    }
    const b = batch(2000);
    expect((await send(b)).json()).toMatchObject({ ackedSeq: 2000 });
    acked.push(...Array.from({ length: b.count }, (_, i) => b.first + i));
    nextSeq += b.count;

    fill();
    expectFull(await upload('huge.bin', crypto.randomBytes(2 * 1024 * 1024)), /artifact "outputs\/huge\.bin".*ENOSPC writing blobs\/\.tmp\//);
    // A small file goes into the database, which cannot grow either.
    const small = await upload('late.txt', crypto.randomBytes(40 * 1024));
    expectFull(small, /SQLITE_FULL writing the database outpost\.db|ENOSPC/);
    expect(fs.readdirSync(path.join(dataDir, 'blobs', '.tmp'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile())).toEqual([]);
  });

  test('metric batches are a 507 once the database cannot grow; after space is freed the retries store everything, and everything acknowledged is there', async () => {
    let refused: ReturnType<typeof batch> | undefined;
    for (let i = 0; i < 400 && !refused; i++) {
      const b = batch(2000);
      const res = await send(b);
      if (res.status === 200) {
        expect(res.json().ackedSeq).toBe(b.first + b.count - 1);
        acked.push(...Array.from({ length: b.count }, (_, k) => b.first + k));
        nextSeq += b.count;
      } else {
        expectFull(res, /SQLITE_FULL writing the database outpost\.db/);
        refused = b;
      }
    }
    expect(refused).toBeDefined();
    // Refused is refused: retried while the disk is still full, it stays a 507.
    expect((await send(refused!)).status).toBe(507);

    fs.rmSync(filler);
    const retried = await send(refused!);
    expect(retried.status).toBe(200);
    expect(retried.json()).toMatchObject({ ackedSeq: refused!.first + refused!.count - 1, skipped: 0 });
    acked.push(...Array.from({ length: refused!.count }, (_, k) => refused!.first + k));
    files['huge.bin'] = crypto.randomBytes(2 * 1024 * 1024);
    expect((await upload('huge.bin', files['huge.bin'])).status).toBe(201);

    const points = (await rawRequest(server.url, { path: '/api/v1/runs/full/metrics/loss?limit=100000' })).json().points.map((p: { value: number }) => p.value);
    expect(points).toEqual(acked);
    for (const [name, bytes] of Object.entries(files)) {
      const res = await rawRequest(server.url, { path: `/api/v1/runs/full/artifacts/outputs/${name}` });
      expect({ name, same: res.body.equals(bytes) }).toEqual({ name, same: true });
    }
  });
});
