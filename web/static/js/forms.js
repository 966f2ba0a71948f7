// Form helpers: labelled fields with a slot for the API's per-field errors.
import { h, clear } from './dom.js';

let seq = 0;

/**
 * field({label, name, hint, control}) or field({label, name, type, ...inputAttrs}).
 * The control carries data-field=name so API `details` can be mapped onto it.
 */
export function field({ label, name, hint, control, mark = true, ...attrs }) {
  const id = `f-${name}-${++seq}`;
  const hintId = hint ? id + '-hint' : null;
  const errId = id + '-err';
  const el = control || h('input', { type: 'text', name, ...attrs });
  el.id = id;
  el.name = el.name || name;
  el.dataset.field = name;
  el.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  return h('div', { class: 'field' },
    h('label', { for: id }, label, !mark || attrs.required || (control && control.required) ? null : h('span', { class: 'optional' }, ' (optional)')),
    el,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errId }));
}

export function select(name, options, attrs = {}) {
  return h('select', { name, ...attrs },
    options.map((o) => (typeof o === 'string' ? h('option', { value: o }, o) : h('option', { value: o.value, disabled: o.disabled }, o.label))));
}

/** Trimmed values of every named control; numbers for type=number. */
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.type === 'radio') { if (el.checked) out[el.name] = el.value; }
    else if (el.type === 'number') out[el.name] = el.value === '' ? null : Number(el.value);
    else out[el.name] = el.value.trim();
  }
  return out;
}

function fieldMessages(err) {
  const d = err.details;
  if (!d || typeof d !== 'object') return {};
  // The API names the offending field: {"field": "slug"} with the text in message.
  if (typeof d.field === 'string') return { [d.field]: err.message };
  if (d.fields && typeof d.fields === 'object') return d.fields;
  if (Array.isArray(d.errors)) {
    const out = {};
    for (const e of d.errors) if (e && e.field) out[e.field] = e.message || e.code || 'invalid';
    return out;
  }
  return d;
}

function text(v) {
  if (v == null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(text).join('; ');
  if (typeof v === 'object') return v.message || v.code || JSON.stringify(v);
  return String(v);
}

export function clearErrors(form, summary) {
  for (const p of form.querySelectorAll('.field-error')) p.textContent = '';
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  if (summary) clear(summary);
}

/** Shows an ApiError: message in `summary`, details next to matching fields. */
export function showErrors(form, err, summary) {
  clearErrors(form, summary);
  const leftovers = [];
  let first = null;
  for (const [k, v] of Object.entries(fieldMessages(err))) {
    const ctl = form.querySelector(`[data-field="${CSS.escape(k)}"]`);
    const errEl = ctl && ctl.closest('.field')?.querySelector('.field-error');
    if (errEl) {
      errEl.textContent = text(v);
      ctl.setAttribute('aria-invalid', 'true');
      first = first || ctl;
    } else {
      leftovers.push(h('li', null, h('code', null, k), ': ', text(v)));
    }
  }
  // A single named field already shows the message beside it.
  const shownAtField = first && err.details && typeof err.details.field === 'string';
  if (summary && !shownAtField) {
    summary.append(h('div', { class: 'notice notice-error', role: 'alert' },
      h('strong', null, err.message || 'Something went wrong.'),
      err.code ? h('span', { class: 'code' }, ` (${err.code})`) : null,
      leftovers.length ? h('ul', null, leftovers) : null));
  }
  if (first) first.focus();
}

/**
 * Wires submit: disables the button while `action(values)` runs, shows API
 * errors, and hands the result to `done`.
 */
export function onSubmit(form, summary, action, done) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const btn = form.querySelector('[type=submit]');
    clearErrors(form, summary);
    if (btn) { btn.disabled = true; btn.setAttribute('aria-busy', 'true'); }
    try {
      const result = await action(values(form));
      if (done) await done(result);
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      showErrors(form, err, summary);
    } finally {
      if (btn) { btn.disabled = false; btn.removeAttribute('aria-busy'); }
    }
  });
}

export function errorNotice(err) {
  return h('div', { class: 'notice notice-error', role: 'alert' },
    h('strong', null, (err && err.message) || 'Something went wrong.'),
    err && err.code ? h('span', { class: 'code' }, ` (${err.code})`) : null);
}

/** Slug derived from a name: "My Site" → "my-site" (starts with a letter, no "--"). */
export function slugify(s, max = 20) {
  return s.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-').replace(/^[^a-z]+/, '').slice(0, max).replace(/-+$/, '');
}

/** Fills `slugInput` from `nameInput` until the user edits the slug. */
export function autoSlug(nameInput, slugInput) {
  let touched = false;
  const max = Number(slugInput.getAttribute('maxlength')) || 20;
  slugInput.addEventListener('input', () => { touched = slugInput.value !== ''; });
  nameInput.addEventListener('input', () => { if (!touched) slugInput.value = slugify(nameInput.value, max); });
}

// Mirrors the server: a lower-case letter first, then letters, digits, hyphens.
export const SLUG_PATTERN = '[a-z](?:[a-z0-9\\-]*[a-z0-9])?';
export const SLUG_HINT = 'Lower-case letters, digits and hyphens, starting with a letter.';
