/**
 * A run's note: Markdown shown as text-safe HTML (src/web/page/markdown.ts), edited as Markdown in
 * a text box. Saving an empty note removes it. The service's error shows under the box, and the
 * text typed stays in it.
 */
import type { RunInfo } from '../../protocol/api-types';
import { errorText, patchRun } from './api';
import { h, replace } from './dom';
import { renderMarkdown } from './markdown';

export class NoteEditor {
  readonly el = h('div', { class: 'note' });
  private run: RunInfo | null = null;
  private shown: string | null | undefined = undefined;
  private editing = false;

  constructor(private readonly onSaved: (run: RunInfo) => void) {}

  update(run: RunInfo): void {
    this.run = run;
    if (this.editing || run.note === this.shown) return;
    this.shown = run.note;
    this.draw(run);
  }

  private draw(run: RunInfo): void {
    const body = h('div', { class: 'note-body markdown' });
    if (run.note) body.innerHTML = renderMarkdown(run.note);
    else body.append(h('p', { class: 'muted' }, 'No note.'));
    replace(this.el, body, h('button', { type: 'button', class: 'button', 'data-action': 'edit-note', onclick: () => this.edit() }, run.note ? 'Edit note' : 'Add a note'));
  }

  private edit(): void {
    const run = this.run;
    if (!run) return;
    this.editing = true;
    const text = h('textarea', { name: 'note', rows: 8, spellcheck: true, 'aria-label': 'note (Markdown)', placeholder: 'What this run tried, what came of it. Markdown.' });
    text.value = run.note ?? '';
    const error = h('div', { class: 'action-error bad', role: 'alert' });
    const cancel = () => {
      this.editing = false;
      if (this.run) this.draw(this.run);
    };
    const form = h(
      'form',
      {
        class: 'note-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.save(text.value, error, form);
        },
      },
      text,
      h('div', { class: 'note-buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Save note'), h('button', { type: 'button', class: 'button', onclick: cancel }, 'Cancel'), h('span', { class: 'muted' }, 'Markdown; HTML shows as text.')),
      error,
    );
    replace(this.el, form);
    text.focus();
  }

  private async save(text: string, error: HTMLElement, form: HTMLFormElement): Promise<void> {
    const run = this.run;
    if (!run) return;
    error.textContent = '';
    form.querySelectorAll('button').forEach((b) => (b.disabled = true));
    try {
      const saved = await patchRun(run.id, { note: text.trim() === '' ? null : text });
      this.editing = false;
      this.run = saved;
      this.shown = saved.note;
      this.draw(saved);
      this.onSaved(saved);
    } catch (err) {
      error.textContent = errorText(err);
      form.querySelectorAll('button').forEach((b) => (b.disabled = false));
    }
  }
}
