// Modal confirmation built on <dialog>; `typed` demands the user type a
// word (a slug) before a destructive action is enabled.
import { h } from './dom.js';

export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false, typed = null }) {
  return new Promise((resolve) => {
    const input = typed ? h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'dlg-typed-hint' }) : null;
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', value: 'ok', disabled: !!typed }, confirmLabel);
    const cancel = h('button', { type: 'button', class: 'btn', value: 'cancel' }, 'Cancel');
    const form = h('form', null,
      h('h2', { id: 'dlg-title' }, title),
      h('div', { class: 'dialog-body' }, message),
      typed ? h('div', { class: 'field' },
        h('label', { for: 'dlg-typed' }, 'Type ', h('code', null, typed), ' to confirm'),
        input,
        h('p', { class: 'hint', id: 'dlg-typed-hint' }, 'This cannot be undone.')) : null,
      h('div', { class: 'dialog-actions' }, cancel, ok));
    if (input) {
      input.id = 'dlg-typed';
      input.addEventListener('input', () => { ok.disabled = input.value !== typed; });
    }
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' }, form);
    // Settle from the handlers themselves rather than the async 'close' event.
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      if (dlg.open) dlg.close();
      dlg.remove();
      resolve(value);
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (typed && input.value !== typed) return;
      finish(true);
    });
    cancel.addEventListener('click', () => finish(false));
    dlg.addEventListener('cancel', () => finish(false)); // Escape
    dlg.addEventListener('close', () => finish(false));
    document.body.append(dlg);
    dlg.showModal();
    (input || cancel).focus();
  });
}
