/** Promote a prefix of the run's artifacts to a named, versioned asset (POST /assets). */
import { ApiError, promote } from './api';
import { h, replace } from './dom';
import { formatBytes } from './format';
import { href } from './router';

export class PromoteForm {
  readonly el: HTMLFormElement;
  private readonly prefix = h('input', { name: 'prefix', placeholder: 'e.g. outputs/model/ (empty: everything)', autocomplete: 'off' });
  private readonly name = h('input', { name: 'name', placeholder: 'asset name', required: true, autocomplete: 'off' });
  private readonly result = h('div', { class: 'promote-result', role: 'status' });

  constructor(private readonly runId: string) {
    this.el = h(
      'form',
      { class: 'promote', onsubmit: (e: Event) => (e.preventDefault(), void this.submit()) },
      h('label', {}, h('span', {}, 'Prefix'), this.prefix),
      h('label', {}, h('span', {}, 'Asset name'), this.name),
      h('button', { type: 'submit', class: 'primary' }, 'Promote'),
      this.result,
    );
  }

  fill(prefix: string): void {
    this.prefix.value = prefix;
    if (!this.name.value) this.name.value = prefix.replace(/\/$/, '').split('/').pop() ?? '';
    this.el.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    this.name.focus();
  }

  private async submit(): Promise<void> {
    const button = this.el.querySelector('button') as HTMLButtonElement;
    button.disabled = true;
    try {
      const asset = await promote({ run: this.runId, prefix: this.prefix.value.trim(), name: this.name.value.trim() });
      const size = asset.files.reduce((n, f) => n + f.size, 0);
      replace(
        this.result,
        h('span', { class: 'ok' }, '✓ '),
        'Promoted ',
        h('a', { href: href(['assets'], { name: asset.name }), class: 'asset-name' }, asset.name),
        ' version ',
        h('strong', { class: 'asset-version' }, String(asset.version)),
        ` · ${asset.files.length} file${asset.files.length === 1 ? '' : 's'}, ${formatBytes(size)}`,
      );
      this.result.dataset.version = String(asset.version);
    } catch (err) {
      replace(this.result, h('span', { class: 'bad' }, err instanceof ApiError ? err.message : String(err)));
    } finally {
      button.disabled = false;
    }
  }
}
