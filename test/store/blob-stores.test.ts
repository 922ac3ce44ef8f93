/** The BlobStore contract, the same for every backend: content-addressed, verified before visible, ranged reads, temp objects swept by age. */
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Readable } from 'stream';
import { CreateBucketCommand, CreateMultipartUploadCommand, ListObjectsV2Command, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { BlobStore } from '../../src/store/blob-store';
import { FolderBlobStore } from '../../src/store/folder-blob-store';
import { S3BlobStore } from '../../src/store/s3-blob-store';
import { type MotoServer, startMoto } from '../../scripts/s3/moto';

interface Backend {
  blobs: BlobStore;
  /** Names of the temp objects there now. */
  temps(): Promise<string[]>;
  /** Temp objects as an upload in progress on another host has them now. */
  leaveTemp(name: string): Promise<void>;
  /** A multipart upload begun and never finished (S3 only). */
  abandonMultipart?(name: string): Promise<void>;
  cleanup(): Promise<void>;
}

async function folderBackend(): Promise<Backend> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-blobs-'));
  const blobs = new FolderBlobStore(path.join(dir, 'blobs'));
  await blobs.init({ sweep: false });
  return {
    blobs,
    // Temp files, and the partial uploads in their own folder there.
    temps: async () => [
      ...fs.readdirSync(blobs.tmpDir).filter((n) => n !== 'uploads'),
      ...(fs.existsSync(path.join(blobs.tmpDir, 'uploads')) ? fs.readdirSync(path.join(blobs.tmpDir, 'uploads')).map((n) => `uploads/${n}`) : []),
    ],
    async leaveTemp(name) {
      fs.writeFileSync(path.join(blobs.tmpDir, name), 'half an upload');
    },
    async cleanup() {
      await blobs.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let moto: MotoServer | undefined;
afterAll(() => moto?.stop());

/** A bucket of moto's S3 server, through the standard AWS environment, path-style. */
async function s3Backend(): Promise<Backend> {
  moto ??= await startMoto();
  Object.assign(process.env, moto.env);
  const bucket = `outpost-test-${Date.now()}`;
  const blobs0 = await S3BlobStore.open(bucket, 'team/blobs', { forcePathStyle: true, sweep: false }).catch((err: Error) => err);
  expect(blobs0).toBeInstanceOf(Error); // no such bucket yet: said at start
  expect((blobs0 as Error).message).toMatch(/no such bucket/);
  const admin = await import('@aws-sdk/client-s3').then(({ S3Client }) => new S3Client({ region: 'us-east-1', forcePathStyle: true }));
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  // Parts of 5 MiB, S3's least: a blob over that goes up in several.
  const blobs = await S3BlobStore.open(bucket, 'team/blobs', { forcePathStyle: true, sweep: false, partBytes: 5 * 1024 * 1024 });
  return {
    blobs,
    async temps() {
      const objects = (await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'team/blobs/tmp/' }))).Contents ?? [];
      const uploads = (await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'team/blobs/tmp/' }))).Uploads ?? [];
      return [...objects.map((o) => o.Key!), ...uploads.map((u) => `${u.Key!} (multipart)`)].map((k) => k.replace('team/blobs/tmp/', ''));
    },
    async leaveTemp(name) {
      // (An abandoned multipart upload is tested on its own below: moto dates every one in 2010.)
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: `team/blobs/tmp/${name}`, Body: 'half an upload' }));
    },
    async abandonMultipart(name: string) {
      await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `team/blobs/tmp/${name}` }));
    },
    async cleanup() {
      await blobs.close();
      admin.destroy();
    },
  };
}

