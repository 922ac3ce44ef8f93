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
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type MultipartUpload,
  paginateListObjectsV2,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type Part,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { settings } from '../../config';
import { E } from '../protocol';
import { type BlobPut, type BlobStore, type ByteRange, exactBytes, type PartialMeta, type PartialState, sweepEvery, type WrittenBlob } from './blob-store';

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
    if (opts.sweep ?? true) store.stopSweeping = sweepEvery(store, s.blobTempSweepS * 1000, s.blobTempMaxAgeS * 1000, s.uploadPartialMaxAgeS * 1000);
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
    // A request that fails while the body streams (refused, the bucket gone) ends the stream with
    // its error at once, instead of leaving the sender to stall until its idle timeout.
    sending.catch((err: Error) => body.destroy(err));
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
    for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: prefix })) {
      const old = (page.Contents ?? []).filter((o) => o.Key && o.LastModified && o.LastModified.getTime() < cutoff);
      if (old.length) {
        await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: old.map((o) => ({ Key: o.Key! })), Quiet: true } }));
        removed += old.length;
      }
    }
    for await (const u of this.multipartUploads(prefix)) {
      if (u.Initiated!.getTime() >= cutoff) continue;
      await this.abort(u);
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    this.stopSweeping();
    this.client.destroy();
  }

  // -- partial uploads: a multipart upload each, one part per chunk, and a small JSON object
  //    beside it (rewritten with each chunk, so its date says when the upload last moved) ---------

  /** S3 refuses parts under 5 MiB, but for the last one. */
  readonly minChunkBytes = 5 * 1024 * 1024;

  private partialKey(id: string): string {
    return this.under(`uploads/${id}`);
  }

  private async putMeta(id: string, meta: PartialMeta): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: `${this.partialKey(id)}.json`, Body: JSON.stringify(meta), ContentType: 'application/json' }),
    );
  }

  private async getMeta(id: string): Promise<PartialMeta | null> {
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${this.partialKey(id)}.json` }));
      return JSON.parse(await got.Body!.transformToString()) as PartialMeta;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** The parts stored, in order; null when the multipart upload is gone. */
  private async parts(id: string, meta: PartialMeta): Promise<Part[] | null> {
    const out: Part[] = [];
    let marker: string | undefined;
    try {
      // By hand, not the SDK's paginator: that one follows NextPartNumberMarker alone, which some
      // S3-compatible servers send on the last page too, and it never ends.
      do {
        const page = await this.client.send(
          new ListPartsCommand({ Bucket: this.bucket, Key: this.partialKey(id), UploadId: meta.handle, PartNumberMarker: marker }),
        );
        out.push(...(page.Parts ?? []));
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (err) {
      if (isNotFound(err) || (err as Error).name === 'NoSuchUpload') return null;
      throw err;
    }
    return out.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
  }

  /** Whole parts from the first, each of its chunk's size. */
  private static contiguous(parts: Part[], meta: PartialMeta): Part[] {
    const ok: Part[] = [];
    for (const p of parts) {
      const offset = ok.length * meta.chunkBytes;
      if (p.PartNumber !== ok.length + 1 || p.Size !== Math.min(meta.chunkBytes, meta.size - offset)) break;
      ok.push(p);
    }
    return ok;
  }

  async createPartial(id: string, meta: PartialMeta): Promise<PartialMeta> {
    // The JSON first: a multipart upload without one is swept as abandoned.
    await this.putMeta(id, meta);
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.partialKey(id) }));
    const withHandle = { ...meta, handle: created.UploadId };
    await this.putMeta(id, withHandle);
    return withHandle;
  }

  async readPartial(id: string): Promise<PartialState | null> {
    const meta = await this.getMeta(id);
    if (!meta?.handle) return null;
    const parts = await this.parts(id, meta);
    if (!parts) return null;
    const whole = S3BlobStore.contiguous(parts, meta);
    return { meta, received: Math.min(meta.size, whole.length * meta.chunkBytes) };
  }

  async writeChunk(id: string, meta: PartialMeta, offset: number, source: Readable, length: number, onBytes?: (b: Buffer) => void): Promise<void> {
    const body = new PassThrough();
    const sending = this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.partialKey(id),
        UploadId: meta.handle,
        PartNumber: offset / meta.chunkBytes + 1,
        Body: body,
        ContentLength: length,
      }),
    );
    // As in put(): a refused part ends the body's stream with its error at once.
    sending.catch((err: Error) => body.destroy(err));
    const refused = (err: unknown) => ((err as Error).name === 'NoSuchUpload' ? E.uploadNotFound(meta.runId, id) : err);
    try {
      await pipeline(source, exactBytes(length, (n) => E.chunkLength(meta.path, offset, n, length), onBytes), body);
      await sending;
    } catch (err) {
      body.destroy();
      throw refused(err);
    }
    await this.putMeta(id, meta); // dated now: the upload moved
  }

  async completePartial(id: string, meta: PartialMeta, knownSha256: string | null, verify: (b: WrittenBlob) => void): Promise<WrittenBlob> {
    const key = this.partialKey(id);
    try {
      const parts = S3BlobStore.contiguous((await this.parts(id, meta)) ?? [], meta);
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: meta.handle,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag })) },
        }),
      );
      let sha256 = knownSha256;
      let size = parts.reduce((n, p) => n + (p.Size ?? 0), 0);
      if (sha256 === null) {
        // Hashed by this process as the chunks came only if they all came here, in order: else read back.
        const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        const hash = createHash('sha256');
        size = 0;
        for await (const chunk of got.Body as Readable) {
          size += (chunk as Buffer).length;
          hash.update(chunk as Buffer);
        }
        sha256 = hash.digest('hex');
      }
      const blob = { sha256, size };
      verify(blob);
      if (!(await this.exists(blob.sha256))) {
        await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.key(blob.sha256), CopySource: `${this.bucket}/${key}` }));
      }
      return blob;
    } finally {
      await this.deletePartial(id, meta);
    }
  }

  async deletePartial(id: string, known?: PartialMeta): Promise<void> {
    const meta = known ?? (await this.getMeta(id));
    if (meta?.handle) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.partialKey(id), UploadId: meta.handle })).catch(() => undefined);
    }
    await this.deleteKey(this.partialKey(id));
    await this.deleteKey(`${this.partialKey(id)}.json`);
  }

  /** By the date of each upload's JSON, rewritten with every chunk; multipart uploads without one, by when they began. */
  async sweepPartials(olderThanMs: number, now = Date.now()): Promise<number> {
    const cutoff = now - olderThanMs;
    const prefix = this.under('uploads/');
    const live = new Set<string>();
    let removed = 0;
    for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: prefix })) {
      for (const o of page.Contents ?? []) {
        if (!o.Key?.endsWith('.json')) continue;
        const id = o.Key.slice(prefix.length, -'.json'.length);
        if (o.LastModified && o.LastModified.getTime() >= cutoff) {
          live.add(id);
          continue;
        }
        await this.deletePartial(id);
        removed++;
      }
    }
    for await (const u of this.multipartUploads(prefix)) {
      const id = u.Key!.slice(prefix.length);
      if (live.has(id) || u.Initiated!.getTime() >= cutoff) continue;
      if (await this.getMeta(id)) continue; // written since the listing
      await this.abort(u);
      removed++;
    }
    return removed;
  }

  /** Every multipart upload under `prefix` that names its key, upload id and start (the SDK has no paginator for this listing). */
  private async *multipartUploads(prefix: string): AsyncGenerator<MultipartUpload> {
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    do {
      const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadMarker }));
      for (const u of page.Uploads ?? []) if (u.Key && u.UploadId && u.Initiated) yield u;
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  }

  private async abort(u: MultipartUpload): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key!, UploadId: u.UploadId! }));
  }
}
