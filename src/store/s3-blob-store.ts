/**
 * Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph RGW...): <prefix>/blobs/ab/<sha256>.
 * S3 has no rename, so an upload streams (multipart, service.s3PartBytes per part) to a temp key
 * under <prefix>/tmp/ while it is hashed; once its size and hash are checked it is copied, inside
 * the store, to its sha256's key, and the temp object removed. The temp objects and multipart
 * uploads that a crash abandons, on any host, are swept by age. Endpoint, region and credentials
 * come from the standard AWS environment (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, or any other source the AWS SDK reads).
 */
import { createHash, randomBytes } from 'crypto';
import { PassThrough, Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { settings } from '../../config';
import { E } from '../protocol';
import { type BlobPut, type BlobStore, type ByteRange, sweepEvery, type WrittenBlob } from './blob-store';

export interface S3Options {
  forcePathStyle?: boolean;
  partBytes?: number;
  queueSize?: number;
  /** Sweep abandoned temp objects now and every service.blobTempSweepS (default: yes). */
  sweep?: boolean;
}

const isNotFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
};

export class S3BlobStore implements BlobStore {
  readonly location: string;
  private stopSweeping = (): void => undefined;

  private constructor(
    readonly client: S3Client,
    readonly bucket: string,
    private readonly prefix: string,
    private readonly opts: Required<Omit<S3Options, 'sweep'>>,
  ) {
    this.location = `s3://${bucket}/${prefix}`;
  }

  static async open(bucket: string, prefix: string, opts: S3Options = {}): Promise<S3BlobStore> {
    const s = settings.service;
    const client = new S3Client({
      region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: opts.forcePathStyle ?? s.s3ForcePathStyle,
      // The bytes are hashed end to end by outpost itself; S3-compatible servers differ in which
      // of the SDK's newer checksums they know.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const store = new S3BlobStore(client, bucket, prefix, {
      forcePathStyle: opts.forcePathStyle ?? s.s3ForcePathStyle,
      partBytes: opts.partBytes ?? s.s3PartBytes,
      queueSize: opts.queueSize ?? s.s3QueueSize,
    });
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      client.destroy();
      const e = err as Error & { $metadata?: { httpStatusCode?: number } };
      const why = e.$metadata?.httpStatusCode === 404 ? 'no such bucket' : e.$metadata?.httpStatusCode === 403 ? 'access denied' : e.message || e.name;
      throw E.startup(`--blobs ${store.location}: ${why} (endpoint, region and credentials come from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)`);
    }
    if (opts.sweep ?? true) store.stopSweeping = sweepEvery(store, s.blobTempSweepS * 1000, s.blobTempMaxAgeS * 1000);
    return store;
  }

  private key(sha256: string): string {
    return this.under(`blobs/${sha256.slice(0, 2)}/${sha256}`);
  }

  private under(rest: string): string {
    return this.prefix ? `${this.prefix}/${rest}` : rest;
  }

  /** Temp keys are unique across hosts: time, then randomness. */
  private tempKey(): string {
    return this.under(`tmp/${Date.now()}-${randomBytes(8).toString('hex')}`);
  }

  async put(source: Readable, { maxBytes, tooLarge, verify }: BlobPut): Promise<WrittenBlob> {
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes) return done(tooLarge());
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const body = new PassThrough();
    const tmp = this.tempKey();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: tmp, Body: body },
      partSize: this.opts.partBytes,
      queueSize: this.opts.queueSize,
      leavePartsOnError: false,
    });
    const sending = upload.done();
    sending.catch(() => undefined);
    try {
      await pipeline(source, meter, body);
      await sending;
    } catch (err) {
      await upload.abort().catch(() => undefined);
      await this.deleteKey(tmp);
      throw err;
    }
    const blob = { sha256: hash.digest('hex'), size };
    try {
      verify?.(blob);
      // Identical bytes already there: nothing to copy.
      if (!(await this.exists(blob.sha256))) {
        await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.key(blob.sha256), CopySource: `${this.bucket}/${tmp}` }));
      }
    } finally {
      await this.deleteKey(tmp);
    }
    return blob;
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable | null> {
    try {
      const got = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(sha256), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      return got.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async delete(sha256: string): Promise<void> {
    await this.deleteKey(this.key(sha256));
  }

  private async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }

  /** Temp objects by when they were written, multipart uploads by when they began: an upload in progress is younger than olderThanMs. */
  async sweepTemp(olderThanMs: number, now = Date.now()): Promise<number> {
    const cutoff = now - olderThanMs;
    const prefix = this.under('tmp/');
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      const old = (page.Contents ?? []).filter((o) => o.Key && o.LastModified && o.LastModified.getTime() < cutoff);
      if (old.length) {
        await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: old.map((o) => ({ Key: o.Key! })), Quiet: true } }));
        removed += old.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    do {
      const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadMarker }));
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated.getTime() >= cutoff) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
        removed++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return removed;
  }

  async close(): Promise<void> {
    this.stopSweeping();
    this.client.destroy();
  }
}
