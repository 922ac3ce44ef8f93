/** The page's client for /api/v1: fetch, the bearer token, and errors as ApiError. */
import type { ApiErrorBody, AssetSummary, AssetVersion, MetricHistory, PromoteRequest, RunInfo, RunPatch, RunStatus, RunSummary } from '../../protocol/api-types';
import type { MetricValue } from '../../protocol/metric-line';
import { getToken } from './token';

export const API = '/api/v1';

export type RunRow = RunSummary & { metrics: Record<string, MetricValue> };
export interface ExperimentRow {
  name: string;
  runs: number;
  lastStartTime: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What to show of a failed request: the service's message, else the error's own. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Listeners told about a 401, so the page can ask for a token. */
export const unauthorized = new Set<() => void>();

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${API}${path}`, { ...init, headers: headers(init.headers as Record<string, string>) });
  if (res.ok) return res;
  let code = `HTTP_${res.status}`;
  let message = res.statusText;
  try {
    const body = (await res.json()) as ApiErrorBody;
    code = body.error.code;
    message = body.error.message;
  } catch {
    /* not our JSON error: keep the status line */
  }
  if (res.status === 401) unauthorized.forEach((fn) => fn());
  throw new ApiError(res.status, code, message);
}

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  return (await send(path, init)).json() as Promise<T>;
}

export function artifactUrl(runId: string, path: string): string {
  return `${API}/runs/${encodeURIComponent(runId)}/artifacts/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export interface RunQuery {
  experiment?: string;
  status?: RunStatus;
  /** The service's filter expression (MLflow's search syntax). */
  filter?: string;
  /** "KEY [asc|desc]", KEY as in a filter; the service's default is newest first. */
  sort?: string;
  /** Only deleted runs. */
  deleted?: boolean;
  limit: number;
  offset: number;
}

export async function listRuns(q: RunQuery): Promise<{ runs: RunRow[]; total: number }> {
  const params = new URLSearchParams({ limit: String(q.limit), offset: String(q.offset), include: 'metrics' });
  if (q.experiment) params.set('experiment', q.experiment);
  if (q.status) params.set('status', q.status);
  if (q.filter) params.set('filter', q.filter);
  if (q.sort) params.set('sort', q.sort);
  if (q.deleted) params.set('deleted', 'true');
  const res = await send(`/runs?${params}`);
  return { runs: (await res.json()) as RunRow[], total: Number(res.headers.get('x-total-count') ?? 0) };
}

const runPath = (id: string) => `/runs/${encodeURIComponent(id)}`;
const jsonBody = (body: unknown): RequestInit => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** Name, note and tags (a tag set to null is removed). */
export const patchRun = (id: string, patch: RunPatch) => json<RunInfo>(runPath(id), { method: 'PATCH', ...jsonBody(patch) });
/** Soft: hidden from lists, restorable until purged. */
export const deleteRun = (id: string) => json<RunInfo>(runPath(id), { method: 'DELETE' });
export const restoreRun = (id: string) => json<RunInfo>(`${runPath(id)}/restore`, { method: 'POST', ...jsonBody({}) });

export const listExperiments = () => json<ExperimentRow[]>('/experiments');
export const getRun = (id: string) => json<RunInfo>(runPath(id));
export const listAssets = () => json<AssetSummary[]>('/assets');
export const getAsset = (name: string) => json<{ name: string; versions: AssetVersion[] }>(`/assets/${encodeURIComponent(name)}`);

export function getMetric(id: string, name: string, maxPoints: number): Promise<MetricHistory> {
  return json<MetricHistory>(`/runs/${encodeURIComponent(id)}/metrics/${encodeURIComponent(name)}?maxPoints=${maxPoints}`);
}

export function promote(req: PromoteRequest): Promise<AssetVersion> {
  return json<AssetVersion>('/assets', { method: 'POST', body: JSON.stringify(req), headers: { 'content-type': 'application/json' } });
}

/**
 * The last `bytes` of an artifact of `size` bytes, decoded as text. The Range is sent only when
 * the file is longer: the service answers 416 to a suffix range longer than the file.
 */
export async function tailArtifact(runId: string, path: string, size: number, bytes: number): Promise<{ text: string; size: number; partial: boolean }> {
  const res = await fetch(artifactUrl(runId, path), { headers: headers(size > bytes ? { range: `bytes=${size - bytes}-` } : {}) });
  if (res.status === 404) throw new ApiError(404, 'OUTPOST_ERR_ARTIFACT_NOT_FOUND', `no ${path}`);
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, res.statusText);
  const range = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
  const buf = await res.arrayBuffer();
  const total = range ? Number(range[1]) : buf.byteLength;
  return { text: new TextDecoder().decode(buf), size: total, partial: buf.byteLength < total };
}

/**
 * A plain link cannot carry the Authorization header, so with a token the file is fetched and
 * handed to the browser as a blob (held in memory: fine for the files people click on).
 */
export async function downloadWithToken(url: string, filename: string): Promise<void> {
  const res = await fetch(url, { headers: headers() });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, `download failed: ${res.statusText}`);
  const href = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}
