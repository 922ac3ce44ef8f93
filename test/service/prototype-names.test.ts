/** Metric names that are also Object.prototype names, through the real service. */
import { startTempService } from './in-process-service';
import { jsonRequest, rawRequest } from './raw-http';

test('"__proto__" and "constructor" sent as NDJSON are stored and shown like any other metric', async () => {
  const svc = await startTempService();
  try {
    expect((await jsonRequest(svc.url, 'PUT', '/api/v1/runs/r1', { experiment: 'e' })).status).toBe(200);
    const res = await rawRequest(svc.url, {
      method: 'POST',
      path: '/api/v1/runs/r1/metrics',
      headers: { 'content-type': 'application/x-ndjson', 'x-outpost-stream': 's', 'x-outpost-first-seq': '1' },
      body: '{"name":"__proto__","value":1}\n{"metrics":{"__proto__":2,"constructor":3}}\n',
    });
    expect(res.json()).toMatchObject({ ackedSeq: 2, stored: 2, rejected: [] });
    const run = (await jsonRequest(svc.url, 'GET', '/api/v1/runs/r1')).json();
    expect(Object.keys(run.metrics).sort()).toEqual(['__proto__', 'constructor']);
    expect(run.metrics['__proto__']).toMatchObject({ count: 2, last: 2 });
    const history = (await jsonRequest(svc.url, 'GET', '/api/v1/runs/r1/metrics/__proto__')).json();
    expect(history.points.map((p: { value: number }) => p.value)).toEqual([1, 2]);
  } finally {
    await svc.stopAndClean();
  }
});
