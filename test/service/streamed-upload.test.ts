import { createHash, randomBytes } from 'crypto';
import fs from 'fs';
import path from 'path';
import { Readable } from 'stream';
import { artifactUrl, createApiClient } from '../../src/http/api-client';
import { ServerProcess, startServerProcess, tempDir } from './server-process';

/** Peak resident memory of a process (Linux), in bytes. */
function peakRss(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

describe('a streamed upload far bigger than the memory the service may use', () => {
  const MiB = 1024 * 1024;
  const SIZE = 300 * MiB;
  let dir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir('outpost-upload-');
    // A 96 MB heap: buffering the body anywhere in the service would not fit.
    server = await startServerProcess({ dataDir: path.join(dir, 'data'), nodeArgs: ['--max-old-space-size=96'] });
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('300 MB generated on the fly is stored whole, with the sha256 and size the client computed', async () => {
    const api = createApiClient({ baseUrl: server.url });
    await api.put('/runs/big', {});
    const hash = createHash('sha256');
    const base = randomBytes(MiB);
    // The client streams too: one 1 MiB chunk at a time, each made different by its number.
    function* chunks() {
      for (let i = 0; i < SIZE / MiB; i++) {
        const chunk = Buffer.from(base);
        chunk.writeUInt32BE(i, 0);
        hash.update(chunk);
        yield chunk;
      }
    }
    const res = await api.put(artifactUrl('big', 'outputs/weights.bin'), Readable.from(chunks(), { objectMode: false, highWaterMark: 1 }), {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) },
    });
    const sha256 = hash.digest('hex');
    expect(res.status).toBe(201);
    expect(res.data).toMatchObject({ path: 'outputs/weights.bin', size: SIZE, sha256, versions: 1 });

    const listed = (await api.get('/runs/big/artifacts')).data;
    expect(listed).toMatchObject([{ path: 'outputs/weights.bin', size: SIZE, sha256 }]);
    const blob = path.join(dir, 'data', 'blobs', sha256.slice(0, 2), sha256);
    expect(fs.statSync(blob).size).toBe(SIZE);

    const peak = peakRss(server.child.pid!);
    if (peak !== undefined) expect(peak).toBeLessThan(200 * MiB);
    (api.defaults.httpAgent as { destroy(): void }).destroy();
  });
});
