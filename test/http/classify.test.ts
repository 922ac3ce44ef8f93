/** One decision for every sender: what to do about a failed request. */
import { ApiError } from '../../src/http/api-client';
import { classify } from '../../src/http/classify';

const answer = (status: number | undefined, code?: string) => new ApiError('x', { status, code });

test.each([
  ['no answer at all', answer(undefined), 'retry'],
  ['a 500', answer(500, 'OUTPOST_ERR_INTERNAL'), 'retry'],
  ['a 503 (busy, or closing)', answer(503, 'OUTPOST_ERR_UNAVAILABLE'), 'retry'],
  ['a 507 (the disk is full)', answer(507, 'OUTPOST_ERR_STORAGE_FULL'), 'retry'],
  ['a 408 and a 429', answer(408, 'OUTPOST_ERR_TIMEOUT'), 'retry'],
  ['a 429', answer(429), 'retry'],
  ['an unknown run', answer(404, 'OUTPOST_ERR_RUN_NOT_FOUND'), 'register'],
  ['a sequence gap', answer(409, 'OUTPOST_ERR_SEQUENCE_GAP'), 'rewind'],
  ['bytes that changed on the way', answer(400, 'OUTPOST_ERR_HASH_MISMATCH'), 'resend'],
  ['a length that changed on the way', answer(400, 'OUTPOST_ERR_LENGTH_MISMATCH'), 'resend'],
  ['a trailer a proxy dropped', answer(400, 'OUTPOST_ERR_TRAILER_MISSING'), 'hash-first'],
  ['too large', answer(413, 'OUTPOST_ERR_TOO_LARGE'), 'smaller'],
  ['a bad line', answer(400, 'OUTPOST_ERR_BAD_LINE'), 'refuse'],
  ['a bad path', answer(400, 'OUTPOST_ERR_BAD_PATH'), 'refuse'],
  ['another 404', answer(404, 'OUTPOST_ERR_NOT_FOUND'), 'refuse'],
  ['a refused token', answer(401, 'OUTPOST_ERR_UNAUTHORIZED'), 'fatal'],
  ['a 403 from a proxy', answer(403), 'fatal'],
])('%s: %s', (_what, err, verdict) => {
  expect(classify(err)).toBe(verdict);
});

test('a code that is not ours is not taken for one (it stays in the message)', () => {
  const err = answer(400, 'FST_ERR_SOMETHING');
  expect(err.code).toBeUndefined();
  expect(err.message).toBe('x (FST_ERR_SOMETHING)');
  expect(classify(err)).toBe('refuse');
});
