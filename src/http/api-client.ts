/**
 * The one HTTP client of the service's API (axios, keep-alive), for the CLI, the agent and the
 * logger. Errors come back as ApiError carrying the service's code, status and field.
 */
import http from 'http';
import https from 'https';
import type { Readable } from 'stream';
import axios, { AxiosInstance, AxiosRequestConfig, isAxiosError } from 'axios';
import { API_PREFIX, ApiErrorBody } from '../protocol';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly field?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** No answer at all, or one that may change if asked again. */
  get retryable(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
  timeoutMs?: number;
}

export function createApiClient({ baseUrl, token, timeoutMs = 120_000 }: ApiClientOptions): AxiosInstance {
  const client = axios.create({
    baseURL: `${baseUrl.replace(/\/$/, '')}${API_PREFIX}`,
    timeout: timeoutMs,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 16 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 16 }),
    headers: token ? { authorization: `Bearer ${token}` } : {},
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
    // Keep the request body as given (a stream, a Buffer): no transforms, no buffering.
    maxRedirects: 0,
  });
  client.interceptors.response.use(undefined, (err) => Promise.reject(toApiError(err)));
  return client;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isAxiosError(err)) {
    const status = err.response?.status;
    const body = err.response?.data as ApiErrorBody | undefined;
    const retryAfter = parseRetryAfter(err.response?.headers?.['retry-after']);
    if (body && typeof body === 'object' && 'error' in body && body.error) {
      return new ApiError(body.error.message, status, body.error.code, body.error.field, retryAfter);
    }
    if (status !== undefined) return new ApiError(`HTTP ${status} from ${err.config?.url ?? 'the service'}`, status, undefined, undefined, retryAfter);
    return new ApiError(`cannot reach the service at ${err.config?.baseURL ?? ''}: ${err.code ?? err.message}`, undefined, err.code);
  }
  return new ApiError((err as Error)?.message ?? String(err), undefined, undefined);
}

function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

export interface TrailerUpload {
  headers: http.OutgoingHttpHeaders;
  body: Readable;
  /** Called once the body has ended; may throw to abandon the request (nothing is stored). */
  trailers: () => Promise<http.OutgoingHttpHeaders>;
}

/**
 * PUT with a chunked body and HTTP trailers, which axios cannot send: node:http on the client's
 * own keep-alive agent, base URL, token and timeout. Failures come back as ApiError, like axios's.
 */
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

/** Encodes an artifact path for a URL, segment by segment. */
export function artifactUrl(runId: string, artifactPath: string): string {
  return `/runs/${encodeURIComponent(runId)}/artifacts/${artifactPath.split('/').map(encodeURIComponent).join('/')}`;
}

export type { AxiosInstance, AxiosRequestConfig };
