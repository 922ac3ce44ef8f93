/**
 * Uploads by node:http, on the API client's own keep-alive agent, base URL, token and timeout:
 * a chunked body with HTTP trailers, which axios cannot send (the agent hashes a big file while
 * sending it and declares the hash after the bytes), and small bodies, where axios's own work
 * (config merging, interceptors, socket options) was a good part of the agent's cost per small
 * file (docs/benchmarks.md, "Measured choices"). Failures come back as ApiError, like axios's.
 */
import http from 'http';
import https from 'https';
import type { Readable } from 'stream';
import type { AxiosInstance } from 'axios';
import type { ApiErrorBody } from '../protocol';
import { ApiError, parseRetryAfter } from './api-client';

// axios's own reader of HTTP(S)_PROXY / NO_PROXY (it ships no types).
const { getProxyForUrl } = require('proxy-from-env') as { getProxyForUrl(url: string): string };

export type RawUpload =
  | { headers: http.OutgoingHttpHeaders; body: Buffer }
  | {
      headers: http.OutgoingHttpHeaders;
      body: Readable;
      /** Called once the body has ended; may throw to abandon the request (nothing is stored). */
      trailers: () => Promise<http.OutgoingHttpHeaders>;
    };

/**
 * Whether requests to the API go through a proxy (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, as axios
 * reads them): putRaw does not speak to proxies, so callers then use the axios client instead.
 */
export function viaProxy(api: AxiosInstance): boolean {
  return getProxyForUrl(api.defaults.baseURL ?? '') !== '';
}

export function putRaw<T>(api: AxiosInstance, url: string, upload: RawUpload): Promise<T> {
  const base = api.defaults.baseURL ?? '';
  const target = new URL(`${base}${url}`);
  const secure = target.protocol === 'https:';
  const auth = (api.defaults.headers as unknown as Record<string, unknown>).authorization;
  const unreachable = (err: NodeJS.ErrnoException) => new ApiError(`cannot reach the service at ${base}: ${err.code ?? err.message}`, { network: err.code });
  return new Promise<T>((resolve, reject) => {
    const req = (secure ? https : http).request(target, {
      method: 'PUT',
      agent: secure ? api.defaults.httpsAgent : api.defaults.httpAgent,
      headers: {
        ...upload.headers,
        ...(typeof auth === 'string' ? { authorization: auth } : {}),
        ...(Buffer.isBuffer(upload.body) ? { 'content-length': upload.body.length } : { 'transfer-encoding': 'chunked' }),
      },
      timeout: api.defaults.timeout || undefined,
    });
    let settled = false;
    let sent = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      if (!Buffer.isBuffer(upload.body)) upload.body.destroy();
      req.destroy();
      reject(err);
    };
    req.on('timeout', () => fail(new ApiError(`no answer from the service at ${base} within ${api.defaults.timeout} ms`, { network: 'ETIMEDOUT' })));
    req.on('error', (err) => fail(unreachable(err)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => fail(unreachable(err)));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        // An answer before the whole body (a refusal): the rest is not sent, the socket not reused.
        if (!sent) {
          if (!Buffer.isBuffer(upload.body)) upload.body.destroy();
          req.destroy();
        }
        let data: unknown;
        try {
          data = JSON.parse(Buffer.concat(chunks).toString());
        } catch {
          data = undefined;
        }
        const ok = res.statusCode! >= 200 && res.statusCode! < 300;
        if (ok && data !== null && typeof data === 'object') return resolve(data as T);
        const error = (data as ApiErrorBody | undefined)?.error;
        const retryAfter = parseRetryAfter(res.headers['retry-after']);
        reject(
          error
            ? new ApiError(error.message, { status: res.statusCode, code: error.code, field: error.field, retryAfterMs: retryAfter })
            : new ApiError(`HTTP ${res.statusCode} from ${url}${ok ? ' without a JSON answer' : ''}`, { status: res.statusCode, retryAfterMs: retryAfter }),
        );
      });
    });
    if (Buffer.isBuffer(upload.body)) {
      sent = true;
      req.end(upload.body);
      return;
    }
    const { body, trailers } = upload as Extract<RawUpload, { trailers: unknown }>;
    // The body's own failures and the trailers' (a file that changed, say) pass through as they are.
    body.on('error', fail);
    body.on('end', () => {
      trailers().then((t) => {
        if (settled) return;
        sent = true;
        req.addTrailers(t);
        req.end();
      }, fail);
    });
    body.pipe(req, { end: false });
  });
}
