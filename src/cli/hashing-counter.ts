/** A download's bytes, counted and hashed as they pass, to check them against what the service declared. */
import { createHash } from 'crypto';
import { Transform, TransformCallback } from 'stream';

/** Counts and hashes the bytes that pass; fails as soon as more than `maxBytes` arrive. */
export class HashingCounter extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  constructor(
    private readonly maxBytes: number,
    private readonly onTooLarge: () => Error,
  ) {
    super();
  }
  _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return done(this.onTooLarge());
    this.hash.update(chunk);
    done(null, chunk);
  }
}
