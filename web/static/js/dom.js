// DOM helpers. API text only ever reaches the page through text nodes and
// attributes set here, never parsed as HTML.

const PROPS = new Set(['value', 'checked', 'selected', 'indeterminate']);

/** h('a', {href: '#/x', class: 'btn', onclick: fn}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  const props = [];
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      // Inputs keep value/checked as attributes so form.reset() returns to them.
      else if (PROPS.has(k) && tag !== 'input') props.push([k, v]);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  // After children so a <select>'s value can match one of its options.
  for (const [k, v] of props) el[k] = v;
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** replaceChildren that, like h(), skips null/false and flattens arrays. */
export function set(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Only http(s) URLs from the API become links. */
export function safeUrl(u) {
  if (typeof u !== 'string') return null;
  try {
    const url = new URL(u, location.origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

export function extLink(u, text) {
  const href = safeUrl(u);
  if (!href) return u ? h('span', null, text || u) : dash();
  return h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text || u);
}

export function dash() {
  return h('span', { class: 'muted', 'aria-label': 'none' }, '—');
}

export function shortId(id) {
  return typeof id === 'string' ? id.slice(0, 8) : '';
}

export function idLink(href, id) {
  if (!id) return dash();
  return h('a', { href, class: 'mono', title: id }, shortId(id));
}

function validDate(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1971 ? null : d;
}

export function fmtTime(iso) {
  const d = validDate(iso);
  return d ? d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '';
}

export function relTime(iso) {
  const d = validDate(iso);
  if (!d) return '';
  const s = Math.round((d.getTime() - Date.now()) / 1000);
  const abs = Math.abs(s);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (abs < 45) return rtf.format(s, 'second');
  if (abs < 2700) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 64800) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

/** A <time> showing relative time, with the absolute time as tooltip. */
export function timeEl(iso, { relative = true } = {}) {
  const d = validDate(iso);
  if (!d) return dash();
  return h('time', { datetime: d.toISOString(), title: fmtTime(iso) }, relative ? relTime(iso) : fmtTime(iso));
}

export function duration(fromIso, toIso) {
  const a = validDate(fromIso);
  if (!a) return '';
  const b = validDate(toIso) || new Date();
  let s = Math.max(0, Math.round((b - a) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  s %= 60;
  if (m < 60) return `${m}m ${s}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

const TONES = {
  ok: ['active', 'succeeded', 'completed', 'clean', 'healthy', 'success', 'ok', 'allowed'],
  busy: ['running', 'provisioning', 'creating', 'deploying', 'updating', 'restoring', 'promoting', 'cloning', 'deleting'],
  warn: ['queued', 'pending', 'drifted', 'unknown', 'warn', 'warning'],
  bad: ['failed', 'unreachable', 'error', 'unhealthy', 'failure', 'denied'],
  muted: ['cancelled', 'decommissioned', 'deleted', 'expired', 'disabled', 'debug'],
};

export function tone(status) {
  for (const [t, list] of Object.entries(TONES)) if (list.includes(status)) return t;
  return 'neutral';
}

export function badge(status, label) {
  if (!status) return dash();
  return h('span', { class: `badge badge-${tone(status)}` }, label || String(status).replaceAll('_', ' '));
}

export function copyButton(getText, label = 'Copy') {
  const btn = h('button', { type: 'button', class: 'btn btn-small' }, label);
  btn.addEventListener('click', async () => {
    const text = typeof getText === 'function' ? getText() : getText;
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      // Clipboard API needs a secure context; fall back to a hidden textarea.
      const ta = h('textarea', { class: 'visually-hidden', readonly: true, 'aria-hidden': 'true' });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand('copy'); } catch { ok = false; }
      ta.remove();
    }
    btn.textContent = ok ? 'Copied' : 'Copy failed — select and copy manually';
    setTimeout(() => { btn.textContent = label; }, 2000);
  });
  return btn;
}

/** A read-only secret box: monospace value plus a copy button. */
export function secretBox(value, { label = 'Copy' } = {}) {
  return h('div', { class: 'secret' },
    h('code', { class: 'secret-value' }, value),
    copyButton(value, label));
}

export function notice(kind, ...children) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

export function section(title, ...children) {
  const id = 'sec-' + Math.random().toString(36).slice(2, 8);
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, title), ...children);
}

/** Definition list from [label, value] pairs, skipping null values. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter((p) => p).map(([k, v]) => [
    h('dt', null, k),
    h('dd', null, v == null || v === '' ? dash() : v),
  ]));
}

export function table(caption, headers, rows, { empty = 'Nothing here yet.' } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', null,
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', null, h('tr', null, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, rows.map((cells) => h('tr', null, cells.map((c) => h('td', null, c)))))));
}

export function pageHeader(title, ...actions) {
  return h('div', { class: 'page-header' },
    h('h1', { tabindex: '-1' }, title),
    actions.length ? h('div', { class: 'actions' }, actions) : null);
}
