/** Fills a test server through its HTTP API, the way an agent would. */
import type { MetricValue } from '../../../src/protocol/metric-line';

export class Api {
  private readonly seqs = new Map<string, number>();

  constructor(
    readonly url: string,
    private readonly token?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { ...extra, authorization: `Bearer ${this.token}` } : extra;
  }

  async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  putRun(id: string, fields: Record<string, unknown>): Promise<unknown> {
    return this.call('PUT', `/runs/${id}`, fields);
  }

  /** Posts lines of one stream; each call continues the stream's sequence. */
  async log(id: string, lines: { step?: number; metrics: Record<string, MetricValue> }[], stream = 'metrics.jsonl'): Promise<void> {
    const key = `${id}/${stream}`;
    let seq = this.seqs.get(key) ?? 0;
    const now = Date.now() / 1000;
    const wire = lines.map((l) => ({ seq: ++seq, time: now, ...l }));
    this.seqs.set(key, seq);
    await this.call('POST', `/runs/${id}/metrics`, { stream, lines: wire });
  }

  /** Posts a line that the agent found invalid: it still takes its place in the stream. */
  async reject(id: string, error: string, stream = 'metrics.jsonl', file = 'outputs/../metrics.jsonl'): Promise<void> {
    const key = `${id}/${stream}`;
    const seq = (this.seqs.get(key) ?? 0) + 1;
    this.seqs.set(key, seq);
    await this.call('POST', `/runs/${id}/metrics`, { stream, file, lines: [{ seq, time: Date.now() / 1000, error }] });
  }

  /**
   * Posts spool lines exactly as written, as the agent does (NDJSON): the service parses them and
   * words the reason of each line it rejects. Continues the stream's sequence like log().
   */
  async ndjson(id: string, lines: string[], stream = 'metrics.jsonl', file = 'metrics.jsonl'): Promise<{ rejected: { seq: number; reason: string }[] }> {
    const key = `${id}/${stream}`;
    const first = (this.seqs.get(key) ?? 0) + 1;
    this.seqs.set(key, first + lines.length - 1);
    const res = await fetch(`${this.url}/api/v1/runs/${id}/metrics`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/x-ndjson', 'x-outpost-stream': stream, 'x-outpost-first-seq': String(first), 'x-outpost-file': file }),
      body: lines.map((l) => `${l}\n`).join(''),
    });
    if (!res.ok) throw new Error(`POST ndjson: ${res.status} ${await res.text()}`);
    return (await res.json()) as { rejected: { seq: number; reason: string }[] };
  }

  /** A params line and a tags line, as a job writes them to its spool (the agent sends them as they are). */
  async meta(id: string, meta: { params?: Record<string, unknown>; tags?: Record<string, string | number | boolean | null> }): Promise<void> {
    const lines: string[] = [];
    if (meta.params) lines.push(JSON.stringify({ params: meta.params }));
    if (meta.tags) lines.push(JSON.stringify({ tags: meta.tags }));
    if (!lines.length) return;
    const ack = await this.ndjson(id, lines);
    if (ack.rejected.length) throw new Error(`${id}: lines rejected: ${JSON.stringify(ack.rejected)}`);
  }

  /** Each segment percent-encoded, as the agent sends it: a name may hold '%', '#', '?', spaces. */
  async putArtifact(id: string, artifactPath: string, bytes: Buffer): Promise<void> {
    const res = await fetch(`${this.url}/api/v1/runs/${id}/artifacts/${artifactPath.split('/').map(encodeURIComponent).join('/')}`, {
      method: 'PUT',
      headers: this.headers({ 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }),
      body: new Uint8Array(bytes), // a copy on an ArrayBuffer: a body to both Node's and the DOM's fetch typings
    });
    if (!res.ok) throw new Error(`PUT artifact ${artifactPath}: ${res.status} ${await res.text()}`);
  }
}
