/** Content types: JSON routes take what they parse (415 otherwise); uploads take the bytes whatever the type says. */
import crypto from 'crypto';
import { startTempService } from './in-process-service';
import { rawRequest } from './raw-http';

describe('content types', () => {
  let svc: Awaited<ReturnType<typeof startTempService>>;
  const send = (method: string, path: string, body: string | Buffer | undefined, type?: string, extra: Record<string, string> = {}) =>
    rawRequest(svc.url, { method, path: `/api/v1${path}`, body, headers: { ...(type === undefined ? {} : { 'content-type': type }), ...extra } });

  beforeAll(async () => {
    svc = await startTempService();
    expect((await send('PUT', '/runs/ct', '{}', 'application/json')).status).toBe(200);
  });
  afterAll(() => svc.stopAndClean());

  test.each([
    ['text/plain', 'Content-Type "text/plain"'],
    ['application/octet-stream', 'Content-Type "application/octet-stream"'],
    ['text/plain; charset=utf-8', 'Content-Type "text/plain; charset=utf-8"'],
    [undefined, 'no Content-Type'],
  ])('a metric batch sent as %s is a 415 naming it and the two accepted types', async (type, named) => {
    const res = await send('POST', '/runs/ct/metrics', '{"stream":"s","lines":[{"seq":1,"time":1,"metrics":{"a":1}}]}', type, { 'x-outpost-stream': 's', 'x-outpost-first-seq': '1' });
    expect(res.status).toBe(415);
    expect(res.json().error).toEqual({
      code: 'OUTPOST_ERR_UNSUPPORTED_MEDIA_TYPE',
      message: `${named} is not accepted here: send application/json or application/x-ndjson`,
      field: 'content-type',
    });
    expect((await send('GET', '/runs/ct/metrics/a', undefined)).status).toBe(404);
  });

  test('the two accepted types work, with parameters too', async () => {
    const json = await send('POST', '/runs/ct/metrics', '{"stream":"j","lines":[{"seq":1,"time":1,"metrics":{"a":1}}]}', 'application/json; charset=utf-8');
    expect(json.status).toBe(200);
    const nd = await send('POST', '/runs/ct/metrics', '{"name":"a","value":2}\n', 'application/x-ndjson; charset=utf-8', { 'x-outpost-stream': 'n', 'x-outpost-first-seq': '1' });
    expect(nd.json()).toMatchObject({ stored: 1 });
  });

  test.each([
    ['PUT', '/runs/ct', '{"name":"n"}'],
    ['POST', '/runs/ct/events', '{"kind":"warning","message":"m"}'],
    ['POST', '/assets', '{"run":"ct","prefix":"","name":"a"}'],
  ])('%s %s in any type but JSON is a 415 naming application/json', async (method, path, body) => {
    for (const type of ['text/plain', 'application/x-ndjson', 'application/octet-stream', undefined]) {
      const res = await send(method, path, body, type);
      expect({ type, status: res.status }).toEqual({ type, status: 415 });
      expect(res.json().error.code).toBe('OUTPOST_ERR_UNSUPPORTED_MEDIA_TYPE');
      expect(res.json().error.message).toMatch(/is not accepted here: send application\/json$/);
    }
    expect((await send('GET', '/runs/ct', undefined)).json().name).toBe('ct');
  });

  test.each(['application/json', 'text/plain', 'application/x-ndjson', 'image/png', undefined])('an upload sent as %s is stored as the bytes sent', async (type) => {
    const small = Buffer.from(type === 'application/json' ? '{"not": "parsed", ' : `raw bytes for ${type}`);
    const big = crypto.randomBytes(200 * 1024); // over service.inlineBlobBytes: streamed to blobs/
    for (const [name, bytes] of [
      ['small', small],
      ['big', big],
    ] as const) {
      const p = `/runs/ct/artifacts/outputs/${name}-${String(type).replace('/', '_')}`;
      const up = await send('PUT', p, bytes, type);
      expect({ type, name, status: up.status }).toEqual({ type, name, status: 201 });
      expect(up.json().sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
      const down = await send('GET', p, undefined);
      expect(down.body.equals(bytes)).toBe(true);
    }
  });
});
