/**
 * The metric sources of outputs/: every file matching one of the sources' globs (settings) is
 * read live as it changes (the outputs watcher tells of each change), while it is still uploaded
 * as an artifact. One worker reads the files that changed, one at a time, into their batches;
 * the ordered sender ships them. Files from before the run (an earlier run's) are left alone.
 */
import path from 'path';
import fg from 'fast-glob';
import type { AgentSettings } from '../../../config/agent';
import type { Logger } from '../../log/logger';
import type { SourcesCheckpoint } from '../../run-folder';
import type { OrderedSender } from '../sender/ordered-sender';
import { CsvReader, type CsvPosition } from './csv/csv-reader';
import { AnyFileReader, ReaderContext } from './file-source';
import { globList, globMatcher } from './glob';
import { HparamsReader, type HparamsPosition } from './hparams/hparams-reader';
import { TfeventsReader, type TfeventsPosition } from './tfevents/tfevents-reader';
import { TrainerStateReader, trainerStateGroup, type TrainerStatePosition } from './trainer-state/trainer-state-reader';
import { WakeUp } from '../wake-up';

export interface FileSourcesDeps {
  outputsDir: string;
  realRoot: () => string | null;
  prefix: string;
  settings: AgentSettings;
  /** Params in one line (limits.maxMetricsPerLine): a big hparams file makes several. */
  maxEntriesPerLine: number;
  log: Logger;
  sender: OrderedSender;
  checkpoint: SourcesCheckpoint;
  warn: (message: string, file: string) => void;
  /** A file that is not this run's: there before it began and unchanged, or changed after its end. */
  notThisRuns: (rel: string) => boolean;
}

interface Kind {
  name: string;
  glob: string;
  matches: (rel: string) => boolean;
  /** The reader a file belongs to (trainer states of one training share one). */
  key: (rel: string) => string;
  make: (key: string, rel: string, saved: unknown) => AnyFileReader;
}

export class FileSources {
  private readonly kinds: Kind[];
  private readonly readers = new Map<string, AnyFileReader>();
  /** Readers with something new to read, in the order they changed. */
  private readonly dirty = new Set<AnyFileReader>();
  private saved: Record<string, unknown> = {};
  private started = false;
  /** Files changed before start(): read once it has loaded the positions. */
  private early = new Set<string>();
  private finishing = false;
  private stopped = false;
  private readonly wake = new WakeUp();
  private done: Promise<void> | null = null;
  private sealTimer: NodeJS.Timeout | null = null;
  exited = false;

  constructor(private readonly d: FileSourcesDeps) {
    const s = d.settings;
    const ctx: ReaderContext = {
      outputsDir: d.outputsDir,
      realRoot: d.realRoot,
      prefix: d.prefix,
      settings: s,
      log: d.log,
      sender: d.sender,
      checkpoint: d.checkpoint,
      warn: d.warn,
      again: (reader) => this.markDirty(reader),
    };
    const kind = (name: string, glob: string, key: (rel: string) => string, make: Kind['make']): Kind => ({ name, glob, matches: globMatcher(glob), key, make });
    this.kinds = [
      kind('tfevents', s.tfeventsFiles, (rel) => `tfevents:${rel}`, (key, rel, saved) => new TfeventsReader(key, ctx, rel, (saved as TfeventsPosition) ?? null)),
      kind('trainer_state', s.trainerStateFiles, (rel) => `trainer_state:${trainerStateGroup(rel)}`, (key, rel, saved) => new TrainerStateReader(key, ctx, trainerStateGroup(rel), (saved as TrainerStatePosition) ?? null)),
      kind('hparams', s.hparamsFiles, (rel) => `hparams:${rel}`, (key, rel, saved) => new HparamsReader(key, ctx, rel, (saved as HparamsPosition) ?? null, d.maxEntriesPerLine)),
      kind('csv', s.csvFiles, (rel) => `csv:${rel}`, (key, rel, saved) => new CsvReader(key, ctx, rel, (saved as CsvPosition) ?? null)),
    ];
  }

  /** Whether any source is on. */
  get enabled(): boolean {
    return this.kinds.some((k) => globList(k.glob).length > 0);
  }

  /** Loads the acknowledged positions and reads every matching file of this run from where it was left. */
  async start(): Promise<void> {
    try {
      this.saved = await this.d.checkpoint.load();
    } catch (err) {
      // Only a shortcut: from the start of each file, the service skips the lines it has.
      this.d.warn(`${path.basename(this.d.checkpoint.file)} cannot be read (${(err as Error).message}); the metric sources are read from the start of each file`, path.basename(this.d.checkpoint.file));
      this.saved = {};
    }
    this.started = true;
    for (const rel of this.scan()) this.changed(rel);
    for (const rel of this.early) this.changed(rel);
    this.early.clear();
    this.done = this.work().catch((err) => {
      this.d.log.error(`metric sources failed: ${(err as Error)?.stack ?? err}`);
      this.stopped = true;
    });
  }

