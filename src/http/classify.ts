/**
 * What a sender does about a request that failed: decided here, once, for every sender (metric
 * batches, uploads, deletions, the run's registration, events).
 */
import type { ApiError } from './api-client';

export type Verdict =
  /** No answer, a 5xx, 408 or 429: the same request may pass later (Retry-After honoured). */
  | 'retry'
  /** The service does not know the run: register it, then send again. */
  | 'register'
  /** The service lacks earlier lines of the stream: read the stream again from its start. */
  | 'rewind'
  /** The bytes changed on the way (length or hash): read the file again once it settles. */
  | 'resend'
  /** The hash sent as a trailer did not arrive (a proxy dropped it): declare it up front instead. */
  | 'hash-first'
  /** Too large: send less at once (a batch halved); a single thing too large is refused. */
  | 'smaller'
  /** What was sent will never pass (a bad line, a bad path): record it, and go on with the rest. */
  | 'refuse'
  /** No request passes until a person acts (a token refused): keep everything, try again slowly. */
  | 'fatal';

export function classify(err: ApiError): Verdict {
  switch (err.code) {
    case 'OUTPOST_ERR_RUN_NOT_FOUND':
      return 'register';
    case 'OUTPOST_ERR_SEQUENCE_GAP':
      return 'rewind';
    case 'OUTPOST_ERR_HASH_MISMATCH':
    case 'OUTPOST_ERR_LENGTH_MISMATCH':
      return 'resend';
    case 'OUTPOST_ERR_TRAILER_MISSING':
      return 'hash-first';
  }
  const s = err.status;
  if (s === undefined || s >= 500 || s === 408 || s === 429) return 'retry';
  if (s === 413) return 'smaller';
  if (s === 401 || s === 403) return 'fatal';
  return 'refuse';
}
