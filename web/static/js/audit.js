// Audit log: filters kept in the URL, cursor paging.
import { api, items, seg } from './api.js';
import { h, badge, timeEl, table, pageHeader, dash, shortId, set, clear } from './dom.js';
import { field, errorNotice } from './forms.js';
import { createPager } from './pager.js';
import { navigate } from './router.js';

const RESOURCE_PAGES = { site: '#/sites/', node: '#/nodes/', job: '#/jobs/' };
const RESOURCE_TYPES = ['site', 'environment', 'node', 'job', 'backup', 'domain', 'api_token', 'settings', 'session', 'user'];

/** ISO (from the URL) → value for <input type=datetime-local>, in local time. */
function toLocalInput(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function resourceCell(e) {
  if (!e.resource_type) return dash();
  const page = RESOURCE_PAGES[e.resource_type];
  const id = e.resource_id
    ? (page ? h('a', { href: page + seg(e.resource_id), class: 'mono', title: e.resource_id }, shortId(e.resource_id))
      : h('span', { class: 'mono', title: e.resource_id }, shortId(e.resource_id)))
    : null;
  return h('span', null, e.resource_type, id ? ' ' : null, id);
}

function resultCell(e) {
  const ok = e.result === 'success' || e.result === 'succeeded' || e.result === 'ok' || (e.status_code >= 200 && e.status_code < 400);
  return badge(ok ? 'ok' : 'failed', e.result || (ok ? 'ok' : 'failed'));
}

export async function auditView(root, ctx) {
  const q = ctx.query;
  const filters = {};
  for (const k of ['actor', 'action', 'resource_type', 'resource_id', 'since', 'until']) filters[k] = q.get(k) || '';

  const list = h('div');
  const errSlot = h('div');
  const pager = createPager(() => load().catch(showErr));
  function showErr(err) { if (err.name !== 'AbortError') set(errSlot, errorNotice(err)); }

  async function load() {
    const data = await api.get('/audit', { ...filters, limit: 50, cursor: pager.cursor }, ctx.signal);
    const rows = items(data);
    set(list, table('Audit log', ['Time', 'Actor', 'Action', 'Resource', 'Result', 'HTTP', 'Request', 'IP'],
      rows.map((e) => [
        timeEl(e.time, { relative: false }),
        e.actor || dash(),
        h('span', { class: 'mono' }, e.action || ''),
        resourceCell(e),
        resultCell(e),
        e.status_code ? String(e.status_code) : dash(),
        e.request_id ? h('span', { class: 'mono small', title: e.request_id }, shortId(e.request_id)) : dash(),
        e.ip ? h('span', { class: 'mono small' }, e.ip) : dash(),
      ]), { empty: 'No audit entries match these filters.' }));
    pager.update(data && data.next_cursor, rows.length);
    clear(errSlot);
  }

  const typeList = h('datalist', { id: 'audit-types' }, RESOURCE_TYPES.map((t) => h('option', { value: t })));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter audit log' },
    field({ label: 'Actor', name: 'actor', value: filters.actor, placeholder: 'email or token', mark: false }),
    field({ label: 'Action', name: 'action', value: filters.action, placeholder: 'e.g. site.create', mark: false }),
    field({ label: 'Resource type', name: 'resource_type', value: filters.resource_type, list: 'audit-types', mark: false }),
    field({ label: 'Resource ID', name: 'resource_id', value: filters.resource_id, mark: false, spellcheck: 'false' }),
    field({ label: 'Since', name: 'since', type: 'datetime-local', value: toLocalInput(filters.since), mark: false }),
    field({ label: 'Until', name: 'until', type: 'datetime-local', value: toLocalInput(filters.until), mark: false }),
    typeList,
    h('div', { class: 'filters-end' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'),
      h('a', { href: '#/audit', class: 'btn btn-ghost' }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = Object.fromEntries([...new FormData(form)].map(([k, val]) => [k, String(val).trim()]));
    navigate('/audit', { ...v, since: fromLocalInput(v.since), until: fromLocalInput(v.until) });
  });

  await load();
  set(root, pageHeader('Audit log'), form, errSlot, h('div', { class: 'card' }, list, pager.el));
}
