/**
 * The spool as a metric source: spool tailer -> batcher -> the ordered sender. Lines go as they
 * were written (the service parses them); the checkpoint and the ack watermark move only after the
 * service acknowledged them.
 */
import fs from 'fs';
import path from 'path';
import type { AgentSettings } from '../../../../config/agent';
import type { Logger } from '../../../log/logger';
import type { SpoolCheckpoint } from '../../../run-folder';
import { Batch, BatchOrigin, Batcher } from '../../sender/batch';
import type { OrderedSender } from '../../sender/ordered-sender';
import { SpoolPosition, SpoolSegment, SpoolTailer, StreamReset } from './spool-tailer';
import { WakeUp } from '../../wake-up';

export interface SpoolSourceDeps {
  spoolFile: string;
  checkpoint: SpoolCheckpoint;
  settings: AgentSettings;
  limits: { maxLineBytes: number };
  log: Logger;
  sender: OrderedSender;
  onReset: (reset: StreamReset) => void;
  /** Something about the spool a person should know (logged and recorded on the run). */
  onWarning: (message: string) => void;
}

export class SpoolSource implements BatchOrigin<SpoolPosition> {
  readonly file: string;
  readonly source = null;
  private tailer!: SpoolTailer;
  private batcher: Batcher<SpoolPosition>;
  private finishing = false;
  private stopped = false;
  private readonly wake = new WakeUp();
  private watcher: fs.FSWatcher | null = null;
  private done: Promise<void> | null = null;
  exited = false;
  /** The last read failure said, while reads keep failing. */
  readFailure: string | null = null;
  /** The sender's request that the reader start a stream over (the service lacks lines of it). */
  private rewindRequest: { stream: string; done: () => void } | null = null;
  acked: SpoolPosition | null = null;
  /** 1 if the spool's last line had no newline when the run ended (it is rejected). */
  linesUnterminated = 0;
  private unterminated: { stream: string; seq: number } | null = null;

  constructor(private readonly d: SpoolSourceDeps) {
    this.file = path.basename(d.spoolFile);
    this.batcher = new Batcher<SpoolPosition>(this, d.settings, d.sender.budget, (b) => d.sender.enqueue(b));
  }

  async start(): Promise<void> {
    this.acked = await this.d.checkpoint.load();
    this.tailer = new SpoolTailer(
      this.d.spoolFile,
      this.acked,
      { maxLineBytes: this.d.limits.maxLineBytes, readChunkBytes: this.d.settings.readChunkBytes },
      (reset) => this.d.onReset(reset),
      (message) => this.d.onWarning(message),
    );
    fs.mkdirSync(path.dirname(this.d.spoolFile), { recursive: true });
    // The folder, not the file: the spool may not exist yet, or be replaced.
    this.watcher = fs.watch(path.dirname(this.d.spoolFile), (_event, name) => {
      if (!name || name === this.file) this.poke();
    });
    this.watcher.on('error', (err) => this.d.log.warn(`watching ${this.d.spoolFile} failed (${err.message}); polling only`));
    this.done = this.readLoop().catch((err) => {
      // Never an unhandled rejection: a failure is logged and stops the reader.
      this.d.log.error(`metric reader failed: ${(err as Error)?.stack ?? err}`);
      this.stopped = true;
    });
  }

  /** Reads to the end of the spool, then stops; resolves once the reader has exited. */
  async finish(): Promise<void> {
    this.finishing = true;
    await this.shutdown();
  }

  /** Stops reading at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.shutdown();
  }

  /** Whether everything read was sealed (at the end, nothing is left behind). */
  get idle(): boolean {
    return this.batcher.current === null && this.readFailure === null;
  }

  private async shutdown(): Promise<void> {
    this.poke();
    try {
      await this.done;
    } finally {
      this.watcher?.close();
      await this.tailer.close();
    }
  }

  poke(): void {
    this.wake.poke();
  }

  async commit(end: SpoolPosition): Promise<void> {
    await this.d.checkpoint.save(end);
    this.acked = end;
  }

  onAck(batch: Batch<SpoolPosition>): void {
    const u = this.unterminated;
    if (u && batch.stream === u.stream && batch.firstSeq <= u.seq && u.seq < batch.firstSeq + batch.count) this.linesUnterminated = 1;
  }

  /** The spool's offsets are its bytes: the first lines of a batch end `restBytes` before it does. */
  splitEnd(end: SpoolPosition, lastSeq: number, restBytes: number): SpoolPosition {
    return { ...end, line: lastSeq, offset: end.offset - restBytes };
  }

  private async readLoop(): Promise<void> {
    try {
      await this.readUntilDone();
    } finally {
      this.exited = true;
      this.takeRewindRequest();
    }
  }

  /** Done by the reader, between two reads, so that no read in flight adds lines from before it. */
  private takeRewindRequest(): void {
    const r = this.rewindRequest;
    if (!r) return;
    this.rewindRequest = null;
    this.rewindNow(r.stream);
    r.done();
  }

