/**
 * The deletions stage: files the service has that vanished from the folder are marked deleted,
 * uploadConcurrency at a time (`rm -rf` of 9,000 files is not 9,000 requests at once).
 */
import type { AxiosInstance } from 'axios';
import type { AgentSettings } from '../../../config/agent';
import { artifactUrl } from '../../http/api-client';
import type { Logger } from '../../log/logger';
import { untilDeadline, withRetry } from '../retry';

export interface DeletionsDeps {
  api: AxiosInstance;
  runId: string;
  prefix: string;
  settings: AgentSettings;
  log: Logger;
  registerRun: () => Promise<void>;
  /** Whether the file is there again (made again while its deletion waited). */
  exists: (rel: string) => boolean;
  giveUpAt: () => number;
  /** A deletion went (or was given up): the folder may be drained. */
  settled: () => void;
}

export class Deletions {
  /** Deletions to send or being sent. */
  private readonly pending = new Set<string>();
  private readonly line: string[] = [];
  private active = 0;

  constructor(private readonly d: DeletionsDeps) {}

  get size(): number {
    return this.pending.size;
  }

  add(rel: string): void {
    if (this.pending.has(rel)) return;
    this.pending.add(rel);
    this.line.push(rel);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.d.settings.uploadConcurrency && this.line.length > 0) {
      const rel = this.line.shift()!;
      // Made again while its deletion waited: the upload that follows is what counts, and a
      // DELETE sent after it would mark the new file deleted.
      if (this.d.exists(rel)) {
        this.pending.delete(rel);
        this.d.settled();
        continue;
      }
      this.active++;
      void this.send(rel).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }

  private async send(rel: string): Promise<void> {
    try {
      await this.d.registerRun();
      await withRetry(() => this.d.api.delete(artifactUrl(this.d.runId, `${this.d.prefix}${rel}`)), untilDeadline(this.d.settings, this.d.giveUpAt));
    } catch (err) {
      this.d.log.warn(`marking ${this.d.prefix}${rel} deleted failed: ${(err as Error).message}`);
    } finally {
      this.pending.delete(rel);
      this.d.settled();
    }
  }
}
