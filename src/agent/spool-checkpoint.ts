/**
 * The spool's acknowledged position (checkpoint.json) and the ack watermark beside the spool.
 * Both are written atomically, and only after the service acknowledged what they cover.
 */
import path from 'path';
import { ACK_SUFFIX, AckWatermark, CHECKPOINT_FILE } from '../protocol';
import { readJsonFile, writeFileAtomic } from './atomic-file';
import type { SpoolPosition } from './spool-tailer';

interface CheckpointFile {
  version: 1;
  spool: SpoolPosition;
}

export class SpoolCheckpoint {
  readonly file: string;
  readonly watermarkFile: string;

  constructor(runDir: string, spoolFile: string) {
    this.file = path.join(runDir, CHECKPOINT_FILE);
    this.watermarkFile = `${spoolFile}${ACK_SUFFIX}`;
  }

  async load(): Promise<SpoolPosition | null> {
    const cp = await readJsonFile<CheckpointFile>(this.file);
    return cp?.spool ?? null;
  }

  /** Called after each acknowledgement, in order. */
  async save(pos: SpoolPosition): Promise<void> {
    const cp: CheckpointFile = { version: 1, spool: pos };
    await writeFileAtomic(this.file, JSON.stringify(cp));
    const wm: AckWatermark = { stream: pos.stream, ino: pos.ino, offset: pos.offset, line: pos.line, time: new Date().toISOString() };
    await writeFileAtomic(this.watermarkFile, JSON.stringify(wm));
  }
}