  private async readUntilDone(): Promise<void> {
    const s = this.d.settings;
    const sender = this.d.sender;
    while (!this.stopped) {
      // The sender gave up (deadline passed): nothing read now could be sent.
      if (sender.exited) break;
      this.takeRewindRequest();
      // Backpressure: memory stays bounded whatever the backlog.
      if (sender.budget.held >= s.maxBufferedLines) {
        this.batcher.seal(); // what waits unsealed must be sendable, or backpressure never lifts
        await this.wake.sleep(s.spoolPollMs);
        continue;
      }
      // 1. Read what the spool has, up to the room left.
      const room = Math.min(s.batchMaxLines, s.maxBufferedLines - sender.budget.held);
      const segments = await this.readSpool(room);
      if (segments === null) {
        // Unreadable now: at the end of a run, what is left stays in the spool for `outpost sync`.
        if (this.finishing) break;
        await this.wake.sleep(s.spoolPollMs);
        continue;
      }
      // 2. Into batches (full ones go to the sender as they fill).
      let read = 0;
      for (const seg of segments) read += this.add(seg);
      const atEnd = read < room;
      if (this.finishing && atEnd) {
        const unterminated = this.tailer.takeUnterminated();
        if (unterminated) {
          this.unterminated = { stream: this.tailer.position!.stream, seq: unterminated.seq };
          this.add(unterminated);
        }
      }
      // 3. Seal the open batch when full, at the end of the run, or old with the sender idle.
      const c = this.batcher.current;
      if (c) {
        const full = c.count >= s.batchMaxLines || c.bytes >= s.batchMaxBytes;
        const aged = Date.now() - c.firstAt >= s.batchWindowMs;
        if (full || this.finishing || (atEnd && aged && sender.queued === 0)) this.batcher.seal();
      }
      if (this.finishing && atEnd && !this.batcher.current) break;
      if (!atEnd) continue;
      // 4. Sleep until more lines come (fs.watch), the window closes, or the sender frees up (ack).
      const c2 = this.batcher.current;
      const windowLeft = c2 ? s.batchWindowMs - (Date.now() - c2.firstAt) : 0;
      await this.wake.sleep(windowLeft > 0 ? windowLeft : s.spoolPollMs);
    }
  }

  /**
   * One read of the spool, or null when it failed. A failure never ends the reader: it is said
   * (once per distinct message), the spool is opened afresh, and the next read resumes, or reads
   * a new stream if the file was replaced meanwhile.
   */
  private async readSpool(room: number): Promise<SpoolSegment[] | null> {
    try {
      const segments = await this.tailer.read(room);
      this.readFailure = null;
      return segments;
    } catch (err) {
      const message = `reading the spool ${this.d.spoolFile} failed (${(err as Error).message}); it is opened again and read on`;
      if (message !== this.readFailure) this.d.onWarning(message);
      this.readFailure = message;
      await this.tailer.reopen();
      return null;
    }
  }

  /** Adds a segment to the open batch, sealing batches as they fill; returns its line count. */
  private add(seg: SpoolSegment): number {
    const pos = this.tailer.position!;
    if (seg.kind === 'rejected') {
      this.batcher.addRejected(pos.stream, seg.seq, seg.reason, { ...pos, offset: seg.endOffset, line: seg.seq });
      this.d.log.warn(`rejected: ${this.file} line ${seg.seq}: ${seg.reason}`);
      return 1;
    }
    const { data, firstSeq, count, endOffset } = seg;
    this.batcher.addLines(pos.stream, firstSeq, count, data, (lines, bytes) => ({ ...pos, line: firstSeq + lines - 1, offset: endOffset - (data.length - bytes) }));
    return count;
  }

  /** The sender found the service lacking lines of `stream`: the reader starts it over between two reads. */
  rewind(stream: string): Promise<void> {
    if (this.exited) {
      this.rewindNow(stream);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.rewindRequest = { stream, done: resolve };
      this.poke();
    });
  }

  /** Drops what was read and not acknowledged, and reads `stream` again from its start. */
  private rewindNow(stream: string): void {
    const sender = this.d.sender;
    if (this.tailer.position?.stream === stream) {
      this.tailer.rewind();
      sender.dropQueued((b) => b.origin === this);
      this.batcher.drop();
      return;
    }
    // An older incarnation of the spool, whose file is no longer at the path: what the service
    // lacks of it cannot be read again, and its later lines cannot be stored after a gap.
    const lines = sender.dropQueued((b) => b.origin === this && b.stream === stream) + (this.batcher.current?.stream === stream ? this.batcher.drop() : 0);
    this.d.onWarning(`${lines} lines of ${stream} are not sent: the service lacks the lines before them, and the file they came from was replaced`);
  }
}
