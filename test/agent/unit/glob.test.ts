/** The file sources' globs. */
import { globList, globMatcher } from '../../../src/agent/sources/glob';

test('** is any number of folders, * stays within one, ? is one character, {a,b} either', () => {
  const tb = globMatcher('**/events.out.tfevents.*');
  expect(['events.out.tfevents.1.host', 'lightning_logs/version_0/events.out.tfevents.1700.h.1.0', 'a/b/c/events.out.tfevents.x'].every(tb)).toBe(true);
  expect(['events.out.tfevents', 'xevents.out.tfevents.1', 'a/events.out.tfevents.1/sub'].some(tb)).toBe(false);
  const csv = globMatcher('**/*.csv, **/training.log');
  expect([csv('metrics.csv'), csv('csv_logs/version_0/metrics.csv'), csv('training.log'), csv('x/training.log'), csv('a.csv.bak'), csv('training.logs')]).toEqual([true, true, true, true, false, false]);
  expect(globMatcher('run?/{a,b}.csv')('run1/b.csv')).toBe(true);
  expect(globMatcher('run?/{a,b}.csv')('run12/b.csv')).toBe(false);
  expect(globMatcher('logs/**')('logs/x/y.z')).toBe(true);
  expect(globMatcher('a.b')('axb')).toBe(false);
});

test('an empty setting matches nothing: the source is off', () => {
  expect(globList('')).toEqual([]);
  expect(globList(' , ')).toEqual([]);
  expect(globMatcher('')('metrics.csv')).toBe(false);
  expect(globList('{a,b}.csv,c.csv')).toEqual(['{a,b}.csv', 'c.csv']);
});
