/**
 * Two sources naming one metric: a series belongs to the source that wrote it first; another
 * source's values go to a series of their own, NAME (SOURCE), and the run records why.
 */
import type { MetricHistory, RunInfo } from '../../src/protocol';
import { sourceSeriesName } from '../../src/protocol';
import { pgCluster, STORE_KINDS } from '../store/store-fixture';
import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest } from './raw-http';

describe.each(STORE_KINDS)('series per source (%s)', (kind) => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const api = (method: string, p: string, body?: unknown) => jsonRequest(svc.url, method, `/api/v1${p}`, body);
  const send = async (run: string, stream: string, first: number, lines: string[], source?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', 'x-outpost-stream': stream, 'x-outpost-first-seq': String(first), 'x-outpost-file': stream };
    if (source !== undefined) headers['x-outpost-source'] = encodeURIComponent(source);
    return rawRequest(svc.url, { method: 'POST', path: `/api/v1/runs/${run}/metrics`, headers, body: lines.map((l) => `${l}\n`).join('') });
  };
  const info = async (run: string) => (await api('GET', `/runs/${run}`)).json() as RunInfo;
  const values = async (run: string, name: string) => ((await api('GET', `/runs/${run}/metrics/${encodeURIComponent(name)}`)).json() as MetricHistory).points.map((p) => [p.step, p.value]);

  beforeAll(async () => {
    svc = await startTempService(undefined, kind === 'postgresql' ? await (await pgCluster()).createDatabase(`metric_sources_${process.pid}`) : undefined);
  });
  afterAll(() => svc.stopAndClean());

  test('a TensorBoard folder and a CSV log both writing val/acc, interleaved: neither series mixes the other in, both are kept, and the run says so once', async () => {
    await api('PUT', '/runs/two', {});
    const tb = 'tensorboard lightning_logs/version_0';
    const csv = 'csv csv_logs/version_0/metrics.csv';
    expect((await send('two', 'tb-stream', 1, ['{"name":"val/acc","value":0.5,"step":1}'], tb)).status).toBe(200);
    expect((await send('two', 'csv-stream', 1, ['{"metrics":{"val/acc":0.5,"epoch":0},"step":1}'], csv)).status).toBe(200);
    await send('two', 'tb-stream', 2, ['{"name":"val/acc","value":0.6,"step":2}'], tb);
    await send('two', 'csv-stream', 2, ['{"metrics":{"val/acc":0.6,"epoch":1},"step":2}'], csv);
    const run = await info('two');
    const own = `val/acc (${csv})`;
    expect(Object.keys(run.metrics).sort()).toEqual(['epoch', 'val/acc', own].sort());
    expect(await values('two', 'val/acc')).toEqual([
      [1, 0.5],
      [2, 0.6],
    ]);
    expect(await values('two', own)).toEqual([
      [1, 0.5],
      [2, 0.6],
    ]);
    // epoch is the CSV's alone: it keeps its name.
    expect(await values('two', 'epoch')).toEqual([
      [1, 0],
      [2, 1],
    ]);
    const warnings = run.events.filter((e) => e.kind === 'warning');
    expect(warnings).toEqual([expect.objectContaining({ path: 'csv-stream', message: `metric "val/acc" is written by "${tb}" and by "${csv}": the latter's values are stored as "${own}"` })]);
  });

  test("the spool's own series stays the spool's: a source naming it later gets its own, and a spool line naming a source's series gets one too", async () => {
    await api('PUT', '/runs/spool-first', {});
    await send('spool-first', 'spool', 1, ['{"name":"loss","value":1}']);
    await send('spool-first', 'tb', 1, ['{"name":"loss","value":2}', '{"name":"lr","value":0.1}'], 'tb runs/x');
    await send('spool-first', 'spool', 2, ['{"name":"loss","value":3}', '{"name":"lr","value":0.2}']);
    expect(await values('spool-first', 'loss')).toEqual([
      [null, 1],
      [null, 3],
    ]);
    expect(await values('spool-first', 'loss (tb runs/x)')).toEqual([[null, 2]]);
    expect(await values('spool-first', 'lr')).toEqual([[null, 0.1]]);
    expect(await values('spool-first', 'lr (spool)')).toEqual([[null, 0.2]]);
    const messages = (await info('spool-first')).events.map((e) => e.message);
    expect(messages).toEqual([
      'metric "loss" is written by the spool and by "tb runs/x": the latter\'s values are stored as "loss (tb runs/x)"',
      'metric "lr" is written by "tb runs/x" and by the spool: the latter\'s values are stored as "lr (spool)"',
    ]);
  });

  test('a retried batch of a source is skipped like any other; the JSON form takes a source too', async () => {
    await api('PUT', '/runs/retry', {});
    await send('retry', 'spool', 1, ['{"name":"m","value":1}']);
    const again = () => send('retry', 'src', 1, ['{"name":"m","value":2}'], 'csv a.csv');
    expect((await again()).json()).toMatchObject({ stored: 1, skipped: 0 });
    expect((await again()).json()).toMatchObject({ stored: 0, skipped: 1 });
    const json = await api('POST', '/runs/retry/metrics', { stream: 'src-json', source: 'csv a.csv', lines: [{ seq: 1, time: 1, metrics: { m: 3 } }] });
    expect(json.status).toBe(200);
    expect(await values('retry', 'm (csv a.csv)')).toEqual([
      [null, 2],
      [null, 3],
    ]);
    expect((await info('retry')).events).toHaveLength(1);
  });

  test('a source header that is not percent-encoded UTF-8, or too long, is refused by name', async () => {
    await api('PUT', '/runs/bad', {});
    const bad = await send('bad', 's', 1, ['{"name":"m","value":1}'], undefined);
    expect(bad.status).toBe(200);
    const res = await rawRequest(svc.url, {
      method: 'POST',
      path: '/api/v1/runs/bad/metrics',
      headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': 's2', 'x-outpost-first-seq': '1', 'x-outpost-source': '%E0%A4%A' },
      body: '{"name":"m","value":1}\n',
    });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'OUTPOST_ERR_BAD_REQUEST', message: expect.stringContaining('x-outpost-source') } });
    const long = await send('bad', 's3', 1, ['{"name":"m","value":1}'], 'x'.repeat(513));
    expect(long.status).toBe(400);
  });
});

test('a source series name is cut to the limit: the source first, then the name', () => {
  expect(sourceSeriesName('loss', 'csv a.csv', 256)).toBe('loss (csv a.csv)');
  expect(sourceSeriesName('loss', 'csv a.csv', 256, 2)).toBe('loss (csv a.csv) 2');
  const cut = sourceSeriesName('loss', 'csv ' + 'd/'.repeat(200) + 'metrics.csv', 256);
  expect(cut.length).toBe(256);
  expect(cut).toMatch(/^loss \(\u2026.*d\/metrics\.csv\)$/);
  const longName = sourceSeriesName('n'.repeat(256), 'csv some/where/metrics.csv', 256);
  expect(longName.length).toBe(256);
  expect(longName.endsWith(')')).toBe(true);
});
