import { csvCell } from '../../src/cli/metric-series';
import { formatBytes, formatDuration, formatValue } from '../../src/cli/format-human';
import { formatTable } from '../../src/cli/format-table';
import { expandTwoLetterFlag } from '../../src/cli/two-letter-flag';

describe('CLI formatting helpers', () => {
  test('-ap and -ap=X become --artifact-prefix; arguments after -- are left alone', () => {
    expect(expandTwoLetterFlag(['-r', 'x', '-ap', 'outputs', '-n', 'm'], '-ap', '--artifact-prefix')).toEqual(['-r', 'x', '--artifact-prefix', 'outputs', '-n', 'm']);
    expect(expandTwoLetterFlag(['-ap=out/'], '-ap', '--artifact-prefix')).toEqual(['--artifact-prefix=out/']);
    expect(expandTwoLetterFlag(['--', '-ap'], '-ap', '--artifact-prefix')).toEqual(['--', '-ap']);
    expect(expandTwoLetterFlag(['-apx'], '-ap', '--artifact-prefix')).toEqual(['-apx']);
  });

  test('sizes read in binary units', () => {
    expect([0, 1023, 1024, 1536, 10 * 1024 * 1024, 512 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10 MiB', '512 GiB']);
  });

  test('durations read as h/m/s', () => {
    expect(formatDuration('2025-01-01T10:00:00Z', '2025-01-01T11:02:03Z')).toBe('1h 02m 03s');
    expect(formatDuration('2025-01-01T10:00:00Z', '2025-01-01T10:00:05Z')).toBe('5s');
    expect(formatDuration('2025-01-01T10:00:00Z', null, Date.parse('2025-01-01T10:01:00Z'))).toBe('1m 00s');
  });

  test('list values are shown whole; CSV cells are quoted only when needed', () => {
    expect(formatValue([1, 3, 5])).toBe('[1, 3, 5]');
    expect(csvCell(0.5)).toBe('0.5');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell([1, 2])).toBe('"[1,2]"');
  });

  test('tables align columns, right-aligning numbers when asked', () => {
    expect(formatTable(['NAME', 'N'], [['a', '1'], ['long name', '100']], { align: ['left', 'right'] })).toBe('NAME         N\na            1\nlong name  100\n');
  });
});
