// Site detail: environments (create, reset, delete), site reset/delete, jobs.
import { api, items, listAll, seg } from './api.js';
import { h, badge, timeEl, facts, table, pageHeader, section, notice, extLink, dash, set, clear } from './dom.js';
import { field, onSubmit, autoSlug, SLUG_PATTERN, SLUG_HINT, errorNotice } from './forms.js';
import { confirmDialog } from './dialog.js';
import { setFlash } from './flash.js';
import { jobNotice, jobsTable } from './jobs-ui.js';
import { navigate, href } from './router.js';

const SETTLED = new Set(['active', 'failed', 'deleted']);

/** Reset answers either a job (202) or the reset resource (200). */
function resetResult(ctx, r, what, onDone) {
  return r && r.job_id
    ? jobNotice(ctx, `Resetting ${what}.`, r.job_id, { onDone })
    : notice('success', `${what[0].toUpperCase()}${what.slice(1)} reset to active.`);
}

function actionButton(label, cls, fn) {
  const b = h('button', { type: 'button', class: cls }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try { await fn(); } finally { b.disabled = false; }
  });
  return b;
}

export async function siteView(root, ctx) {
  const id = ctx.params.id;
  const notices = h('div', { class: 'notices' });
  const errSlot = h('div');
  const head = h('div');
  const info = h('div', { class: 'stack' });
  const envBox = h('div');
  const jobsBox = h('div', null, h('p', { class: 'loading' }, 'Loading jobs…'));
  let site = null;
  let envs = [];
  let nodeName = '';

  const report = (el) => { notices.prepend(el); };
  const fail = (err) => { if (err.name !== 'AbortError') report(errorNotice(err)); };

  async function resetSite() {
    try { report(resetResult(ctx, await api.post(`/sites/${seg(id)}/reset`, {}, ctx.signal), 'the site', refresh)); refresh(); } catch (err) { fail(err); }
  }

  async function deleteSite() {
    const ok = await confirmDialog({
      title: `Delete site ${site.name}?`,
      message: h('div', null,
        h('p', null, 'All environments of this site are removed from their node: files, databases, Linux users, PHP pools and vhosts.'),
        h('p', null, 'Backups kept off the node follow their retention.')),
      confirmLabel: 'Delete site', danger: true, typed: site.slug,
    });
    if (!ok) return;
    try {
      const r = await api.del('/sites/' + seg(id), ctx.signal);
      const name = site.name;
      setFlash((c) => (r && r.job_id ? jobNotice(c, `Deleting site ${name}.`, r.job_id) : notice('success', `Site ${name} deleted.`)));
      navigate('/sites');
    } catch (err) { fail(err); }
  }

  async function resetEnv(env) {
    try { report(resetResult(ctx, await api.post(`/environments/${seg(env.id)}/reset`, {}, ctx.signal), `environment ${env.name}`, refresh)); refresh(); } catch (err) { fail(err); }
  }

  async function deleteEnv(env) {
    const ok = await confirmDialog({
      title: `Delete environment ${env.name}?`,
      message: h('p', null, 'Its files, database, Linux user, PHP pool and vhost are removed from the node.'),
      confirmLabel: 'Delete environment', danger: true, typed: env.slug,
    });
    if (!ok) return;
    try {
      const r = await api.del('/environments/' + seg(env.id), ctx.signal);
      report(r && r.job_id ? jobNotice(ctx, `Deleting environment ${env.name}.`, r.job_id, { onDone: refresh }) : notice('success', `Environment ${env.name} deleted.`));
      refresh();
    } catch (err) { fail(err); }
  }

  function envActions(env) {
    const out = [];
    if (env.status === 'failed') out.push(actionButton('Reset', 'btn btn-small', () => resetEnv(env)));
    if (env.type !== 'production' && env.status !== 'deleting' && env.status !== 'deleted') {
      out.push(actionButton('Delete', 'btn btn-small btn-danger-outline', () => deleteEnv(env)));
    }
    return out.length ? h('div', { class: 'actions' }, out) : '';
  }

  function cacheFlags(env) {
    const f = [env.fastcgi_cache ? 'page' : null, env.object_cache ? 'object' : null].filter(Boolean);
    return f.length ? f.join(', ') : h('span', { class: 'muted' }, 'off');
  }

  function drawEnvs() {
    set(envBox, table('Environments', ['Environment', 'Status', 'Preview', 'Domain', 'Drift', 'Cache', ''],
      envs.map((e) => [
        h('div', null, h('div', { class: 'strong' }, e.name), h('div', { class: 'small muted' }, e.type, ' · ', h('span', { class: 'mono' }, e.slug))),
        h('span', null, badge(e.status), e.last_error ? h('span', { class: 'cell-note', title: e.last_error }, e.last_error) : null),
        e.preview_url ? extLink(e.preview_url) : dash(),
        e.primary_domain ? extLink('https://' + e.primary_domain, e.primary_domain) : dash(),
        e.drift_status ? badge(e.drift_status) : dash(),
        cacheFlags(e),
        envActions(e),
      ]), { empty: 'No environments yet.' }));
  }

  function drawSite() {
    const s = site;
    set(head, pageHeader([s.name, ' ', badge(s.status)],
      s.status === 'failed' ? actionButton('Reset site', 'btn', resetSite) : null,
      s.status !== 'deleting' && s.status !== 'deleted' ? actionButton('Delete site', 'btn btn-danger', deleteSite) : null));
    const prod = envs.find((e) => e.id === s.production_environment_id);
    set(info,
      s.status === 'failed' ? notice('error', 'The last change on this site failed. Check its job, fix the cause, then reset the site to active.') : null,
      section('Overview', facts([
        ['Slug', h('span', { class: 'mono' }, s.slug)],
        ['Node', s.node_id ? h('a', { href: '#/nodes/' + seg(s.node_id) }, nodeName || s.node_id) : null],
        ['Production', prod ? (prod.preview_url ? extLink(prod.preview_url) : prod.name) : null],
        ['Created', timeEl(s.created_at)],
        ['Updated', timeEl(s.updated_at)],
        ['ID', h('span', { class: 'mono' }, s.id)],
      ])));
  }

  // --- create staging/clone ---
  const sourceSel = h('select', { name: 'source_environment_id', required: true });
  function updateSources() {
    const keep = sourceSel.value || (site && site.production_environment_id);
    const usable = envs.filter((e) => e.status === 'active');
    set(sourceSel, ...usable.map((e) => h('option', { value: e.id }, `${e.name} (${e.type})`)));
    if (usable.some((e) => e.id === keep)) sourceSel.value = keep;
    sourceSel.disabled = !usable.length;
  }

  function createEnvForm() {
    const summary = h('div', { class: 'form-summary' });
    const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 100, autocomplete: 'off', placeholder: 'Staging' });
    const slug = h('input', { type: 'text', name: 'slug', required: true, pattern: SLUG_PATTERN, minlength: 2, maxlength: 10, autocomplete: 'off', spellcheck: 'false', placeholder: 'staging' });
    autoSlug(name, slug);
    const typeBox = h('fieldset', { class: 'field', 'data-field': 'type' },
      h('legend', null, 'Type'),
      h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'type', value: 'staging', checked: true }), ' Staging',
        h('span', { class: 'hint' }, ' — a copy to test changes on, promotable back to production')),
      h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'type', value: 'clone' }), ' Clone',
        h('span', { class: 'hint' }, ' — an independent copy')),
      h('p', { class: 'field-error' }));
    const preset = h('select', { name: 'promotion_preset' },
      h('option', { value: '' }, 'Default'),
      h('option', { value: 'content-protect' }, 'Content protect (posts, users, comments, uploads)'),
      h('option', { value: 'commerce-protect' }, 'Commerce protect (content plus WooCommerce orders and customers)'));
    const form = h('form', { class: 'stack' },
      summary,
      field({ label: 'Name', name: 'name', control: name }),
      field({ label: 'Slug', name: 'slug', control: slug, hint: `${SLUG_HINT} At most 10 characters, unique within the site.` }),
      typeBox,
      field({ label: 'Copy from', name: 'source_environment_id', control: sourceSel, hint: 'Only active environments can be copied.' }),
      field({ label: 'Promotion preset', name: 'promotion_preset', control: preset, mark: false, hint: 'Tables that promoting this staging back to production never overwrites.' }),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create environment'));
    // Promotion only applies to staging.
    form.addEventListener('change', () => {
      const staging = form.elements.type.value === 'staging';
      preset.disabled = !staging;
      preset.closest('.field').hidden = !staging;
    });
    onSubmit(form, summary,
      (v) => {
        const body = { name: v.name, slug: v.slug, type: v.type, source_environment_id: v.source_environment_id };
        if (v.type === 'staging' && v.promotion_preset) body.promotion_preset = v.promotion_preset;
        return api.post(`/sites/${seg(id)}/environments`, body, ctx.signal);
      },
      (r) => {
        form.reset();
        form.dispatchEvent(new Event('change'));
        const env = r.environment || {};
        report(jobNotice(ctx, `Creating ${env.type || 'environment'} ${env.name || ''}.`, r.job_id, { onDone: refresh }));
        refresh();
      });
    return section('New staging or clone', form);
  }

  async function loadJobs() {
    const data = await api.get('/jobs', { site_id: id, limit: 10 }, ctx.signal);
    set(jobsBox,
      jobsTable(items(data), {
        caption: 'Recent jobs for this site',
        empty: 'No jobs for this site yet.',
        names: { sites: new Map([[id, site.name]]), nodes: new Map(site.node_id && nodeName ? [[site.node_id, nodeName]] : []) },
      }),
      h('p', null, h('a', { href: href('/jobs', { site_id: id }) }, 'All jobs for this site →')));
  }

  async function load() {
    const [s, list] = await Promise.all([
      api.get('/sites/' + seg(id), null, ctx.signal),
      listAll(`/sites/${seg(id)}/environments`, {}, ctx.signal),
    ]);
    site = s;
    envs = list.filter((e) => e.status !== 'deleted')
      .sort((a, b) => (a.type === 'production' ? -1 : b.type === 'production' ? 1 : String(a.created_at).localeCompare(String(b.created_at))));
    drawSite();
    drawEnvs();
    updateSources();
  }

  async function refresh() {
    try {
      await load();
      await loadJobs();
      clear(errSlot);
    } catch (err) {
      if (err.name !== 'AbortError') set(errSlot, errorNotice(err));
    }
  }

  await load();
  if (site.node_id) {
    api.get('/nodes/' + seg(site.node_id), null, ctx.signal)
      .then((n) => { nodeName = n.name; drawSite(); })
      .catch(() => { /* the id stays as the link text */ });
  }
  set(root,
    h('p', { class: 'crumbs' }, h('a', { href: '#/sites' }, '← Sites')),
    head, errSlot, notices, info,
    section('Environments', envBox),
    h('div', { class: 'layout-split' },
      section('Recent jobs', jobsBox),
      h('aside', null, createEnvForm())));
  loadJobs().catch((err) => { if (err.name !== 'AbortError') set(jobsBox, errorNotice(err)); });

  let tick = 0;
  ctx.every(5000, () => {
    if (document.hidden) return;
    const busy = !SETTLED.has(site.status) || envs.some((e) => !SETTLED.has(e.status));
    tick += 1;
    if (busy || tick % 6 === 0) refresh();
  });
}
