/** The BlobStore contract, the same for every backend: content-addressed, verified before visible, ranged reads, temp objects swept by age. */
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Readable } from 'stream';
import type { BlobStore } from '../../src/store/blob-store';
import { FolderBlobStore } from '../../src/store/folder-blob-store';

interface Backend {
  blobs: BlobStore;
  /** Names of the temp objects there now. */
  temps(): Promise<string[]>;
  /** A temp object as an upload elsewhere leaves it, last written `ageMs` ago. */
  leaveTemp(name: string, ageMs: number): Promise<void>;
  cleanup(): Promise<void>;
}

async function folderBackend(): Promise<Backend> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-blobs-'));
  const blobs = new FolderBlobStore(path.join(dir, 'blobs'));
  await blobs.init({ sweep: false });
  return {
    blobs,
    temps: async () => fs.readdirSync(blobs.tmpDir),
    async leaveTemp(name, ageMs) {
      const file = path.join(blobs.tmpDir, name);
      fs.writeFileSync(file, 'half an upload');
      const t = new Date(Date.now() - ageMs);
      fs.utimesSync(file, t, t);
    },
    async cleanup() {
      await blobs.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const BACKENDS: [string, () => Promise<Backend>][] = [['a folder', folderBackend]];

describe.each(BACKENDS)('blobs in %s', (_name, open) => {
  let b: Backend;
  beforeAll(async () => (b = await open()));
  afterAll(() => b.cleanup());

  const bytes = crypto.randomBytes(300_000);
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  const tooLarge = () => new Error('too large');
  const read = async (s: Readable | null) => {
    const chunks: Buffer[] = [];
    for await (const c of s!) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  // Several chunks, as a request body arrives.
  const chunked = (buf: Buffer) => Readable.from(Array.from({ length: Math.ceil(buf.length / 65536) }, (_, i) => buf.subarray(i * 65536, (i + 1) * 65536)));

  test('a put gives back the sha256 and size, and the blob reads back whole or by range', async () => {
    expect(await b.blobs.put(chunked(bytes), { maxBytes: bytes.length, tooLarge })).toEqual({ sha256: sha, size: bytes.length });
    expect(await b.blobs.exists(sha)).toBe(true);
    expect((await read(await b.blobs.open(sha))).equals(bytes)).toBe(true);
    expect((await read(await b.blobs.open(sha, { start: 1000, end: 1999 }))).equals(bytes.subarray(1000, 2000))).toBe(true);
    expect((await read(await b.blobs.open(sha, { start: bytes.length - 1, end: bytes.length - 1 }))).equals(bytes.subarray(-1))).toBe(true);
  });

  test('the same bytes again are the same blob', async () => {
    expect(await b.blobs.put(chunked(bytes), { maxBytes: bytes.length, tooLarge })).toEqual({ sha256: sha, size: bytes.length });
    expect((await read(await b.blobs.open(sha))).equals(bytes)).toBe(true);
  });

  test('a blob its verify refuses (another hash than declared) is never visible, and leaves no temp object', async () => {
    const other = crypto.randomBytes(100_000);
    const otherSha = crypto.createHash('sha256').update(other).digest('hex');
    const refusal = new Error('hash differs from the declared one');
    const verify = (w: { sha256: string; size: number }) => {
      expect(w).toEqual({ sha256: otherSha, size: other.length });
      throw refusal;
    };
    await expect(b.blobs.put(chunked(other), { maxBytes: other.length, tooLarge, verify })).rejects.toBe(refusal);
    expect(await b.blobs.exists(otherSha)).toBe(false);
    expect(await b.blobs.open(otherSha)).toBeNull();
    expect(await b.temps()).toEqual([]);
  });

  test('more bytes than allowed are refused, and nothing is kept', async () => {
    const other = crypto.randomBytes(200_000);
    await expect(b.blobs.put(chunked(other), { maxBytes: 100_000, tooLarge })).rejects.toThrow('too large');
    expect(await b.blobs.exists(crypto.createHash('sha256').update(other).digest('hex'))).toBe(false);
    expect(await b.temps()).toEqual([]);
  });

  test('temp objects are swept by age, whoever left them: an upload in progress elsewhere is kept', async () => {
    await b.leaveTemp('abandoned-on-another-host', 7 * 3600_000);
    await b.leaveTemp('in-progress-on-another-host', 1000);
    expect(await b.blobs.sweepTemp(6 * 3600_000)).toBe(1);
    expect(await b.temps()).toEqual(['in-progress-on-another-host']);
    expect(await b.blobs.sweepTemp(0)).toBe(1);
    expect(await b.temps()).toEqual([]);
  });

  test('delete removes a blob; deleting it again is no error', async () => {
    await b.blobs.delete(sha);
    expect(await b.blobs.exists(sha)).toBe(false);
    expect(await b.blobs.open(sha)).toBeNull();
    await b.blobs.delete(sha);
  });
});
