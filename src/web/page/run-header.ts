/**
 * The run's header and what is done to the run as a whole: rename, delete (after a confirmation;
 * soft, so restorable) and restore. A deleted run's page says so. Each action's error from the
 * service shows beside its controls; the rest of the page is untouched.
 */
import type { RunInfo } from '../../protocol/api-types';
import { deleteRun, errorText, patchRun, restoreRun } from './api';
import { h, replace } from './dom';
import { formatDate } from './format';
import { statusBadge } from './run-facts';

export class RunHeader {
  readonly el = h('div', { class: 'run-header' });
  /** The deleted banner, shown above the rest of the page. */
  readonly banner = h('div', { class: 'deleted-banner', role: 'status', hidden: true });
  private run: RunInfo | null = null;
  private renaming = false;
  private readonly renameError = h('div', { class: 'action-error bad', role: 'alert' });
  private readonly actionError = h('div', { class: 'action-error bad', role: 'alert' });
  private readonly dialog: HTMLDialogElement;

  constructor(private readonly onSaved: (run: RunInfo) => void) {
    this.dialog = h('dialog', { class: 'confirm' });
    document.body.append(this.dialog);
  }

  dispose(): void {
    this.dialog.remove();
  }

  update(run: RunInfo): void {
    const before = this.run;
    this.run = run;
    this.drawBanner(run);
    // Typing a new name is not undone by a poll.
    if (this.renaming) return;
    if (before && before.name === run.name && before.status === run.status && before.experiment === run.experiment && before.deleted === run.deleted) return;
    this.draw(run);
  }

  private draw(run: RunInfo): void {
    replace(
      this.el,
      h('div', { class: 'crumbs' }, h('a', { href: `#/?experiment=${encodeURIComponent(run.experiment)}` }, run.experiment), ' / '),
      h(
        'div',
        { class: 'title-row' },
        h('h1', {}, run.name || run.id, ' ', statusBadge(run.status)),
        h('button', { type: 'button', class: 'link-button', 'data-action': 'rename', onclick: () => this.startRename() }, 'Rename'),
        run.deleted
          ? h('button', { type: 'button', class: 'button', 'data-action': 'restore', onclick: () => void this.restore() }, 'Restore')
          : h('button', { type: 'button', class: 'button danger', 'data-action': 'delete', onclick: () => this.confirmDelete() }, 'Delete'),
      ),
      this.actionError,
      h('div', { class: 'muted mono' }, run.id),
    );
  }

  private drawBanner(run: RunInfo): void {
    this.banner.hidden = !run.deleted;
    if (!run.deleted) return;
    replace(
      this.banner,
      h('strong', {}, 'This run is deleted'),
      run.deletedTime ? ` (since ${formatDate(run.deletedTime)})` : '',
      '. It is left out of the runs list, and stays restorable until it is purged (outpost history purge). ',
      h('button', { type: 'button', class: 'link-button', 'data-action': 'restore-banner', onclick: () => void this.restore() }, 'Restore it'),
    );
  }

  private startRename(): void {
    const run = this.run;
    if (!run) return;
    this.renaming = true;
    this.renameError.textContent = '';
    const input = h('input', { name: 'run-name', value: run.name, 'aria-label': 'run name', autocomplete: 'off', spellcheck: false });
    const cancel = () => {
      this.renaming = false;
      if (this.run) this.draw(this.run);
    };
    const form = h(
      'form',
      {
        class: 'rename-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.save(input.value.trim(), form);
        },
        onkeydown: (e: Event) => {
          if ((e as KeyboardEvent).key === 'Escape') cancel();
        },
      },
      input,
      h('button', { type: 'submit', class: 'primary' }, 'Save'),
      h('button', { type: 'button', class: 'button', onclick: cancel }, 'Cancel'),
    );
    replace(this.el, h('div', { class: 'crumbs' }, run.experiment, ' / '), form, this.renameError, h('div', { class: 'muted mono' }, run.id));
    input.focus();
    input.select();
  }

  private async save(name: string, form: HTMLFormElement): Promise<void> {
    const run = this.run;
    if (!run) return;
    if (name === run.name) {
      this.renaming = false;
      return this.draw(run);
    }
    form.querySelectorAll('button').forEach((b) => (b.disabled = true));
    try {
      const saved = await patchRun(run.id, { name });
      this.renaming = false;
      this.run = saved;
      this.draw(saved);
      this.onSaved(saved);
    } catch (err) {
      this.renameError.textContent = errorText(err);
      form.querySelectorAll('button').forEach((b) => (b.disabled = false));
    }
  }

  private confirmDelete(): void {
    const run = this.run;
    if (!run) return;
    const error = h('p', { class: 'action-error bad', role: 'alert' });
    const confirm = h('button', { type: 'button', class: 'button danger', 'data-action': 'confirm-delete' }, 'Delete run');
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      try {
        const saved = await deleteRun(run.id);
        this.dialog.close();
        this.afterAction(saved);
      } catch (err) {
        error.textContent = errorText(err);
        confirm.disabled = false;
      }
    });
    replace(
      this.dialog,
      h('h2', {}, 'Delete this run?'),
      h('p', {}, h('strong', {}, run.name || run.id), ' leaves the runs list. Its metrics and files are kept: you can restore it from this page until the deleted runs are purged.'),
      error,
      h('div', { class: 'dialog-buttons' }, h('button', { type: 'button', class: 'button', 'data-action': 'cancel-delete', onclick: () => this.dialog.close() }, 'Cancel'), confirm),
    );
    this.dialog.showModal();
  }

  private async restore(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.actionError.textContent = '';
    try {
      this.afterAction(await restoreRun(run.id));
    } catch (err) {
      this.actionError.textContent = errorText(err);
    }
  }

  private afterAction(saved: RunInfo): void {
    this.run = saved;
    this.actionError.textContent = '';
    this.draw(saved);
    this.drawBanner(saved);
    this.onSaved(saved);
  }
}
