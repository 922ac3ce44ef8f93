/** JSON schemas for request bodies and queries; fastify (ajv) enforces them before a handler runs. */
import { idPattern, MAX_SOURCE_CHARS, RUN_STATUSES } from '../protocol';
import { settings } from '../../config';

const name = { type: 'string', minLength: 1, maxLength: settings.limits.maxNameChars };
/** Run ids and asset names: one rule (limits.maxIdChars) at every door. */
const id = { type: 'string', pattern: idPattern(settings.limits.maxIdChars) };
const nullableString = { type: ['string', 'null'], maxLength: 4096 };
const isoTime = { type: 'string', format: 'date-time' };

/** Params of every route under /runs/:id (the others, such as :name or *, are judged by the route). */
export const runIdParam = {
  type: 'object',
  properties: { id },
  required: ['id'],
} as const;

export const assetNameParam = {
  type: 'object',
  properties: { name: id },
  required: ['name'],
} as const;

export const runUpsertBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    experiment: name,
    name,
    status: { type: 'string', enum: RUN_STATUSES },
    exitCode: { type: ['integer', 'null'] },
    startTime: isoTime,
    endTime: { anyOf: [isoTime, { type: 'null' }] },
    command: { type: 'string', maxLength: 65536 },
    cwd: { type: 'string', maxLength: 4096 },
    host: { type: 'string', maxLength: 1024 },
    gitCommit: nullableString,
    gitDirty: { type: ['boolean', 'null'] },
    // A note given at the start (outpost run --note); one already there is kept (see upsertRun).
    note: { type: 'string', maxLength: settings.limits.maxNoteChars },
  },
} as const;

export const runListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    experiment: name,
    status: { type: 'string', enum: RUN_STATUSES },
    limit: { type: 'integer', minimum: 1, maximum: 10_000 },
    offset: { type: 'integer', minimum: 0 },
    include: { type: 'string', enum: ['metrics'] },
    filter: { type: 'string' },
    sort: { type: 'string' },
    deleted: { type: 'boolean' },
  },
} as const;

const tagValue = { type: ['string', 'number', 'boolean', 'null'] };

export const runPatchBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name,
    note: { type: ['string', 'null'], maxLength: settings.limits.maxNoteChars },
    tags: { type: 'object', additionalProperties: tagValue, maxProperties: settings.limits.maxMetricsPerLine },
  },
} as const;

export const purgeBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    olderThanSeconds: { type: 'number', minimum: 0 },
    dryRun: { type: 'boolean' },
  },
} as const;

export const metricBatchBody = {
  type: 'object',
  additionalProperties: false,
  required: ['stream', 'lines'],
  properties: {
    stream: { type: 'string', minLength: 1, maxLength: 512 },
    file: { type: 'string', maxLength: 4096 },
    source: { type: 'string', minLength: 1, maxLength: MAX_SOURCE_CHARS },
    lines: {
      type: 'array',
      maxItems: settings.limits.maxBatchLines,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['seq', 'time'],
        properties: {
          seq: { type: 'integer', minimum: 1 },
          time: { type: 'number' },
          step: { type: 'integer', minimum: 0 },
          metrics: { type: 'object' },
          params: { type: 'object' },
          tags: { type: 'object' },
          error: { type: 'string', maxLength: 4096 },
        },
        oneOf: [{ required: ['metrics'] }, { required: ['params'] }, { required: ['tags'] }, { required: ['error'] }],
      },
    },
  },
} as const;

export const historyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxPoints: { type: 'integer', minimum: 2, maximum: settings.limits.maxHistoryPoints },
    offset: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 1, maximum: settings.limits.maxHistoryPageSize },
  },
} as const;

export const eventBody = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'message'],
  properties: {
    kind: { type: 'string', enum: ['file-refused', 'stream-reset', 'warning'] },
    path: { type: 'string', maxLength: settings.limits.maxArtifactPathChars },
    message: { type: 'string', minLength: 1, maxLength: 4096 },
  },
} as const;

export const promoteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['run', 'prefix', 'name'],
  properties: {
    run: id,
    prefix: { type: 'string', maxLength: settings.limits.maxArtifactPathChars },
    name: id,
  },
} as const;

const sha256 = { type: 'string', pattern: '^[0-9a-fA-F]{64}$' };

/** Params of the routes of one resumable upload: ids are 32 lowercase hex digits, made by the service. */
export const uploadParams = {
  type: 'object',
  properties: { id, upload: { type: 'string', pattern: '^[0-9a-f]{32}$' } },
  required: ['id', 'upload'],
} as const;

/** The artifact path is judged by the route (checkedArtifactPath), as for PUT /runs/:id/artifacts/*. */
export const uploadOpenBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string' },
    size: { type: 'integer', minimum: 0 },
    sha256,
    chunkBytes: { type: 'integer', minimum: 1 },
  },
  required: ['path', 'size'],
} as const;

export const uploadChunkQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { offset: { type: 'integer', minimum: 0 } },
  required: ['offset'],
} as const;

export const uploadCommitBody = {
  type: 'object',
  additionalProperties: false,
  properties: { sha256 },
} as const;
