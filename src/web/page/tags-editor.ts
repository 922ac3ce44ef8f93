/**
 * A run's tags, editable: add one (or set an existing name anew), change a value, remove one.
 * Each change is one PATCH of that tag; the service's answer is what is shown next. An error
 * shows beside the row or form that failed, and what was typed stays there to correct.
 */
import type { RunInfo } from '../../protocol/api-types';
import { errorText, patchRun } from './api';
import { h, replace } from './dom';

export class TagsEditor {
  readonly el = h('div', { class: 'tags-editor' });
  private run: RunInfo | null = null;
  private shown = '';
  /** A value being changed, or a name being added: a poll does not redraw over it. */
  private editing = false;

  constructor(private readonly onSaved: (run: RunInfo) => void) {}

  update(run: RunInfo): void {
    this.run = run;
    const sig = JSON.stringify([run.id, run.tags]);
    if (this.editing || sig === this.shown) return;
    this.shown = sig;
    this.draw(run);
  }

  private draw(run: RunInfo): void {
    const names = Object.keys(run.tags).sort((a, b) => a.localeCompare(b));
    const rows = names.map((name) => this.row(run, name));
    const key = h('input', { name: 'tag-name', placeholder: 'name', autocomplete: 'off', spellcheck: false, 'aria-label': 'new tag name', required: true });
    const value = h('input', { name: 'tag-value', placeholder: 'value', autocomplete: 'off', spellcheck: false, 'aria-label': 'new tag value' });
    const error = h('div', { class: 'action-error bad', role: 'alert' });
    const typing = () => (this.editing = key.value !== '' || value.value !== '');
    key.addEventListener('input', typing);
    value.addEventListener('input', typing);
    const form = h(
      'form',
      {
        class: 'tag-add',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.save({ [key.value.trim()]: value.value }, error, form);
        },
      },
      key,
      value,
      h('button', { type: 'submit', class: 'button' }, 'Add tag'),
    );
    replace(
      this.el,
      names.length ? h('table', { class: 'grid tags-table' }, h('tbody', {}, rows)) : h('p', { class: 'muted' }, 'No tags.'),
      form,
      error,
    );
  }

  private row(run: RunInfo, name: string): HTMLElement {
    const value = run.tags[name];
    const error = h('div', { class: 'action-error bad', role: 'alert' });
    const cell = h('td', { class: 'tag-value' }, h('span', { class: 'mono' }, value));
    const tr = h(
      'tr',
      { 'data-tag': name },
      h('td', { class: 'tag-name', title: name }, name),
      cell,
      h(
        'td',
        { class: 'tag-actions' },
        h('button', { type: 'button', class: 'link-button', 'data-action': 'edit-tag', title: `change ${name}`, onclick: () => edit() }, 'edit'),
        h('button', { type: 'button', class: 'link-button', 'data-action': 'remove-tag', title: `remove ${name}`, onclick: () => void this.save({ [name]: null }, error, tr) }, 'remove'),
      ),
    );
    const edit = () => {
      this.editing = true;
      const input = h('input', { name: 'tag-edit', value, autocomplete: 'off', spellcheck: false, 'aria-label': `value of ${name}` });
      const form = h(
        'form',
        {
          class: 'tag-edit',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void this.save({ [name]: input.value }, error, form);
          },
          onkeydown: (e: Event) => {
            if ((e as KeyboardEvent).key !== 'Escape') return;
            this.editing = false;
            if (this.run) this.draw(this.run);
          },
        },
        input,
        h('button', { type: 'submit', class: 'button' }, 'Save'),
      );
      replace(cell, form, error);
      input.focus();
      input.select();
    };
    return tr;
  }

  private async save(tags: Record<string, string | null>, error: HTMLElement, where: HTMLElement): Promise<void> {
    const run = this.run;
    if (!run) return;
    error.textContent = '';
    // Shown on the row when it is a row's; the add form's is already in place.
    if (where.tagName === 'TR' && !where.contains(error)) where.querySelector('.tag-value')?.append(error);
    where.querySelectorAll('button').forEach((b) => (b.disabled = true));
    try {
      const saved = await patchRun(run.id, { tags });
      this.editing = false;
      this.run = saved;
      this.shown = JSON.stringify([saved.id, saved.tags]);
      this.draw(saved);
      this.onSaved(saved);
    } catch (err) {
      error.textContent = errorText(err);
      where.querySelectorAll('button').forEach((b) => (b.disabled = false));
    }
  }
}