export const BACKENDS: [string, () => Promise<Backend>][] = [
  ['a folder', folderBackend],
  ['S3 (moto)', s3Backend],
];

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

  test('temp objects are swept by age, whoever left them: an upload in progress elsewhere is kept until it is old', async () => {
    await b.leaveTemp('another-host');
    const left = await b.temps();
    expect(left.length).toBeGreaterThan(0);
    expect(await b.blobs.sweepTemp(6 * 3600_000)).toBe(0);
    expect(await b.temps()).toEqual(left);
    // Seven hours on, nothing has written to them: abandoned.
    expect(await b.blobs.sweepTemp(6 * 3600_000, Date.now() + 7 * 3600_000)).toBe(left.length);
    expect(await b.temps()).toEqual([]);
    if (!b.abandonMultipart) return;
    await b.abandonMultipart('crashed-mid-upload');
    expect(await b.temps()).toEqual(['crashed-mid-upload (multipart)']);
    expect(await b.blobs.sweepTemp(6 * 3600_000, Date.now() + 7 * 3600_000)).toBe(1);
    expect(await b.temps()).toEqual([]);
  });

  test('a blob of several multipart parts is stored whole', async () => {
    const big = crypto.randomBytes(12 * 1024 * 1024);
    const bigSha = crypto.createHash('sha256').update(big).digest('hex');
    expect(await b.blobs.put(chunked(big), { maxBytes: big.length, tooLarge })).toEqual({ sha256: bigSha, size: big.length });
    expect((await read(await b.blobs.open(bigSha))).equals(big)).toBe(true);
    expect(await b.temps()).toEqual([]);
  });

  test('delete removes a blob; deleting it again is no error', async () => {
    await b.blobs.delete(sha);
    expect(await b.blobs.exists(sha)).toBe(false);
    expect(await b.blobs.open(sha)).toBeNull();
    await b.blobs.delete(sha);
  });

  describe('partial uploads (resumable, one chunk a part)', () => {
    const MiB = 1024 * 1024;
    // S3's least part: 5 MiB; the last one may be smaller.
    const chunkBytes = 5 * MiB;
    const file = crypto.randomBytes(12 * MiB);
    const fileSha = crypto.createHash('sha256').update(file).digest('hex');
    const meta = { runId: 'r', path: 'outputs/model.bin', size: file.length, sha256: null, chunkBytes, created: new Date().toISOString() };
    const chunk = (i: number) => file.subarray(i * chunkBytes, Math.min(file.length, (i + 1) * chunkBytes));
    const wrong = (n: number) => new Error(`wrong length ${n}`);

    test('chunks stored at their offsets count whole from the start; a chunk cut short does not; completed, the blob is the whole file', async () => {
      const m = await b.blobs.createPartial('a'.repeat(32), meta);
      expect(await b.blobs.readPartial('a'.repeat(32))).toEqual({ meta: m, received: 0 });
      await b.blobs.writeChunk('a'.repeat(32), m, 0, chunked(chunk(0)), chunkBytes);
      // A chunk whose body ends early fails and is not counted.
      await expect(b.blobs.writeChunk('a'.repeat(32), m, chunkBytes, chunked(chunk(1).subarray(0, MiB)), chunkBytes)).rejects.toThrow();
      expect((await b.blobs.readPartial('a'.repeat(32)))!.received).toBe(chunkBytes);
      await b.blobs.writeChunk('a'.repeat(32), m, chunkBytes, chunked(chunk(1)), chunkBytes);
      await b.blobs.writeChunk('a'.repeat(32), m, 2 * chunkBytes, chunked(chunk(2)), chunk(2).length);
      expect((await b.blobs.readPartial('a'.repeat(32)))!.received).toBe(file.length);
      // Not hashed as it came (another process took the chunks): read back and hashed.
      const seen: { sha256: string; size: number }[] = [];
      expect(await b.blobs.completePartial('a'.repeat(32), m, null, (w) => void seen.push(w))).toEqual({ sha256: fileSha, size: file.length });
      expect(seen).toEqual([{ sha256: fileSha, size: file.length }]);
      expect((await read(await b.blobs.open(fileSha))).equals(file)).toBe(true);
      expect(await b.blobs.readPartial('a'.repeat(32))).toBeNull();
      expect(await b.temps()).toEqual([]);
    });

    test('a partial whose verify refuses it is removed and never visible', async () => {
      const other = crypto.randomBytes(6 * MiB);
      const otherSha = crypto.createHash('sha256').update(other).digest('hex');
      const m = await b.blobs.createPartial('b'.repeat(32), { ...meta, size: other.length });
      await b.blobs.writeChunk('b'.repeat(32), m, 0, chunked(other.subarray(0, chunkBytes)), chunkBytes);
      await b.blobs.writeChunk('b'.repeat(32), m, chunkBytes, chunked(other.subarray(chunkBytes)), other.length - chunkBytes);
      await expect(
        b.blobs.completePartial('b'.repeat(32), m, null, () => {
          throw wrong(0);
        }),
      ).rejects.toThrow('wrong length');
      expect(await b.blobs.exists(otherSha)).toBe(false);
      expect(await b.blobs.readPartial('b'.repeat(32))).toBeNull();
    });

    test('partials are swept by the time of their last chunk', async () => {
      const m = await b.blobs.createPartial('c'.repeat(32), meta);
      await b.blobs.writeChunk('c'.repeat(32), m, 0, chunked(chunk(0)), chunkBytes);
      expect(await b.blobs.sweepPartials(3600_000)).toBe(0);
      expect((await b.blobs.readPartial('c'.repeat(32)))!.received).toBe(chunkBytes);
      expect(await b.blobs.sweepPartials(3600_000, Date.now() + 2 * 3600_000)).toBe(1);
      expect(await b.blobs.readPartial('c'.repeat(32))).toBeNull();
    });
  });
});
