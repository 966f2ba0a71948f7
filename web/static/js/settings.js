// Settings: domains and DNS-01 provider, plus API tokens.
import { api, listAll, seg } from './api.js';
import { h, timeEl, table, pageHeader, section, notice, secretBox, dash, set } from './dom.js';
import { field, onSubmit, errorNotice } from './forms.js';
import { confirmDialog } from './dialog.js';

function settingsForm(ctx, initial) {
  const summary = h('div', { class: 'form-summary' });
  const credState = h('p', { class: 'hint' });
  const showCredState = (s) => {
    set(credState, s.dns01_credentials_set
      ? h('span', null, h('strong', null, 'Credentials are stored.'), ' Leave empty to keep them; enter new ones to replace them.')
      : 'No credentials are stored.');
  };
  showCredState(initial);
  const creds = h('textarea', { name: 'dns01_credentials', rows: 4, autocomplete: 'off', spellcheck: 'false', class: 'mono',
    placeholder: initial.dns01_credentials_set ? '•••••• (stored, not shown)' : '' });
  const form = h('form', { class: 'stack' },
    summary,
    field({ label: 'Control plane domain', name: 'control_plane_domain', value: initial.control_plane_domain || '', placeholder: 'panel.example.com', spellcheck: 'false', hint: 'Where this dashboard is reached over HTTPS.' }),
    field({ label: 'Preview domain', name: 'preview_domain', value: initial.preview_domain || '', placeholder: 'preview.example.com', spellcheck: 'false', hint: 'Environments get https://<env>.<preview domain> with a wildcard certificate. Empty: sslip.io preview URLs over HTTP.' }),
    field({ label: 'DNS-01 provider', name: 'dns01_provider', value: initial.dns01_provider || '', placeholder: 'cloudflare', spellcheck: 'false', hint: 'Used to issue the wildcard certificate for the preview domain.' }),
    field({ label: 'DNS-01 credentials', name: 'dns01_credentials', control: creds, hint: 'Write-only: stored encrypted and never shown again. Provider-specific, e.g. an API token.' }),
    credState,
    field({ label: 'Offsite backup target', name: 'offsite_backup_target', value: initial.offsite_backup_target || '', placeholder: 's3://bucket/prefix', spellcheck: 'false', hint: 'S3-compatible location for backup copies. Empty: backups stay on the node.' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save settings'));
  onSubmit(form, summary,
    (v) => {
      const body = { control_plane_domain: v.control_plane_domain, preview_domain: v.preview_domain, dns01_provider: v.dns01_provider };
      if ('offsite_backup_target' in initial) body.offsite_backup_target = v.offsite_backup_target;
      if (creds.value.trim()) body.dns01_credentials = creds.value.trim();
      return api.put('/settings', body, ctx.signal);
    },
    (s) => {
      creds.value = '';
      if (s) {
        showCredState(s);
        creds.placeholder = s.dns01_credentials_set ? '•••••• (stored, not shown)' : '';
      }
      set(summary, notice('success', 'Settings saved.'));
    });
  return section('Domains and certificates', form);
}

function tokensPanel(ctx) {
  const notices = h('div', { class: 'notices' });
  const list = h('div', null, h('p', { class: 'loading' }, 'Loading tokens…'));

  async function revoke(t) {
    const ok = await confirmDialog({
      title: `Revoke token ${t.name}?`,
      message: h('p', null, 'Scripts using it stop working immediately.'),
      confirmLabel: 'Revoke', danger: true,
    });
    if (!ok) return;
    try {
      await api.del('/tokens/' + seg(t.id), ctx.signal);
      notices.prepend(notice('success', `Token ${t.name} revoked.`));
      load();
    } catch (err) {
      if (err.name !== 'AbortError') notices.prepend(errorNotice(err));
    }
  }

  async function load() {
    try {
      const tokens = await listAll('/tokens', {}, ctx.signal);
      set(list, table('API tokens', ['Name', 'Prefix', 'Created', 'Last used', ''],
        tokens.map((t) => [
          t.name,
          t.prefix ? h('code', null, t.prefix + '…') : dash(),
          timeEl(t.created_at),
          t.last_used_at ? timeEl(t.last_used_at) : h('span', { class: 'muted' }, 'never'),
          h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', onclick: () => revoke(t), 'aria-label': `Revoke ${t.name}` }, 'Revoke'),
        ]), { empty: 'No API tokens.' }));
    } catch (err) {
      if (err.name !== 'AbortError') set(list, errorNotice(err));
    }
  }

  const summary = h('div', { class: 'form-summary' });
  const form = h('form', { class: 'inline-form' },
    field({ label: 'New token name', name: 'name', required: true, maxlength: 100, placeholder: 'ci-deploy', autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token'));
  onSubmit(form, summary,
    (v) => api.post('/tokens', { name: v.name }, ctx.signal),
    (r) => {
      form.reset();
      const panel = h('div', { class: 'card card-warning', tabindex: '-1' },
        h('p', { class: 'warning-text', role: 'alert' },
          h('strong', null, `Copy the token “${(r.api_token && r.api_token.name) || ''}” now. `), 'It is shown only once.'),
        secretBox(r.token || '', { label: 'Copy token' }),
        h('p', { class: 'hint' }, 'Send it as ', h('code', null, 'Authorization: Bearer <token>'), '.'),
        h('button', { type: 'button', class: 'btn', onclick: () => panel.remove() }, 'Done'));
      notices.prepend(panel);
      panel.focus();
      load();
    });
  load();
  return section('API tokens',
    h('p', { class: 'hint' }, 'Tokens let scripts call the API with the same rights as your account.'),
    notices, summary, form, list);
}

export async function settingsView(root, ctx) {
  const settings = await api.get('/settings', null, ctx.signal);
  set(root,
    pageHeader('Settings'),
    h('div', { class: 'stack narrow' }, settingsForm(ctx, settings || {}), tokensPanel(ctx)));
}
