/**
 * The HTTP client of the service's API (axios, keep-alive), for the CLI, the agent and the
 * logger. Errors come back as ApiError carrying the service's code, status and field. (Uploads
 * with trailers, which axios cannot send, are in raw-upload.ts, on this client's agent.)
 */
import http from 'http';
import https from 'https';
import axios, { AxiosInstance, AxiosRequestConfig, isAxiosError } from 'axios';
import { API_PREFIX, ErrorCode, isErrorCode } from '../protocol';

export interface ApiErrorDetails {
  /** The HTTP status; undefined when no answer came. */
  status?: number;
  /** The service's code, when the answer named one of ours. */
  code?: unknown;
  field?: string;
  retryAfterMs?: number;
  /** Why no answer came (ECONNREFUSED, ETIMEDOUT, ...). */
  network?: string;
}

/** A request that failed: the service's answer (status, code, field), or why there was none. */
export class ApiError extends Error {
  readonly status: number | undefined;
  readonly code: ErrorCode | undefined;
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly network: string | undefined;

  constructor(message: string, d: ApiErrorDetails = {}) {
    // A code that is not one of ours (another server's, a proxy's) stays in the message only.
    super(d.code !== undefined && !isErrorCode(d.code) ? `${message} (${String(d.code)})` : message);
    this.name = 'ApiError';
    this.status = d.status;
    this.code = isErrorCode(d.code) ? d.code : undefined;
    this.field = d.field;
    this.retryAfterMs = d.retryAfterMs;
    this.network = d.network;
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
    const retryAfter = parseRetryAfter(err.response?.headers?.['retry-after']);
    const where = `HTTP ${status} from ${err.config?.url ?? 'the service'}`;
    const said = errorOf(err.response?.data);
    if (said) return new ApiError(said.message || where, { status, code: said.code, field: said.field, retryAfterMs: retryAfter });
    if (status !== undefined) return new ApiError(where, { status, retryAfterMs: retryAfter });
    return new ApiError(`cannot reach the service at ${err.config?.baseURL ?? ''}: ${err.code ?? err.message}`, { network: err.code });
  }
  return new ApiError((err as Error)?.message ?? String(err));
}

/**
 * What an error answer says, in any of the shapes one may come in: the service's own
 * {"error": {"code", "message", "field"}}, fastify's {"error": "Bad Request", "code", "message"}
 * (a proxy or an older service), or plain text.
 */
function errorOf(data: unknown): { message: string; code?: string; field?: string } | undefined {
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  if (typeof data === 'string') {
    const trimmed = data.trim().slice(0, 300);
    return trimmed ? { message: trimmed } : undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const body = data as { error?: unknown; message?: unknown; code?: unknown; field?: unknown };
  if (typeof body.error === 'object' && body.error !== null) {
    const e = body.error as { message?: unknown; code?: unknown; field?: unknown };
    return { message: text(e.message) ?? '', code: text(e.code), field: text(e.field) };
  }
  const message = [text(body.error), text(body.message)].filter((m) => m).join(': ');
  if (!message && body.code === undefined) return undefined;
  return { message, code: text(body.code), field: text(body.field) };
}

export function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** Encodes an artifact path for a URL, segment by segment. */
export function artifactUrl(runId: string, artifactPath: string): string {
  return `/runs/${encodeURIComponent(runId)}/artifacts/${artifactPath.split('/').map(encodeURIComponent).join('/')}`;
}

export type { AxiosInstance, AxiosRequestConfig };
