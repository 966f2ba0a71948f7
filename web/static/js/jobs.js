// Jobs list: filters kept in the URL, cursor paging, auto-refresh.
import { api, items, listAll } from './api.js';
import { h, pageHeader, shortId, set, clear } from './dom.js';
import { field, select, errorNotice } from './forms.js';
import { JOB_STATUSES, JOB_TYPES, jobLabel, jobsTable } from './jobs-ui.js';
import { createPager } from './pager.js';
import { navigate, href } from './router.js';

const SCOPES = [['site_id', 'Site'], ['environment_id', 'Environment'], ['node_id', 'Node']];
const AUTO_KEY = 'pressluft.jobs.autorefresh';

export async function jobsView(root, ctx) {
  const q = ctx.query;
  const filters = {};
  for (const k of ['status', 'type', 'site_id', 'environment_id', 'node_id']) filters[k] = q.get(k) || '';

  const names = { sites: new Map(), nodes: new Map() };
  await Promise.all([
    listAll('/sites', {}, ctx.signal).then((l) => l.forEach((s) => names.sites.set(s.id, s.name))),
    listAll('/nodes', {}, ctx.signal).then((l) => l.forEach((n) => names.nodes.set(n.id, n.name))),
  ].map((p) => p.catch((err) => { if (err.name === 'AbortError') throw err; })));

  const status = select('status', [{ value: '', label: 'Any status' }, ...JOB_STATUSES], { value: filters.status });
  const type = select('type', [{ value: '', label: 'Any type' }, ...JOB_TYPES.map((t) => ({ value: t, label: jobLabel(t) }))], { value: filters.type });
  const apply = () => navigate('/jobs', { ...filters, status: status.value, type: type.value });
  status.addEventListener('change', apply);
  type.addEventListener('change', apply);

  const chips = SCOPES.filter(([k]) => filters[k]).map(([k, label]) => {
    const v = filters[k];
    const name = (k === 'site_id' && names.sites.get(v)) || (k === 'node_id' && names.nodes.get(v)) || shortId(v);
    return h('span', { class: 'chip' }, `${label}: ${name} `,
      h('a', { href: href('/jobs', { ...filters, [k]: '' }), 'aria-label': `Remove ${label} filter` }, '×'));
  });

  const auto = h('input', { type: 'checkbox', id: 'jobs-auto', checked: localStorage.getItem(AUTO_KEY) !== 'off' });
  auto.addEventListener('change', () => localStorage.setItem(AUTO_KEY, auto.checked ? 'on' : 'off'));
  const stamp = h('span', { class: 'muted small', 'aria-live': 'off' });

  const list = h('div');
  const errSlot = h('div');
  const pager = createPager(() => load().catch(showErr));
  function showErr(err) { if (err.name !== 'AbortError') set(errSlot, errorNotice(err)); }

  async function load() {
    const data = await api.get('/jobs', { ...filters, limit: 50, cursor: pager.cursor }, ctx.signal);
    const rows = items(data);
    set(list, jobsTable(rows, { names, empty: 'No jobs match these filters.' }));
    pager.update(data && data.next_cursor, rows.length);
    clear(errSlot);
    stamp.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }

  await load();
  set(root,
    pageHeader('Jobs'),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs', onsubmit: (e) => { e.preventDefault(); apply(); } },
      field({ label: 'Status', name: 'status', control: status, mark: false }),
      field({ label: 'Type', name: 'type', control: type, mark: false }),
      chips.length ? h('div', { class: 'chips' }, chips) : null,
      h('div', { class: 'filters-end' },
        h('label', { class: 'choice', for: 'jobs-auto' }, auto, ' Auto-refresh'),
        stamp)),
    errSlot,
    h('div', { class: 'card' }, list, pager.el));
  ctx.every(5000, () => { if (auto.checked && !document.hidden) load().catch(showErr); });
}
