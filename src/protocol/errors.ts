/**
 * Every error outpost reports, declared once. CODES gives each stable code its HTTP status (none
 * for errors that never cross HTTP: settings, start-up, the store's version) and a summary; E makes
 * each error, with its message template and the field it names, as fastify's errors.js does. A
 * throw site says `throw E.runNotFound(id)`, never a code and a message of its own.
 */
import { describeValue, quote } from './describe';

export const CODES = {
  OUTPOST_ERR_BAD_REQUEST: { status: 400, summary: 'malformed request' },
  OUTPOST_ERR_BAD_PATH: { status: 400, summary: 'artifact path not allowed' },
  OUTPOST_ERR_BAD_SEQUENCE: { status: 400, summary: 'sequence numbers must increase within a batch' },
  OUTPOST_ERR_BAD_LINE: { status: 400, summary: 'invalid metric line' },
  OUTPOST_ERR_BAD_FILTER: { status: 400, summary: 'a run filter or sort key that does not parse' },
  OUTPOST_ERR_LENGTH_MISMATCH: { status: 400, summary: 'body length differs from the declared length' },
  OUTPOST_ERR_HASH_MISMATCH: { status: 400, summary: 'sha256 of the body differs from the declared one' },
  OUTPOST_ERR_TRAILER_MISSING: { status: 400, summary: 'a trailer was announced but did not arrive' },
  OUTPOST_ERR_UNAUTHORIZED: { status: 401, summary: 'a valid bearer token is required' },
  OUTPOST_ERR_NOT_FOUND: { status: 404, summary: 'no such route' },
  OUTPOST_ERR_RUN_NOT_FOUND: { status: 404, summary: 'unknown run' },
  OUTPOST_ERR_METRIC_NOT_FOUND: { status: 404, summary: 'unknown metric' },
  OUTPOST_ERR_ARTIFACT_NOT_FOUND: { status: 404, summary: 'unknown artifact' },
  OUTPOST_ERR_ASSET_NOT_FOUND: { status: 404, summary: 'unknown asset' },
  OUTPOST_ERR_UPLOAD_NOT_FOUND: { status: 404, summary: 'unknown resumable upload (never opened, committed, abandoned or swept)' },
  OUTPOST_ERR_TIMEOUT: { status: 408, summary: 'the request body did not arrive in time' },
  OUTPOST_ERR_SEQUENCE_GAP: { status: 409, summary: 'the batch starts after the next line the stream expects' },
  OUTPOST_ERR_UPLOAD_OFFSET: { status: 409, summary: 'a chunk sent at another offset than the next one the upload expects' },
  OUTPOST_ERR_UPLOAD_INCOMPLETE: { status: 409, summary: 'a resumable upload committed before all its chunks arrived' },
  OUTPOST_ERR_LENGTH_REQUIRED: { status: 411, summary: 'Content-Length is required' },
  OUTPOST_ERR_TOO_LARGE: { status: 413, summary: 'too large' },
  OUTPOST_ERR_URI_TOO_LONG: { status: 414, summary: 'a part of the URL is too long' },
  OUTPOST_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'unsupported Content-Type' },
  OUTPOST_ERR_RANGE: { status: 416, summary: 'range not satisfiable' },
  OUTPOST_ERR_HEADERS_TOO_LARGE: { status: 431, summary: 'the request headers are too large' },
  OUTPOST_ERR_INTERNAL: { status: 500, summary: 'internal error' },
  OUTPOST_ERR_UNAVAILABLE: { status: 503, summary: 'service unavailable' },
  OUTPOST_ERR_STORAGE_FULL: { status: 507, summary: "the store's disk is full" },
  OUTPOST_ERR_CONFIG: { summary: 'a setting in OUTPOST_CONFIG is not valid' },
  OUTPOST_ERR_STARTUP: { summary: 'the service cannot start with these settings' },
  OUTPOST_ERR_STORE_VERSION: { summary: 'the store was made by a newer outpost' },
} as const satisfies Record<string, { status?: number; summary: string }>;

export type ErrorCode = keyof typeof CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(CODES, code);
}

/** The HTTP status of a code; undefined for errors that never cross HTTP. */
export function statusOf(code: ErrorCode): number | undefined {
  return (CODES[code] as { status?: number }).status;
}

export class OutpostError extends Error {
  readonly status: number | undefined;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly field?: string,
  ) {
    super(message ?? CODES[code].summary);
    this.status = statusOf(code);
    this.name = 'OutpostError';
  }
}

const make = (code: ErrorCode, message: string, field?: string) => new OutpostError(code, message, field);

