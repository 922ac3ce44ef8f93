/** CSV rows and their diffing, on their own. */
import { diffRows, digestKeys, parseCsv, parseRowsAfter, rowKey, rowLine, stepColumn } from '../../../src/agent/sources/csv/csv-rows';
import { flatten } from '../../../src/agent/sources/hparams/hparams-reader';

const keysOf = (text: string) => {
  const t = parseCsv(Buffer.from(text))!;
  return t.rows.map((r) => rowKey(t.header, r));
};

test('only whole lines are rows; byte offsets count UTF-8 bytes and CRLF', () => {
  const t = parseCsv(Buffer.from('epoch,é\r\n0,1\r\n1,2\r\n2,'))!;
  expect(t.header).toEqual(['epoch', 'é']);
  expect(t.rows).toEqual([
    ['0', '1'],
    ['1', '2'],
  ]);
  expect([t.headerEnd, ...t.ends]).toEqual([10, 15, 20]);
  expect(parseCsv(Buffer.from('epoch,lo'))).toBeNull();
  // A quoted cell holding a newline, not yet closed: its row is not whole.
  expect(parseCsv(Buffer.from('a,b\n1,"x\ny'))!.rows).toEqual([]);
  expect(parseRowsAfter(Buffer.from('epoch,x\n0,1\n1,2\n2,3\n'), 12)).toEqual({ rows: [['1', '2'], ['2', '3']], ends: [16, 20] });
  // Rows read after the last one shipped end as Python's csv writes them, CRLF, and keep no CR.
  expect(parseRowsAfter(Buffer.from('epoch,x\r\n0,1\r\n1,2\r\n'), 14)).toEqual({ rows: [['1', '2']], ends: [19] });
});

test("a rewrite under a wider header keeps the rows' keys: no change; cells moved between columns are another row", () => {
  const before = keysOf('epoch,step,loss\n0,9,0.9\n0,19,0.8\n');
  const after = keysOf('epoch,step,loss,acc\n0,9,0.9,\n0,19,0.8,\n0,19,,0.5\n');
  expect(after.slice(0, 2)).toEqual(before);
  expect(keysOf('step,epoch,loss\n9,0,0.9\n')[0]).toBe(before[0]); // column order does not matter
  expect(keysOf('epoch,step,loss\n0,9,0.7\n')[0]).not.toBe(before[0]);
});

test('diffRows: append, wait during a rewrite, rewritten when the shipped rows are not there as shipped', () => {
  const shipped = keysOf('epoch,loss\n0,1\n1,2\n');
  const digest = digestKeys(shipped);
  expect(diffRows(2, digest, keysOf('epoch,loss\n0,1\n1,2\n2,3\n'), shipped)).toBe('append');
  expect(diffRows(2, digest, keysOf('epoch,loss\n0,1\n1,2\n'), shipped)).toBe('append');
  expect(diffRows(2, digest, keysOf('epoch,loss,acc\n0,1,\n'), shipped)).toBe('wait'); // mid-rewrite
  expect(diffRows(2, digest, keysOf('epoch,loss\n0,9\n'), shipped)).toBe('rewritten'); // started over
  expect(diffRows(2, digest, keysOf('epoch,loss\n0,9\n'), null)).toBe('wait'); // after a restart: not known yet
  expect(diffRows(2, digest, keysOf('epoch,loss\n0,5\n1,2\n2,3\n'), null)).toBe('rewritten');
});

test('a row as a metric line: numbers, text, no empty cells, the step column as the step, nan left out and named', () => {
  expect(stepColumn(['epoch', 'step', 'x'])).toBe('step');
  expect(stepColumn(['epoch', 'loss'])).toBe('epoch');
  expect(stepColumn(['id', 'label'])).toBeNull();
  expect(rowLine(['epoch', 'step', 'loss', 'acc', 'note'], ['0', '19', '0.5', '', 'ok'], 'step')).toEqual({ text: '{"metrics":{"epoch":0,"loss":0.5,"note":"ok"},"step":19}\n', dropped: [] });
  expect(rowLine(['epoch', 'loss'], ['3', 'nan'], 'epoch')).toEqual({ text: '\n', dropped: [{ column: 'loss', cell: 'nan' }] });
  expect(rowLine(['epoch', 'loss', 'lr'], ['3', '-inf', '1e-3'], 'epoch')).toEqual({ text: '{"metrics":{"lr":0.001},"step":3}\n', dropped: [{ column: 'loss', cell: '-inf' }] });
});

test('hparams flattened: nested mappings dotted, lists kept, null and dates as text, other lists as JSON', () => {
  expect(flatten({ lr: 0.01, model: { depth: 4, act: { name: 'relu' } }, layers: [1, 'a', true], ckpt: null, when: new Date('2024-01-02T03:04:05Z'), sched: [{ at: 1 }] })).toEqual({
    lr: 0.01,
    'model.depth': 4,
    'model.act.name': 'relu',
    layers: [1, 'a', true],
    ckpt: 'null',
    when: '2024-01-02T03:04:05.000Z',
    sched: '[{"at":1}]',
  });
});
