// Sites: list and the create form (which returns the admin password once).
import { api, listAll, seg } from './api.js';
import { h, badge, timeEl, table, pageHeader, section, notice, secretBox, dash, set, clear } from './dom.js';
import { field, select, onSubmit, autoSlug, SLUG_PATTERN, SLUG_HINT, errorNotice } from './forms.js';
import { jobNotice } from './jobs-ui.js';

/** The one-time credentials panel shown after a site is created. */
function credentialsPanel(ctx, r) {
  const site = r.site || {};
  const panel = h('section', { class: 'card card-warning', tabindex: '-1', 'aria-labelledby': 'cred-title' },
    h('h2', { id: 'cred-title' }, 'WordPress admin login for ', site.name || 'the new site'),
    h('p', { class: 'warning-text', role: 'alert' },
      h('strong', null, 'Save this password now. '), 'It is shown only once and cannot be retrieved later.'),
    h('dl', { class: 'facts' },
      h('dt', null, 'Username'), h('dd', null, secretBox(r.admin_user || '', { label: 'Copy username' })),
      h('dt', null, 'Password'), h('dd', null, secretBox(r.admin_password || '', { label: 'Copy password' }))),
    jobNotice(ctx, 'Creating the site and its production environment.', r.job_id),
    h('div', { class: 'actions' },
      site.id ? h('a', { class: 'btn btn-primary', href: '#/sites/' + seg(site.id) }, 'Open site') : null,
      h('button', { type: 'button', class: 'btn', onclick: () => panel.remove() }, 'I have saved the password')));
  return panel;
}

function createForm(ctx, nodes, onCreated) {
  const active = nodes.filter((n) => n.status === 'active');
  if (!active.length) {
    return section('Create a site', notice('info',
      'Sites are placed on an active node. ',
      h('a', { href: '#/nodes' }, nodes.length ? 'Provision a node first.' : 'Add and provision a node first.')));
  }
  const summary = h('div', { class: 'form-summary' });
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 100, autocomplete: 'off', placeholder: 'Acme Corp' });
  const slug = h('input', { type: 'text', name: 'slug', required: true, pattern: SLUG_PATTERN, minlength: 2, maxlength: 20, autocomplete: 'off', spellcheck: 'false', placeholder: 'acme' });
  autoSlug(name, slug);
  const form = h('form', { class: 'stack' },
    summary,
    field({ label: 'Name', name: 'name', control: name }),
    field({ label: 'Slug', name: 'slug', control: slug, hint: `${SLUG_HINT} At most 20 characters; used for the Linux user and the preview URL.` }),
    field({ label: 'Node', name: 'node_id', control: select('node_id', active.map((n) => ({ value: n.id, label: `${n.name} (${n.host})` })), { required: true }) }),
    field({ label: 'Site title', name: 'title', maxlength: 200, hint: 'WordPress site title; defaults to the name.' }),
    field({ label: 'Admin email', name: 'admin_email', type: 'email', autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create site'));
  onSubmit(form, summary,
    (v) => {
      const body = { name: v.name, slug: v.slug, node_id: v.node_id };
      if (v.title) body.title = v.title;
      if (v.admin_email) body.admin_email = v.admin_email;
      return api.post('/sites', body, ctx.signal);
    },
    (r) => { form.reset(); onCreated(r); });
  return section('Create a site', form);
}

export async function sitesView(root, ctx) {
  const notices = h('div', { class: 'notices' });
  const list = h('div');
  const errSlot = h('div');
  const nodes = await listAll('/nodes', {}, ctx.signal);
  const nodeNames = new Map(nodes.map((n) => [n.id, n.name]));

  const load = async () => {
    const sites = await listAll('/sites', {}, ctx.signal);
    set(list, table('Sites', ['Name', 'Slug', 'Status', 'Node', 'Created'],
      sites.map((s) => [
        h('a', { href: '#/sites/' + seg(s.id) }, s.name),
        h('span', { class: 'mono' }, s.slug),
        badge(s.status),
        s.node_id ? h('a', { href: '#/nodes/' + seg(s.node_id) }, nodeNames.get(s.node_id) || s.node_id.slice(0, 8)) : dash(),
        timeEl(s.created_at),
      ]), { empty: 'No sites yet.' }));
    clear(errSlot);
  };
  const reload = () => load().catch((err) => { if (err.name !== 'AbortError') set(errSlot, errorNotice(err)); });

  await load();
  set(root,
    pageHeader('Sites'),
    errSlot,
    notices,
    h('div', { class: 'layout-split' },
      h('div', null, section('All sites', list)),
      h('aside', null, createForm(ctx, nodes, (r) => {
        const panel = credentialsPanel(ctx, r);
        notices.prepend(panel);
        panel.focus();
        panel.scrollIntoView({ block: 'start' });
        reload();
      }))));
  ctx.every(10000, () => { if (!document.hidden) reload(); });
}
