/**
 * The spool's acknowledged position (checkpoint.json) and the ack watermark beside the spool.
 * Both are written atomically, and only after the service acknowledged what they cover.
 */
import path from 'path';
import fs from 'fs';
import { readJsonFile, writeFileAtomic } from './atomic-file';
import { ACK_SUFFIX, AckWatermark, CHECKPOINT_FILE } from './layout';

/** Where reading stands (or, in the checkpoint, what the service has acknowledged). */
export interface SpoolPosition {
  stream: string;
  generation: number;
  ino: number;
  dev: number;
  /** sha256 of the file's first FINGERPRINT_BYTES bytes (fewer if the file is shorter). */
  fingerprint: string;
  fingerprintBytes: number;
  offset: number;
  line: number;
}


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

/**
 * The watermark of `spoolFile` as last written, or undefined if there is none (yet), or what is
 * there is not one (a reader of an untrusted file: any content, however nested, is no watermark).
 */
export function readWatermark(spoolFile: string): AckWatermark | undefined {
  try {
    const w = JSON.parse(fs.readFileSync(spoolFile + ACK_SUFFIX, 'utf8')) as AckWatermark;
    return typeof w?.offset === 'number' && typeof w?.ino === 'number' ? w : undefined;
  } catch {
    return undefined;
  }
}
