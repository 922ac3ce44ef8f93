/**
 * A PUT with a chunked body and HTTP trailers, which axios cannot send: node:http on the API
 * client's own keep-alive agent, base URL, token and timeout. It lets the agent hash a big file
 * while sending it and declare the hash after the bytes. Failures come back as ApiError, like axios's.
 */
import http from 'http';
import https from 'https';
import type { Readable } from 'stream';
import type { AxiosInstance } from 'axios';
import type { ApiErrorBody } from '../protocol';
import { ApiError, parseRetryAfter } from './api-client';

export interface TrailerUpload {
  headers: http.OutgoingHttpHeaders;
  body: Readable;
  /** Called once the body has ended; may throw to abandon the request (nothing is stored). */
  trailers: () => Promise<http.OutgoingHttpHeaders>;
}

export function putWithTrailers<T>(api: AxiosInstance, url: string, upload: TrailerUpload): Promise<T> {
  const base = api.defaults.baseURL ?? '';
  const target = new URL(`${base}${url}`);
  const secure = target.protocol === 'https:';
  const auth = (api.defaults.headers as unknown as Record<string, unknown>).authorization;
  const unreachable = (err: NodeJS.ErrnoException) => new ApiError(`cannot reach the service at ${base}: ${err.code ?? err.message}`, undefined, err.code);
  return new Promise<T>((resolve, reject) => {
    const req = (secure ? https : http).request(target, {
      method: 'PUT',
      agent: secure ? api.defaults.httpsAgent : api.defaults.httpAgent,
      headers: { ...upload.headers, ...(typeof auth === 'string' ? { authorization: auth } : {}), 'transfer-encoding': 'chunked' },
      timeout: api.defaults.timeout || undefined,
    });
    let settled = false;
    let sent = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      upload.body.destroy();
      req.destroy();
      reject(err);
    };
    req.on('timeout', () => fail(new ApiError(`no answer from the service at ${base} within ${api.defaults.timeout} ms`, undefined, 'ETIMEDOUT')));
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
          upload.body.destroy();
          req.destroy();
        }
        let data: unknown;
        try {
          data = JSON.parse(Buffer.concat(chunks).toString());
        } catch {
          data = undefined;
        }
        if (res.statusCode! < 400) return resolve(data as T);
        const error = (data as ApiErrorBody | undefined)?.error;
        const retryAfter = parseRetryAfter(res.headers['retry-after']);
        reject(
          error
            ? new ApiError(error.message, res.statusCode, error.code, error.field, retryAfter)
            : new ApiError(`HTTP ${res.statusCode} from ${url}`, res.statusCode, undefined, undefined, retryAfter),
        );
      });
    });
    // The body's own failures and the trailers' (a file that changed, say) pass through as they are.
    upload.body.on('error', fail);
    upload.body.on('end', () => {
      upload.trailers().then((trailers) => {
        if (settled) return;
        sent = true;
        req.addTrailers(trailers);
        req.end();
      }, fail);
    });
    upload.body.pipe(req, { end: false });
  });
}
