/**
 * Hugging Face Trainer's trainer_state.json as a metric source: each entry of its log_history a
 * line `{"metrics": {...}, "step"}`. The Trainer rewrites the file whole at each checkpoint, into
 * output_dir/checkpoint-N/ (and output_dir/ at the end), each copy holding the history so far: the
 * copies of one training are one source, an entry known by its place in the history, so an entry
 * is shipped once whichever copy it is read from, and an older copy brings nothing new.
 */
import fs from 'fs';
import path from 'path';
import { diffRows, digestKeys } from '../csv/csv-rows';
import { BasePosition, FileReader, ReaderContext, streamName } from '../file-source';

export interface TrainerStatePosition extends BasePosition {
  /** Entries shipped (= seq) and the digest of their keys. */
  entries: number;
  digest: string;
}

/** The training a trainer_state.json belongs to: the folder holding the checkpoint-N folders. */
export function trainerStateGroup(rel: string): string {
  const dir = path.posix.dirname(rel);
  return /^checkpoint-\d+$/.test(path.posix.basename(dir)) ? path.posix.dirname(dir) : dir;
}

/** Python's json writes NaN and Infinity bare, which JSON.parse refuses: they are read as null (no value). */
const BARE_NON_FINITE = /([:[,]\s*)-?(?:NaN|Infinity)(?=\s*[,\]}])/g;

export class TrainerStateReader extends FileReader<TrainerStatePosition> {
  readonly file: string;
  readonly source: string;
  private pos: TrainerStatePosition | null;
  private known: string[] | null = null;
  /** Copies changed since the last read. */
  private readonly pending = new Set<string>();

  constructor(
    key: string,
    ctx: ReaderContext,
    group: string,
    saved: TrainerStatePosition | null,
  ) {
    super(key, ctx);
    const where = group === '.' ? '' : `${group}/`;
    this.file = `${ctx.prefix}${where}trainer_state.json`;
    this.source = `trainer_state ${ctx.prefix}${group === '.' ? '' : group}`.replace(/\/$/, '');
    this.pos = saved;
  }

  changed(rel: string): void {
    this.pending.add(rel);
  }

  protected restart(stream: string): void {
    if (this.pos?.stream === stream) this.pos = { ...this.pos, entries: 0, seq: 0, digest: digestKeys([]) };
    this.known = null;
  }

  async read(final: boolean): Promise<boolean> {
    // The newest copy first: it holds the most.
    const rels = [...this.pending].sort((a, b) => checkpointNumber(b) - checkpointNumber(a));
    this.pending.clear();
    for (const rel of rels) if (!this.readCopy(rel, final)) this.pending.add(rel);
    return true;
  }

  /** False when the copy is not whole yet (being written): read again at its next change. */
  private readCopy(rel: string, final: boolean): boolean {
    const opened = this.open(rel);
    if (!opened) return true;
    const file = `${this.ctx.prefix}${rel}`;
    let history: unknown;
    try {
      if (opened.st.size > this.ctx.settings.sourceMaxFileBytes) {
        this.warnOnce(`${file} is ${opened.st.size} bytes, over agent.sourceMaxFileBytes (${this.ctx.settings.sourceMaxFileBytes}); it is not read`);
        return true;
      }
      const text = this.readWhole(opened.fd, opened.st.size).toString('utf8');
      history = (JSON.parse(text.replace(BARE_NON_FINITE, '$1null')) as { log_history?: unknown }).log_history;
    } catch (err) {
      if (final) this.warnOnce(`${file} is not JSON (${(err as Error).message}); it is not read`);
      return final;
    } finally {
      fs.closeSync(opened.fd);
    }
    if (!Array.isArray(history)) {
      this.warnOnce(`${file} has no log_history list; it is not read`);
      return true;
    }
    const entries = history.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && !Array.isArray(e));
    const keys = entries.map(entryKey);
    let p = this.pos;
    if (p) {
      const verdict = diffRows(p.entries, p.digest, keys, this.known);
      if (verdict === 'wait') return true; // an older copy: nothing it holds is new
      if (verdict === 'rewritten') {
        this.ctx.warn(`${file}'s log_history differs from what was shipped (a training started over, or resumed from an earlier checkpoint); it is read as a new stream`, file);
        p = null;
      }
    }
    if (!p) {
      const generation = (this.pos?.generation ?? 0) + 1;
      p = this.pos = { stream: streamName('trainer_state', this.file, generation), generation, seq: 0, entries: 0, digest: digestKeys([]) };
    }
    const first = p.entries;
    const fresh = entries.slice(first);
    this.known = keys.slice(0, first + fresh.length);
    if (fresh.length === 0) return true;
    const text = fresh.map((e) => entryLine(e)).join('');
    const base = p;
    const endAfter = (n: number): TrainerStatePosition => ({ ...base, seq: first + n, entries: first + n, digest: digestKeys(keys.slice(0, first + n)) });
    this.batcher.addLines(p.stream, first + 1, fresh.length, Buffer.from(text), endAfter);
    this.pos = endAfter(fresh.length);
    return true;
  }
}

function checkpointNumber(rel: string): number {
  const m = /checkpoint-(\d+)\//.exec(rel);
  return m ? Number(m[1]) : Infinity; // output_dir's own copy is written last
}

/** An entry's identity: its JSON with the keys in order. */
function entryKey(e: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(e).sort().map((k) => [k, e[k]]));
}

/** An entry as a metric line: its numbers (and strings) as metrics, "step" as the step. */
function entryLine(e: Record<string, unknown>): string {
  const metrics: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(e)) {
    if (k === 'step') continue;
    if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string' || typeof v === 'boolean') {
      metrics[k] = v;
      n++;
    }
  }
  if (n === 0) return '\n';
  const step = e.step;
  return `${JSON.stringify(Number.isSafeInteger(step) && (step as number) >= 0 ? { metrics, step } : { metrics })}\n`;
}
