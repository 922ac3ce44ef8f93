/** Every error outpost reports, once, with a stable code and (where it applies) an HTTP status. */
export const ERRORS = {
  OUTPOST_ERR_NOT_FOUND: { status: 404, message: 'not found' },
  OUTPOST_ERR_RUN_NOT_FOUND: { status: 404, message: 'unknown run' },
  OUTPOST_ERR_METRIC_NOT_FOUND: { status: 404, message: 'unknown metric' },
  OUTPOST_ERR_ARTIFACT_NOT_FOUND: { status: 404, message: 'unknown artifact' },
  OUTPOST_ERR_ASSET_NOT_FOUND: { status: 404, message: 'unknown asset' },
  OUTPOST_ERR_BAD_REQUEST: { status: 400, message: 'malformed request' },
  OUTPOST_ERR_BAD_PATH: { status: 400, message: 'artifact path not allowed' },
  OUTPOST_ERR_BAD_SEQUENCE: { status: 400, message: 'sequence numbers must increase within a batch' },
  OUTPOST_ERR_BAD_LINE: { status: 400, message: 'invalid metric line' },
  OUTPOST_ERR_LENGTH_MISMATCH: { status: 400, message: 'body length differs from the declared length' },
  OUTPOST_ERR_HASH_MISMATCH: { status: 400, message: 'sha256 of the body differs from the declared one' },
  OUTPOST_ERR_TRAILER_MISSING: { status: 400, message: 'a trailer was announced but did not arrive' },
  OUTPOST_ERR_TIMEOUT: { status: 408, message: 'the request body did not arrive in time' },
  OUTPOST_ERR_LENGTH_REQUIRED: { status: 411, message: 'Content-Length is required' },
  OUTPOST_ERR_TOO_LARGE: { status: 413, message: 'too large' },
  OUTPOST_ERR_URI_TOO_LONG: { status: 414, message: 'a part of the URL is too long' },
  OUTPOST_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported Content-Type' },
  OUTPOST_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'the request headers are too large' },
  OUTPOST_ERR_UNAUTHORIZED: { status: 401, message: 'a valid bearer token is required' },
  OUTPOST_ERR_RANGE: { status: 416, message: 'range not satisfiable' },
  OUTPOST_ERR_CONFLICT: { status: 409, message: 'conflict' },
  OUTPOST_ERR_SEQUENCE_GAP: { status: 409, message: 'the batch starts after the next line the stream expects' },
  OUTPOST_ERR_UNAVAILABLE: { status: 503, message: 'service unavailable' },
  OUTPOST_ERR_STORAGE_FULL: { status: 507, message: "the store's disk is full" },
  OUTPOST_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class OutpostError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly field?: string,
  ) {
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
    this.name = 'OutpostError';
  }
}
