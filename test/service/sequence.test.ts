/** A stream's lines are numbered 1, 2, 3...: a batch may not start past the next line the stream expects, and nothing skipped is unstored. */
import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest } from './raw-http';

describe('sequence numbers over HTTP', () => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const api = (method: string, path: string, body?: unknown) => jsonRequest(svc.url, method, `/api/v1${path}`, body);
  /** Lines first..last of `stream` as NDJSON, each one metric `x` whose value is its seq; `blank` seqs are blank lines. */
  const ndjson = (stream: string, first: number, last: number, blank: number[] = []) => {
    let body = '';
    for (let seq = first; seq <= last; seq++) body += blank.includes(seq) ? '\n' : `{"name":"x","value":${seq}}\n`;
    return rawRequest(svc.url, {
      method: 'POST',
      path: '/api/v1/runs/seq/metrics',
      headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': stream, 'x-outpost-first-seq': String(first) },
      body,
    });
  };
  const stored = async () => (await api('GET', '/runs/seq/metrics/x?limit=100000')).json().points.map((p: { value: number }) => p.value);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  beforeAll(async () => {
    svc = await startTempService();
    expect((await api('PUT', '/runs/seq', { experiment: 'e' })).status).toBe(200);
  });
  afterAll(() => svc.stopAndClean());

  test('1-100 stored; a batch starting at 150 is a 409 naming the stream and both numbers, and stores nothing; 50-120 skips 50-100 and stores 101-120', async () => {
    expect((await ndjson('s', 1, 100)).json()).toMatchObject({ ackedSeq: 100, stored: 100, skipped: 0 });
    const gap = await ndjson('s', 150, 160);
    expect(gap.status).toBe(409);
    const err = gap.json().error;
    expect(err.code).toBe('OUTPOST_ERR_SEQUENCE_GAP');
    expect(err.message).toMatch(/"s".*\b100\b.*\b150\b/);
    expect(await stored()).toEqual(range(1, 100));
    expect((await ndjson('s', 50, 120)).json()).toMatchObject({ ackedSeq: 120, stored: 20, skipped: 51 });
    expect(await stored()).toEqual(range(1, 120));
  });

  test('a new stream must start at line 1', async () => {
    const res = await ndjson('fresh', 5, 6);
    expect(res.status).toBe(409);
    expect(res.json().error.message).toMatch(/"fresh".*\b0\b.*\b5\b/);
    expect((await ndjson('fresh', 1, 6)).json()).toMatchObject({ ackedSeq: 6, stored: 6 });
  });

  test('trailing blank lines advance the stream, so the next batch follows them; a batch of blank lines alone too', async () => {
    expect((await ndjson('b', 1, 10, [9, 10])).json()).toMatchObject({ ackedSeq: 10, stored: 8 });
    expect((await ndjson('b', 11, 13, [11, 12, 13])).json()).toMatchObject({ ackedSeq: 13, stored: 0 });
    expect((await ndjson('b', 14, 15)).json()).toMatchObject({ ackedSeq: 15, stored: 2 });
    // A retry of the blank-ended batch is skipped whole, as a retry should be.
    expect((await ndjson('b', 1, 10, [9, 10])).json()).toMatchObject({ ackedSeq: 15, stored: 0, skipped: 8 });
  });

  test('the JSON form: a batch covers its first to its last line (seqs missing inside are blank lines); one starting past the next line is a 409', async () => {
    const line = (seq: number) => ({ seq, time: 1, metrics: { j: seq } });
    expect((await api('POST', '/runs/seq/metrics', { stream: 'j', lines: [line(1), line(2), line(5)] })).json()).toMatchObject({ ackedSeq: 5, stored: 3 });
    const gap = await api('POST', '/runs/seq/metrics', { stream: 'j', lines: [line(7)] });
    expect(gap.status).toBe(409);
    expect(gap.json().error.code).toBe('OUTPOST_ERR_SEQUENCE_GAP');
    expect((await api('POST', '/runs/seq/metrics', { stream: 'j', lines: [line(4), line(6)] })).json()).toMatchObject({ ackedSeq: 6, stored: 1, skipped: 1 });
    const values = (await api('GET', '/runs/seq/metrics/j')).json().points.map((p: { value: number }) => p.value);
    expect(values).toEqual([1, 2, 5, 6]);
    // An empty batch covers nothing: it says where the stream stands.
    expect((await api('POST', '/runs/seq/metrics', { stream: 'j', lines: [] })).json()).toMatchObject({ ackedSeq: 6, stored: 0, skipped: 0 });
  });
});