/** Every error, by what went wrong. */
export const E = {
  // -- not found -----------------------------------------------------------------------------
  routeNotFound: (method: string, url: string) => make('OUTPOST_ERR_NOT_FOUND', `no route ${method} ${url.split('?')[0]}`),
  runNotFound: (id: string) => make('OUTPOST_ERR_RUN_NOT_FOUND', `unknown run ${quote(id)}`, 'run'),
  noRunsYet: (experiment?: string) =>
    make('OUTPOST_ERR_RUN_NOT_FOUND', `there are no runs${experiment === undefined ? '' : ` in experiment ${quote(experiment)}`} yet`),
  metricNotFound: (run: string, name: string) => make('OUTPOST_ERR_METRIC_NOT_FOUND', `run ${quote(run)} has no metric ${quote(name)}`, 'name'),
  artifactNotFound: (run: string, path: string, version?: number) =>
    make('OUTPOST_ERR_ARTIFACT_NOT_FOUND', `run ${quote(run)} has no artifact ${quote(path)}${version ? ` version ${version}` : ''}`, 'path'),
  nothingToPromote: (run: string, prefix: string) => make('OUTPOST_ERR_ARTIFACT_NOT_FOUND', `run ${quote(run)} has no artifact under ${quote(prefix)}`, 'prefix'),
  assetNotFound: (name: string) => make('OUTPOST_ERR_ASSET_NOT_FOUND', `unknown asset ${quote(name)}`, 'name'),

  // -- request bodies, headers, URLs ------------------------------------------------------------
  emptyJsonBody: () => make('OUTPOST_ERR_BAD_REQUEST', 'the JSON body is empty', 'body'),
  notJson: (detail: string) => make('OUTPOST_ERR_BAD_REQUEST', `the body is not valid JSON: ${detail}`, 'body'),
  prototypeKey: () =>
    make(
      'OUTPOST_ERR_BAD_REQUEST',
      'the JSON body has a "__proto__" (or "constructor.prototype") key, refused in JSON bodies; metric lines sent as NDJSON may use such names',
      'body',
    ),
  malformedBody: (detail: string) => make('OUTPOST_ERR_BAD_REQUEST', `malformed body: ${detail}`, 'body'),
  invalidField: (field: string, rule: string) => make('OUTPOST_ERR_BAD_REQUEST', `${field}: ${rule}`, field),
  illFormedString: (field: string, problem: string) => make('OUTPOST_ERR_BAD_REQUEST', `${field} ${problem}`, field),
  badHeader: (header: string, rule: string) => make('OUTPOST_ERR_BAD_REQUEST', `header ${header} ${rule}`, header),
  unsupportedEncoding: (encoding: string) => make('OUTPOST_ERR_BAD_REQUEST', `unsupported Content-Encoding ${quote(encoding)}`, 'content-encoding'),
  unsupportedMediaType: (type: string | undefined, accepted: readonly string[]) =>
    make(
      'OUTPOST_ERR_UNSUPPORTED_MEDIA_TYPE',
      `${type === undefined ? 'no Content-Type' : `Content-Type ${quote(type)}`} is not accepted here: send ${accepted.join(' or ')}`,
      'content-type',
    ),
  contentLengthWrong: (detail: string) => make('OUTPOST_ERR_LENGTH_MISMATCH', `Content-Length does not match the body: ${detail}`, 'content-length'),
  tooLarge: (detail: string) => make('OUTPOST_ERR_TOO_LARGE', detail),
  bodyOverLimit: (limit: number, setting: string) => make('OUTPOST_ERR_TOO_LARGE', `the body is over the ${limit}-byte limit of this request (${setting})`, 'body'),
  bodyTimeout: (ms: number) => make('OUTPOST_ERR_TIMEOUT', `the request body did not arrive whole within ${ms} ms (service.bodyTimeoutMs)`, 'body'),
  uploadIdle: (ms: number) => make('OUTPOST_ERR_TIMEOUT', `no byte of the upload arrived for ${ms} ms (service.uploadIdleTimeoutMs)`, 'body'),
  uploadTooSlow: (bytesPerSec: number, floor: number) =>
    make('OUTPOST_ERR_TIMEOUT', `the upload came at ${bytesPerSec} bytes/s on average, under the floor of ${floor} (service.minUploadBytesPerSec)`, 'body'),
  bodiesInMemory: (held: number, more: number, max: number) =>
    make(
      'OUTPOST_ERR_UNAVAILABLE',
      `the service holds ${held} bytes of request bodies in memory; ${more} more would pass its limit of ${max} (service.maxBufferedBodyBytes): try again shortly`,
    ),
  bodyOverMemory: (declared: number, max: number) =>
    make('OUTPOST_ERR_TOO_LARGE', `a body of ${declared} bytes is over the ${max} bytes this service holds in memory at once (service.maxBufferedBodyBytes)`, 'content-length'),
  closing: () => make('OUTPOST_ERR_UNAVAILABLE', 'the service is shutting down; try again shortly'),
  badUrl: (url: string) =>
    make('OUTPOST_ERR_BAD_REQUEST', `the URL ${quote(url)} does not decode: a "%" is not followed by two hex digits, or the bytes are not UTF-8`, 'url'),
  urlPartTooLong: (url: string) => make('OUTPOST_ERR_URI_TOO_LONG', `a part of the URL ${quote(url)} is longer than the service takes`, 'url'),
  headersTooLarge: (max: number) => make('OUTPOST_ERR_HEADERS_TOO_LARGE', `the request's headers are over the size this service takes (${max} bytes)`),
  requestTimeout: () => make('OUTPOST_ERR_TIMEOUT', 'the request did not arrive in time'),
  malformedHttp: (detail: string) => make('OUTPOST_ERR_BAD_REQUEST', `malformed HTTP request (${detail})`),
  unauthorized: () => make('OUTPOST_ERR_UNAUTHORIZED', 'a valid bearer token is required (Authorization: Bearer <token>)'),
  internal: () => make('OUTPOST_ERR_INTERNAL', 'internal error'),

  // -- run queries ----------------------------------------------------------------------------
  badFilter: (what: 'filter' | 'sort', text: string, offset: number, problem: string) =>
    make('OUTPOST_ERR_BAD_FILTER', `${what} ${quote(text)}: at character ${offset + 1}: ${problem}`, what),

  // -- metric batches -------------------------------------------------------------------------
  ndjsonNoFinalNewline: () => make('OUTPOST_ERR_BAD_REQUEST', 'an NDJSON batch must end with a newline', 'body'),
  tooManyLines: (lines: number, max: number) =>
    make('OUTPOST_ERR_BAD_REQUEST', `an NDJSON batch of ${lines} lines is over the limit of ${max} (limits.maxBatchLines)`, 'body'),
  tooManyCells: (max: number) => make('OUTPOST_ERR_TOO_LARGE', `the batch holds more than ${max} metric values, the limit of one request (limits.maxBatchCells)`, 'body'),
  badLine: (where: string, reason: string) => make('OUTPOST_ERR_BAD_LINE', `${where}: ${reason}`, where),
  badSequence: (where: string, seq: number, previous: number) => make('OUTPOST_ERR_BAD_SEQUENCE', `${where}.seq ${seq} does not follow ${previous}`, `${where}.seq`),
  sequenceGap: (stream: string, stored: number, start: number) =>
    make(
      'OUTPOST_ERR_SEQUENCE_GAP',
      `stream ${JSON.stringify(stream)} has lines up to ${stored} stored; this batch starts at ${start}, ` +
        `so lines ${stored + 1}-${start - 1} would be missing: send the stream again from line ${stored + 1}`,
    ),

  // -- artifacts --------------------------------------------------------------------------------
  badArtifactPath: (path: string, problem: string) => make('OUTPOST_ERR_BAD_PATH', `artifact path ${quote(path)}: ${problem}`, 'path'),
  badPrefix: (prefix: string, problem: string) => make('OUTPOST_ERR_BAD_PATH', `prefix ${quote(prefix)}: ${problem}`, 'prefix'),
  lengthRequired: (sizeHeader: string) =>
    make('OUTPOST_ERR_LENGTH_REQUIRED', `Content-Length (or ${sizeHeader} with a chunked body) is required for uploads`, 'content-length'),
  lengthNotNumber: (field: string, raw: unknown) => make('OUTPOST_ERR_BAD_REQUEST', `${field} must be a whole number of bytes, not ${describeValue(raw)}`, field),
  artifactTooLarge: (path: string, length: number, max: number, field: string) =>
    make('OUTPOST_ERR_TOO_LARGE', `artifact ${quote(path)} is ${length} bytes, over the ${max}-byte limit (limits.maxFileBytes)`, field),
  bodyLongerThanDeclared: (path: string, declared: number) =>
    make('OUTPOST_ERR_LENGTH_MISMATCH', `artifact ${quote(path)}: body is longer than the declared ${declared} bytes`, 'body'),
  bodyLengthDiffers: (path: string, received: number, declared: number) =>
    make('OUTPOST_ERR_LENGTH_MISMATCH', `artifact ${quote(path)}: received ${received} bytes, ${declared} were declared`, 'body'),
  trailerMissing: (path: string, header: string) => make('OUTPOST_ERR_TRAILER_MISSING', `artifact ${quote(path)}: a ${header} trailer was announced but not sent`, header),
  hashMismatch: (path: string, received: string, declared: string, header: string) =>
    make('OUTPOST_ERR_HASH_MISMATCH', `artifact ${quote(path)}: sha256 is ${received}, the client declared ${declared}`, header),
  badVersion: () => make('OUTPOST_ERR_BAD_REQUEST', 'version must be an integer >= 1', 'version'),
  rangeNotSatisfiable: (path: string, size: number) => make('OUTPOST_ERR_RANGE', `range not satisfiable for ${quote(path)} (${size} bytes)`, 'range'),
  uploadNotFound: (run: string, upload: string) =>
    make('OUTPOST_ERR_UPLOAD_NOT_FOUND', `run ${quote(run)} has no upload ${quote(upload)} in progress (committed, abandoned, or swept after service.uploadPartialMaxAgeS)`, 'upload'),
  uploadOffset: (path: string, offset: number, received: number) =>
    make('OUTPOST_ERR_UPLOAD_OFFSET', `upload of ${quote(path)}: a chunk at offset ${offset}, but ${received} bytes are stored: send the chunk at offset ${received}`, 'offset'),
  chunkOffset: (path: string, offset: number, size: number, chunkBytes: number) =>
    make('OUTPOST_ERR_BAD_REQUEST', `upload of ${quote(path)}: offset ${offset} is not a multiple of the chunk size ${chunkBytes} below the size ${size}`, 'offset'),
  chunkLength: (path: string, offset: number, length: number, expected: number) =>
    make('OUTPOST_ERR_LENGTH_MISMATCH', `upload of ${quote(path)}: the chunk at offset ${offset} is ${length} bytes; it must be ${expected}`, 'content-length'),
  uploadIncomplete: (path: string, received: number, size: number) =>
    make('OUTPOST_ERR_UPLOAD_INCOMPLETE', `upload of ${quote(path)}: ${received} of ${size} bytes stored; send the rest before the commit`, 'upload'),
  uploadHashRequired: (path: string) =>
    make('OUTPOST_ERR_BAD_REQUEST', `upload of ${quote(path)}: the commit must declare the file's sha256 (none was given when it was opened)`, 'sha256'),
  blobRemovedMeanwhile: (path: string) =>
    make('OUTPOST_ERR_UNAVAILABLE', `artifact ${quote(path)} not stored: a purge removed its bytes while they arrived; send it again`, 'path'),
  blobMissing: (sha256: string, where: string) => make('OUTPOST_ERR_INTERNAL', `the blob ${sha256} is missing from ${where}`),
  storeUnavailable: (detail: string) => make('OUTPOST_ERR_UNAVAILABLE', `the database cannot be reached (${detail}); try again shortly`),
  storageFull: (cause: string, where: string) => make('OUTPOST_ERR_STORAGE_FULL', `the store's disk is full (${cause} writing ${where})`),
  artifactNotStored: (path: string, bytes: number, why: OutpostError) =>
    make(why.code, `artifact ${quote(path)} of ${bytes} bytes not stored: ${why.message}`, why.field),

  // -- the loggers ----------------------------------------------------------------------------
  cannotLog: (what: string, reason: string) => make('OUTPOST_ERR_BAD_LINE', `cannot log ${what}: ${reason}`),
  lineTooLong: (what: string, bytes: number, max: number) =>
    make('OUTPOST_ERR_TOO_LARGE', `cannot log ${what}: the line is ${bytes} bytes, over the ${max}-byte limit of a metric line`),
  cannotUploadPath: (path: string, problem: string) =>
    make('OUTPOST_ERR_BAD_PATH', `cannot upload ${quote(path)}: ${problem}; give a relative path inside outputs/`, 'path'),
  uploadContent: (path: string) => make('OUTPOST_ERR_BAD_REQUEST', `cannot upload ${quote(path)}: content must be a string or a Buffer`, 'content'),
  uploadTooLarge: (path: string, size: number, max: number) =>
    make('OUTPOST_ERR_TOO_LARGE', `cannot upload ${quote(path)}: ${size} bytes is over the ${max}-byte cap of one artifact`, 'content'),

  // -- settings, start-up, the store's version (never over HTTP) ---------------------------------
  config: (problem: string) => make('OUTPOST_ERR_CONFIG', `OUTPOST_CONFIG${problem}`),
  startup: (problem: string) => make('OUTPOST_ERR_STARTUP', problem),
  copyTargetNotEmpty: (where: string, runs: number) =>
    make('OUTPOST_ERR_STARTUP', `${where} holds ${runs} run${runs === 1 ? '' : 's'} already: outpost db copy copies into an empty database only`),
  storeTooNew: (version: number, known: number) =>
    make('OUTPOST_ERR_STORE_VERSION', `the store has schema version ${version}, newer than this outpost knows (${known}); upgrade outpost`),
};
