/**
 * A metric source in outputs/: a file (or, for trainer_state.json, a family of files) whose
 * records become lines of a stream of its own. A record's identity is its place in the file (a
 * byte offset, or a row number for a file rewritten whole), and the lines it makes are numbered
 * the same way however often it is read: a restarted agent reads again from the acknowledged
 * position, and the service skips what it has. Its position is committed only after the ack.
 */
import fs from 'fs';
import path from 'path';
import type { AgentSettings } from '../../../config/agent';
import type { Logger } from '../../log/logger';
import type { SourcesCheckpoint } from '../../run-folder';
import { openInside } from '../outputs/file-uploader';
import { Batch, BatchOrigin, Batcher } from '../sender/batch';
import type { OrderedSender } from '../sender/ordered-sender';

export interface ReaderContext {
  outputsDir: string;
  /** outputs/ with every link resolved, as it is now; null: nothing in it may be read. */
  realRoot: () => string | null;
  /** Artifact paths of outputs/ start with it ("outputs/"). */
  prefix: string;
  settings: AgentSettings;
  log: Logger;
  sender: OrderedSender;
  checkpoint: SourcesCheckpoint;
  /** Something a person should know about `file` (logged, and recorded on the run). */
  warn: (message: string, file: string) => void;
  /** The reader has more to read (a rewind): it is read again soon. */
  again: (reader: AnyFileReader) => void;
}

/** Every position has the stream it counts in, and the number of the last line before it. */
export interface BasePosition {
  stream: string;
  generation: number;
  seq: number;
}

export abstract class FileReader<P extends BasePosition = BasePosition> implements BatchOrigin<P> {
  readonly batcher: Batcher<P>;
  /** The file named in the service's records (outputs/...). */
  abstract readonly file: string;
  /** The source's name for the service: what a series of its own is named after. */
  abstract readonly source: string;
  /** Warnings already given, each said once. */
  private readonly said = new Set<string>();

  constructor(
    readonly key: string,
    protected readonly ctx: ReaderContext,
  ) {
    this.batcher = new Batcher<P>(this, ctx.settings, ctx.sender.budget, (b) => ctx.sender.enqueue(b));
  }

  /**
   * Reads what is new, into batches. False when it stopped for want of room (lines read and
   * not acknowledged are at agent.maxBufferedLines): it is read again after the next ack.
   * `final`: the end of the run (what waits for the rest of itself is said, and given up).
   */
  abstract read(final: boolean): Promise<boolean>;

  /** A file of this reader changed (a reader of one file ignores the name). */
  changed(_rel: string): void {}

  /** The position the read starts from after the service lacked lines of `stream`. */
  protected abstract restart(stream: string): void;

  commit(end: P): Promise<void> {
    return this.ctx.checkpoint.save(this.key, end);
  }

  onAck?(batch: Batch<P>): void;

  /** The service lacks lines of `stream`: what is not acknowledged is dropped, and the stream read again from its start. */
  rewind(stream: string): Promise<void> {
    this.ctx.sender.dropQueued((b) => b.origin === this);
    this.batcher.drop();
    this.restart(stream);
    this.ctx.again(this);
    return Promise.resolve();
  }

  protected get full(): boolean {
    return this.ctx.sender.budget.held >= this.ctx.settings.maxBufferedLines;
  }

  /** Says `message` once (per distinct message). */
  warnOnce(message: string): void {
    if (this.said.has(message)) return;
    this.said.add(message);
    this.ctx.warn(message, this.file);
  }

  protected abs(rel: string): string {
    return path.join(this.ctx.outputsDir, rel);
  }

  /** Opens `rel` for reading only if it is a regular file inside outputs/ (never through a link out); null if it is not there. */
  protected open(rel: string): { fd: number; st: fs.Stats } | null {
    const root = this.ctx.realRoot();
    if (root === null) return null;
    try {
      return openInside(this.abs(rel), root);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.warnOnce(`${this.file} cannot be read (${(err as Error).message}); it is read again when it changes`);
      return null;
    }
  }

  /** Reads a whole file that is opened (the kinds rewritten whole are small: a CSV log, a JSON state). */
  protected readWhole(fd: number, size: number): Buffer {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    for (let n = -1; n !== 0 && got < size; got += n) n = fs.readSync(fd, buf, got, size - got, got);
    return buf.subarray(0, got);
  }
}

/** A reader of any kind (each has its own position type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFileReader = FileReader<any>;

/** The stream of a file's lines: the kind, where it is, and which time it is read from its start. */
export function streamName(kind: string, where: string, generation: number): string {
  const name = `${kind}:${where}#${generation}`;
  // The service takes stream names of up to 512 characters: a deep path is cut at its start.
  return name.length <= 512 ? name : `${kind}:\u2026${name.slice(name.length - 500)}`;
}
