/** The JSON form of a metric batch, checked with the metric line's rules before the store sees it. */
import { settings } from '../../config';
import type { OutpostError, WireLine } from '../../src/protocol';
import { checkJsonBatch } from '../../src/service/json-batch';

const lines = (from: number, to: number): WireLine[] => Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, time: 1, metrics: { loss: from + i } }));
const check = (l: WireLine[]) => checkJsonBatch({ stream: 's', lines: l }, settings.limits);
const refusal = (l: WireLine[]) => {
  try {
    check(l);
  } catch (err) {
    return err as OutpostError;
  }
  throw new Error('the batch was taken');
};

test('a batch whose sequence numbers go backwards is refused, naming the line', () => {
  expect(refusal([...lines(1, 3), ...lines(2, 2)])).toMatchObject({ code: 'OUTPOST_ERR_BAD_SEQUENCE', field: 'lines[3].seq' });
});

test('an invalid line anywhere in a batch refuses the whole batch and names the line', () => {
  const err = refusal([...lines(1, 2), { seq: 3, time: 1, metrics: { loss: Number.NaN } }]);
  expect(err).toMatchObject({ code: 'OUTPOST_ERR_BAD_LINE', field: 'lines[2]' });
  expect(err.message).toMatch(/lines\[2\].*finite/);
});

test('a checked batch covers its first line to its last, blank lines between included', () => {
  expect(check([...lines(3, 4), ...lines(7, 7)])).toMatchObject({ firstSeq: 3, lastSeq: 7 });
  expect(check([])).toMatchObject({ lastSeq: 0 });
});

test('more metric values than limits.maxBatchCells is a 413 naming the setting', () => {
  const many = Array.from({ length: settings.limits.maxBatchCells / 1000 + 1 }, (_, i) => ({
    seq: i + 1,
    time: 1,
    metrics: Object.fromEntries(Array.from({ length: 1000 }, (_, j) => [`m${j}`, j])),
  }));
  expect(refusal(many)).toMatchObject({ code: 'OUTPOST_ERR_TOO_LARGE', status: 413 });
});
