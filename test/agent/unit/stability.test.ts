/** The stability decision on its own. */
import { stabilityVerdict } from '../../../src/agent/outputs/stability';

const st = (size: number, mtimeMs: number) => ({ size, mtimeMs });

test('a file is due once it is as it was a period ago and differs from what was uploaded', () => {
  expect(stabilityVerdict(st(10, 1), st(10, 1), undefined)).toBe('due');
  expect(stabilityVerdict(st(10, 1), st(10, 1), st(9, 1))).toBe('due');
});

test('still changing: another period', () => {
  expect(stabilityVerdict(st(10, 1), st(11, 2), undefined)).toBe('changed');
  expect(stabilityVerdict(null, st(11, 2), undefined)).toBe('changed');
});

test('settled as it was uploaded: nothing to do; gone: nothing either', () => {
  expect(stabilityVerdict(st(10, 1), st(10, 1), st(10, 1))).toBe('unchanged');
  expect(stabilityVerdict(st(10, 1), null, undefined)).toBe('gone');
});
