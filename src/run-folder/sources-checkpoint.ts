/**
 * sources.json: for each metric source file of outputs/ (an event file, a CSV log...), the
 * position the service has acknowledged, so that a restarted agent goes on from there. Written
 * atomically, only after the acknowledgement; saves asked for while one is under way are made as
 * one, after it.
 */
import path from 'path';
import { readJsonFile, writeFileAtomic } from './atomic-file';
import { SOURCES_FILE } from './layout';

interface SourcesFile {
  version: 1;
  positions: Record<string, unknown>;
}

export class SourcesCheckpoint {
  readonly file: string;
  private positions: Record<string, unknown> = {};
  private writing: Promise<void> | null = null;
  private again: Promise<void> | null = null;

  constructor(runDir: string) {
    this.file = path.join(runDir, SOURCES_FILE);
  }

  async load(): Promise<Record<string, unknown>> {
    const saved = await readJsonFile<SourcesFile>(this.file);
    this.positions = saved?.positions && typeof saved.positions === 'object' ? { ...saved.positions } : {};
    return { ...this.positions };
  }

  /** Resolves once a write made after this call is on disk. */
  save(key: string, position: unknown): Promise<void> {
    this.positions[key] = position;
    if (!this.writing) {
      this.writing = this.write().finally(() => (this.writing = null));
      return this.writing;
    }
    // One write is under way with older positions: one more follows it, for every caller meanwhile.
    this.again ??= this.writing.catch(() => undefined).then(() => {
      this.again = null;
      return this.save(key, this.positions[key]);
    });
    return this.again;
  }

  private write(): Promise<void> {
    const body: SourcesFile = { version: 1, positions: this.positions };
    return writeFileAtomic(this.file, JSON.stringify(body));
  }
}
