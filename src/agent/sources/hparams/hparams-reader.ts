/**
 * A hyperparameter file (Lightning's hparams.yaml) as the run's params: read whole when it
 * changes, flattened (model.depth), and sent as params lines of its own stream, through the same
 * path as the spool's (a param keeps its first value; another is a rejected line naming both).
 * The same content again sends nothing.
 */
import { createHash } from 'crypto';
import fs from 'fs';
import { parseDocument } from 'yaml';
import { BasePosition, FileReader, ReaderContext, streamName } from '../file-source';

export interface HparamsPosition extends BasePosition {
  /** sha256 of the params last shipped. */
  digest: string;
}

type Param = number | string | boolean | (number | string | boolean)[];

export class HparamsReader extends FileReader<HparamsPosition> {
  readonly file: string;
  readonly source: string;
  private pos: HparamsPosition | null;

  constructor(
    key: string,
    ctx: ReaderContext,
    private readonly rel: string,
    saved: HparamsPosition | null,
    private readonly maxEntriesPerLine: number,
  ) {
    super(key, ctx);
    this.file = `${ctx.prefix}${rel}`;
    this.source = `hparams ${this.file}`;
    this.pos = saved;
  }

  protected restart(stream: string): void {
    if (this.pos?.stream === stream) this.pos = { ...this.pos, seq: 0, digest: '' };
  }

  async read(final: boolean): Promise<boolean> {
    const opened = this.open(this.rel);
    if (!opened) return true;
    let value: unknown;
    try {
      if (opened.st.size > this.ctx.settings.sourceMaxFileBytes) {
        this.warnOnce(`${this.file} is ${opened.st.size} bytes, over agent.sourceMaxFileBytes; it is not read`);
        return true;
      }
      const doc = parseDocument(this.readWhole(opened.fd, opened.st.size).toString('utf8'), { uniqueKeys: false });
      // Written while we read: the rest comes with the next change.
      if (doc.errors.length > 0) {
        if (final) this.warnOnce(`${this.file} is not YAML (${doc.errors[0].message.split('\n')[0]}); it is not read`);
        return true;
      }
      value = doc.toJS({ maxAliasCount: 100 });
    } finally {
      fs.closeSync(opened.fd);
    }
    if (value === null || value === undefined) return true; // empty
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.warnOnce(`${this.file} is not a mapping of names to values; it is not read as params`);
      return true;
    }
    const params = flatten(value as Record<string, unknown>);
    const names = Object.keys(params);
    if (names.length === 0) return true;
    const digest = createHash('sha256').update(JSON.stringify(names.sort().map((k) => [k, params[k]]))).digest('hex');
    if (this.pos?.digest === digest) return true;
    const generation = this.pos?.generation ?? 1;
    const p: HparamsPosition = this.pos ?? { stream: streamName('hparams', this.file, generation), generation, seq: 0, digest: '' };
    // At most limits.maxMetricsPerLine params a line.
    const lines: string[] = [];
    for (let i = 0; i < names.length; i += this.maxEntriesPerLine) {
      const chunk: Record<string, Param> = {};
      for (const k of names.slice(i, i + this.maxEntriesPerLine)) chunk[k] = params[k];
      lines.push(`${JSON.stringify({ params: chunk })}\n`);
    }
    const first = p.seq + 1;
    this.batcher.addLines(p.stream, first, lines.length, Buffer.from(lines.join('')), (n) => ({ ...p, seq: first - 1 + n, digest: n === lines.length ? digest : p.digest }));
    this.pos = { ...p, seq: first - 1 + lines.length, digest };
    return true;
  }
}

/**
 * Nested mappings flattened to dotted names; lists of numbers, strings and booleans kept; null
 * as the text "null", dates as ISO text, any other value (a list of mappings) as its JSON text.
 */
export function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, Param> = {}): Record<string, Param> {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix + k;
    if (v instanceof Date) out[name] = v.toISOString();
    else if (v === null || v === undefined) out[name] = 'null';
    else if (typeof v === 'number') out[name] = Number.isFinite(v) ? v : String(v);
    else if (typeof v === 'string' || typeof v === 'boolean') out[name] = v;
    else if (typeof v === 'bigint') out[name] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    else if (Array.isArray(v)) out[name] = v.every((x) => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x))) ? (v as Param) : JSON.stringify(v);
    else if (v instanceof Map) flatten(Object.fromEntries(v), `${name}.`, out);
    else if (typeof v === 'object') flatten(v as Record<string, unknown>, `${name}.`, out);
    else out[name] = String(v);
  }
  return out;
}