  /** The files under outputs/ that a source's globs match. */
  private scan(): string[] {
    const globs = this.kinds.flatMap((k) => globList(k.glob));
    if (globs.length === 0 || this.d.realRoot() === null) return [];
    return fg.sync(globs, { cwd: this.d.outputsDir, dot: true, onlyFiles: true, followSymbolicLinks: false, suppressErrors: true });
  }

  /** A file under outputs/ was written (or found changed): read it if a source reads it. */
  changed(rel: string): void {
    if (this.stopped) return;
    const kind = this.kinds.find((k) => k.matches(rel));
    if (!kind) return;
    if (!this.started) {
      this.early.add(rel);
      return;
    }
    const key = kind.key(rel);
    let reader = this.readers.get(key);
    if (!reader) {
      // A file with no acknowledged position that is not this run's (an earlier run's) is not read.
      if (!(key in this.saved) && this.d.notThisRuns(rel)) return;
      reader = kind.make(key, rel, this.saved[key]);
      this.readers.set(key, reader);
    }
    reader.changed(rel);
    this.markDirty(reader);
  }

  private markDirty(reader: AnyFileReader): void {
    this.dirty.add(reader);
    this.poke();
  }

  poke(): void {
    this.wake.poke();
  }

  /** Reads every file to its end, then stops; resolves once everything read is sealed. */
  async finish(): Promise<void> {
    if (!this.done) return;
    this.finishing = true;
    // What the watcher may have missed, and every file read one last time.
    for (const rel of this.scan()) this.changed(rel);
    for (const reader of this.readers.values()) this.dirty.add(reader);
    this.poke();
    await this.done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    await this.done;
  }

  /** The worker: changed files -> their readers -> batches; sealed when the sender is idle, or old. */
  private async work(): Promise<void> {
    const s = this.d.settings;
    try {
      while (!this.stopped && !this.d.sender.exited) {
        const reader = this.dirty.values().next().value as AnyFileReader | undefined;
        if (!reader) {
          this.sealDue(true);
          if (this.finishing) break;
          await this.wake.sleep(IDLE_MS);
          continue;
        }
        this.dirty.delete(reader);
        // 1. Read what is new in the file, into its batch (full batches go to the sender). A file
        // its reader cannot take (a malformed row, a YAML that refers to itself) is said and left
        // until it changes: the other files and sources go on.
        let complete: boolean;
        try {
          complete = await reader.read(this.finishing);
        } catch (err) {
          reader.warnOnce(`${reader.file} could not be read as metrics (${(err as Error)?.message ?? err}); it is read again when it changes`);
          continue;
        }
        // 2. No room (backpressure): the file is read on after the next acknowledgement.
        if (!complete) {
          this.dirty.add(reader);
          reader.batcher.seal(); // what waits unsealed must be sendable, or backpressure never lifts
          await this.wake.sleep(s.spoolPollMs);
          continue;
        }
        // 3. Sealed now if the sender is idle (freshness), else once the batch window has passed.
        this.sealDue(false);
        // Give the event loop a turn between two files.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      if (this.sealTimer) clearTimeout(this.sealTimer);
      if (!this.stopped) for (const r of this.readers.values()) r.batcher.seal();
      this.exited = true;
    }
  }

  /** Seals the open batches that should go; arms a timer for the others. `idle`: nothing else to read now. */
  private sealDue(idle: boolean): void {
    const s = this.d.settings;
    const senderIdle = this.d.sender.queued === 0;
    let waiting = false;
    for (const r of this.readers.values()) {
      if (!r.batcher.current) continue;
      if (this.finishing || (idle && senderIdle) || r.batcher.due(s.batchWindowMs)) r.batcher.seal();
      else waiting = true;
    }
    if (waiting && !this.sealTimer) {
      this.sealTimer = setTimeout(() => {
        this.sealTimer = null;
        this.poke();
      }, s.batchWindowMs);
    }
  }

  /** Whether everything read was sealed. */
  get idle(): boolean {
    for (const r of this.readers.values()) if (r.batcher.current) return false;
    return this.dirty.size === 0;
  }
}

/** The worker sleeps until a file changes; this is only a safety net. */
const IDLE_MS = 5_000;
