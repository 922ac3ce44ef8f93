/** The batcher and the batch splitting, on their own: no process, no file, no service. */
import { Batch, BatchOrigin, Batcher, LineBudget, nthNewline, rejectBatch, splitBatch } from '../../../src/agent/sender/batch';

interface Pos {
  line: number;
  offset: number;
}

function origin(splitEnd?: BatchOrigin<Pos>['splitEnd']): BatchOrigin<Pos> {
  return { file: 'f', source: null, commit: async () => undefined, rewind: async () => undefined, splitEnd };
}

function lines(from: number, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => `{"name":"i","value":${from + i}}\n`).join(''));
}

function setup(limits = { batchMaxLines: 4, batchMaxBytes: 1 << 20 }) {
  const sealed: Batch<Pos>[] = [];
  const budget = new LineBudget();
  const o = origin((end, lastSeq, restBytes) => ({ line: lastSeq, offset: end.offset - restBytes }));
  const b = new Batcher<Pos>(o, limits, budget, (x) => sealed.push(x));
  return { sealed, budget, b };
}

test('a run of lines larger than a batch is cut at newlines, each part ending where its last line does', () => {
  const { sealed, budget, b } = setup();
  const data = lines(1, 10);
  b.addLines('s', 1, 10, data, (n, bytes) => ({ line: n, offset: bytes }));
  expect(sealed.map((x) => [x.firstSeq, x.count])).toEqual([
    [1, 4],
    [5, 4],
  ]);
  expect(b.current).toMatchObject({ firstSeq: 9, count: 2 });
  expect(budget.held).toBe(10);
  // Each part's bytes are its lines, and its end is just past its last line.
  expect(Buffer.concat(sealed[0].chunks).toString()).toBe(lines(1, 4).toString());
  expect(sealed[0].end).toEqual({ line: 4, offset: lines(1, 4).length });
  expect(sealed[1].end).toEqual({ line: 8, offset: lines(1, 8).length });
  expect(Buffer.concat(b.current!.chunks).toString()).toBe(lines(9, 2).toString());
});

test('a batch closes at the byte limit too', () => {
  const { sealed, b } = setup({ batchMaxLines: 1000, batchMaxBytes: 50 });
  b.addLines('s', 1, 3, lines(1, 3), (n) => ({ line: n, offset: 0 }));
  expect(sealed).toHaveLength(1);
  expect(sealed[0].count).toBe(3);
});

test('another stream, a rejected line or a gap in the numbers starts a new batch', () => {
  const { sealed, b } = setup({ batchMaxLines: 100, batchMaxBytes: 1 << 20 });
  b.addLines('s', 1, 2, lines(1, 2), (n) => ({ line: n, offset: 0 }));
  b.addRejected('s', 3, 'too long', { line: 3, offset: 0 });
  b.addLines('s', 4, 1, lines(4, 1), () => ({ line: 4, offset: 0 }));
  b.addLines('t', 1, 1, lines(1, 1), () => ({ line: 1, offset: 0 }));
  b.addLines('t', 5, 1, lines(5, 1), () => ({ line: 5, offset: 0 }));
  b.seal();
  expect(sealed.map((x) => [x.stream, x.kind, x.firstSeq, x.count])).toEqual([
    ['s', 'lines', 1, 2],
    ['s', 'rejected', 3, 1],
    ['s', 'lines', 4, 1],
    ['t', 'lines', 1, 1],
    ['t', 'lines', 5, 1],
  ]);
});

test('due: full, or open for the window', () => {
  const { b } = setup({ batchMaxLines: 100, batchMaxBytes: 1 << 20 });
  expect(b.due(25)).toBe(false);
  b.addLines('s', 1, 1, lines(1, 1), () => ({ line: 1, offset: 0 }));
  const opened = b.current!.firstAt;
  expect(b.due(25, opened + 10)).toBe(false);
  expect(b.due(25, opened + 25)).toBe(true);
});

test('a split batch keeps its first half, with an end the origin computes; the rest carries the old end', () => {
  const { sealed, b } = setup({ batchMaxLines: 5, batchMaxBytes: 1 << 20 });
  const data = lines(1, 5);
  b.addLines('s', 1, 5, data, (n, bytes) => ({ line: n, offset: 1000 + bytes }));
  const batch = sealed[0];
  const rest = splitBatch(batch);
  expect([batch.firstSeq, batch.count, rest.firstSeq, rest.count]).toEqual([1, 3, 4, 2]);
  expect(Buffer.concat(batch.chunks).toString()).toBe(lines(1, 3).toString());
  expect(Buffer.concat(rest.chunks).toString()).toBe(lines(4, 2).toString());
  expect(batch.end).toEqual({ line: 3, offset: 1000 + lines(1, 3).length });
  expect(rest.end).toEqual({ line: 5, offset: 1000 + data.length });
});

test('an origin that cannot say where the first half ends commits nothing for it', () => {
  const sealed: Batch<Pos>[] = [];
  const b = new Batcher<Pos>(origin(), { batchMaxLines: 2, batchMaxBytes: 1 << 20 }, new LineBudget(), (x) => sealed.push(x));
  b.addLines('s', 1, 2, lines(1, 2), (n) => ({ line: n, offset: 0 }));
  const rest = splitBatch(sealed[0]);
  expect(sealed[0].end).toBeNull();
  expect(rest.end).toEqual({ line: 2, offset: 0 });
});

test('a one-line batch refused by the service becomes that line rejected, with the reason', () => {
  const { sealed, b } = setup();
  b.addLines('s', 7, 1, lines(7, 1), () => ({ line: 7, offset: 0 }));
  b.seal();
  rejectBatch(sealed[0], 'bad');
  expect(sealed[0]).toMatchObject({ kind: 'rejected', chunks: [], rejected: [{ seq: 7, error: 'refused by the service: bad' }] });
});

test('drop forgets the open batch and gives its lines back to the budget', () => {
  const { budget, b } = setup({ batchMaxLines: 100, batchMaxBytes: 1 << 20 });
  b.addLines('s', 1, 3, lines(1, 3), () => ({ line: 3, offset: 0 }));
  expect(b.drop()).toBe(3);
  expect([b.current, budget.held]).toEqual([null, 0]);
});

test('nthNewline', () => {
  const d = Buffer.from('a\nb\nc\n');
  expect([nthNewline(d, 1), nthNewline(d, 2), nthNewline(d, 1, 2), nthNewline(d, 2, 2)]).toEqual([1, 3, 3, 5]);
});
