/**
 * TFRecord framing, the container of TensorBoard event files: each record is
 *   uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes | data | uint32 masked CRC32C of data
 * Both checksums are checked. Pure: bytes in, records out; a record not yet wholly written is
 * left for the next read.
 */
import { crc32c } from '@node-rs/crc32';

const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;
const MASK_DELTA = 0xa282ead8;

/** TFRecord's masked CRC32C: the CRC rotated right by 15 bits, plus a constant. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

export interface FramedRecord {
  /** Offsets, in the file, of the record's first byte and of the byte after it. */
  start: number;
  end: number;
  /** The record's data; null when its checksum does not match (the record is skipped). */
  data: Buffer | null;
}

export interface Framing {
  records: FramedRecord[];
  /** Where reading stopped: the first byte not taken (the start of a torn record, or the end). */
  next: number;
  /**
   * Why it stopped before the end of `bytes`: a record not wholly there yet, a length that fails
   * its checksum, or a record longer than the most that is read (it ends at `skipTo`).
   */
  stop: 'torn' | 'bad-length' | 'too-large' | null;
  skipTo?: number;
}

/**
 * The records in `bytes`, which start at file offset `base` on a record boundary. A record whose
 * data fails its checksum is returned without data once it is whole (its length is known, so the
 * records after it can still be read); a length failing its checksum stops the reading there, as
 * nothing after it can be found.
 */
export function frameRecords(bytes: Buffer, base = 0, maxRecordBytes = Infinity): Framing {
  const records: FramedRecord[] = [];
  let at = 0;
  for (;;) {
    if (bytes.length - at < HEADER_BYTES) return { records, next: base + at, stop: at === bytes.length ? null : 'torn' };
    const lengthBytes = bytes.subarray(at, at + 8);
    if (maskedCrc32c(lengthBytes) !== bytes.readUInt32LE(at + 8)) return { records, next: base + at, stop: 'bad-length' };
    const length = Number(bytes.readBigUInt64LE(at));
    if (length > maxRecordBytes) return { records, next: base + at, stop: 'too-large', skipTo: base + at + HEADER_BYTES + length + FOOTER_BYTES };
    const end = at + HEADER_BYTES + length + FOOTER_BYTES;
    if (end > bytes.length) return { records, next: base + at, stop: 'torn' };
    const data = bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
    const ok = maskedCrc32c(data) === bytes.readUInt32LE(at + HEADER_BYTES + length);
    records.push({ start: base + at, end: base + end, data: ok ? data : null });
    at = end;
  }
}

/** The whole size of the record whose header starts `bytes` (undefined: not all of its header is there). */
export function recordSize(bytes: Buffer): number | undefined {
  return bytes.length < HEADER_BYTES ? undefined : HEADER_BYTES + Number(bytes.readBigUInt64LE(0)) + FOOTER_BYTES;
}

/** One record framed, as TensorBoard's writers frame it (tests and benchmarks write event files with it). */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + data.length + FOOTER_BYTES);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(data), HEADER_BYTES + data.length);
  return out;
}
