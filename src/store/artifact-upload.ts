/**
 * An artifact's bytes as the service hands them to a Store, and where they go: a small file is
 * read into memory and kept in the store's database (a row instead of an object and its fsyncs),
 * a bigger one is streamed into the blob store. Both stores share this, so both answer alike.
 */
import { createHash } from 'crypto';
import type { Readable } from 'stream';
import type { BlobStore, WrittenBlob } from './blob-store';

export interface ArtifactUpload {
  body: Readable;
  /** The length the sender declared: more bytes are refused with tooLarge(). */
  size: number;
  tooLarge: () => Error;
  /** Sees size and sha256 once every byte is in, before anything is visible; throws to refuse. */
  verify: (b: WrittenBlob) => void;
}

/** What arrived: in `bytes` when small enough for the database, else already in the blob store. */
export type ReceivedBlob = WrittenBlob & { bytes?: Buffer };

export async function receiveUpload(upload: ArtifactUpload, blobs: BlobStore, inlineMaxBytes: number): Promise<ReceivedBlob> {
  if (upload.size > inlineMaxBytes) return blobs.put(upload.body, { maxBytes: upload.size, tooLarge: upload.tooLarge, verify: upload.verify });
  const bytes = await readAll(upload.body, upload.size, upload.tooLarge);
  const blob = { ...hashBytes(bytes), bytes };
  upload.verify(blob);
  return blob;
}

export function hashBytes(bytes: Buffer): WrittenBlob {
  return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

/** A small body, whole, in memory (at most `max` bytes). */
async function readAll(body: Readable, max: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw tooLarge();
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}
