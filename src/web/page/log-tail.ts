/** The end of the run's stdout/stderr (the artifact logs/run.log), fetched with a suffix Range. */
import type { RunInfo } from '../../protocol/api-types';
import { LOG_ARTIFACT } from '../../run-folder/layout';
import { artifactUrl, tailArtifact } from './api';
import { h, replace } from './dom';
import { formatBytes } from './format';

const TAIL_BYTES = 64 * 1024; // enough for the last screens of output, small enough to poll every second

export class LogTail {
  readonly el = h('div', { class: 'log' });
  private readonly pre = h('pre', { class: 'log-text', tabindex: '0' });
  private readonly info = h('p', { class: 'muted log-info' });
  private seen = '';

  constructor() {
    replace(this.el, h('p', { class: 'muted' }, `No ${LOG_ARTIFACT} yet.`));
  }

  async update(run: RunInfo): Promise<void> {
    const art = run.artifacts.find((a) => a.path === LOG_ARTIFACT);
    if (!art || `${art.sha256}:${art.size}` === this.seen) return;
    const tail = await tailArtifact(run.id, LOG_ARTIFACT, art.size, TAIL_BYTES);
    this.seen = `${art.sha256}:${art.size}`;
    // A cut tail starts mid-line (maybe mid-character): drop that first fragment.
    const text = tail.partial ? tail.text.slice(tail.text.indexOf('\n') + 1) : tail.text;
    // Follow the end, as `tail -f` does, unless the reader scrolled up.
    const atBottom = !this.pre.isConnected || this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
    this.pre.textContent = text;
    replace(
      this.info,
      tail.partial ? `Last ${formatBytes(TAIL_BYTES)} of ${formatBytes(tail.size)} · ` : `${formatBytes(tail.size)} · `,
      h('a', { href: artifactUrl(run.id, LOG_ARTIFACT), download: 'run.log', 'data-download': LOG_ARTIFACT }, 'download the whole log'),
    );
    if (!this.el.contains(this.pre)) replace(this.el, this.pre, this.info);
    if (atBottom) this.pre.scrollTop = this.pre.scrollHeight;
  }
}
