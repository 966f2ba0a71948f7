// Nodes: list, add form, provisioning and the control plane's SSH key.
import { api, listAll, seg } from './api.js';
import { h, badge, timeEl, table, pageHeader, section, notice, copyButton, set, clear } from './dom.js';
import { field, onSubmit, errorNotice } from './forms.js';
import { jobNotice } from './jobs-ui.js';

export function provisionLabel(status) {
  switch (status) {
    case 'pending': return 'Provision';
    case 'failed': return 'Provision';
    case 'provisioning': return null;
    case 'decommissioned': return null;
    default: return 'Re-provision';
  }
}

/** Button that starts node_provision and reports the job in `notices`. */
export function provisionButton(ctx, node, notices, onChange) {
  const label = provisionLabel(node.status);
  if (!label) return null;
  const btn = h('button', { type: 'button', class: node.status === 'pending' || node.status === 'failed' ? 'btn btn-primary btn-small' : 'btn btn-small' }, label);
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const r = await api.post(`/nodes/${seg(node.id)}/provision`, {}, ctx.signal);
      notices.prepend(jobNotice(ctx, `Provisioning ${node.name} started.`, r.job_id, { onDone: onChange }));
      onChange();
    } catch (err) {
      if (err.name === 'AbortError') return;
      notices.prepend(errorNotice(err));
      btn.disabled = false;
    }
  });
  return btn;
}

// checkButton queues node_check: connect, pin the host key, run a trivial
// playbook, change nothing.
export function checkButton(ctx, node, notices, onChange) {
  if (node.status === 'decommissioned') return null;
  const btn = h('button', { type: 'button', class: 'btn btn-small' }, 'Test connection');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const r = await api.post(`/nodes/${seg(node.id)}/check`, {}, ctx.signal);
      notices.prepend(jobNotice(ctx, `Connection test of ${node.name} started.`, r.job_id, { onDone: onChange }));
    } catch (err) {
      if (err.name === 'AbortError') return;
      notices.prepend(errorNotice(err));
    } finally {
      btn.disabled = false;
    }
  });
  return btn;
}

export function sshTarget(n) {
  return `${n.ssh_user || 'root'}@${n.host}${n.ssh_port && n.ssh_port !== 22 ? ':' + n.ssh_port : ''}`;
}

export function sshKeyPanel(ctx) {
  const body = h('div', null, h('p', { class: 'loading' }, 'Loading key…'));
  api.get('/nodes/ssh-key', null, ctx.signal).then((r) => {
    const key = (r && r.public_key || '').trim();
    const cmd = key && !key.includes("'")
      ? `mkdir -p ~/.ssh && chmod 700 ~/.ssh && echo '${key}' >> ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys`
      : '';
    set(body,
      h('p', null, 'Append this public key to ', h('code', null, '~/.ssh/authorized_keys'),
        ' of the SSH user on every node before you provision it.'),
      h('pre', { class: 'key', tabindex: '0', 'aria-label': 'Control plane public SSH key' }, key),
      h('div', { class: 'actions' }, copyButton(key, 'Copy key')),
      cmd ? h('details', null,
        h('summary', null, 'Or run this on the node'),
        h('pre', { class: 'key', tabindex: '0' }, cmd),
        h('div', { class: 'actions' }, copyButton(cmd, 'Copy command'))) : null);
  }).catch((err) => {
    if (err.name !== 'AbortError') set(body, errorNotice(err));
  });
  return section('Control plane SSH key', body);
}

function addNodeForm(ctx, notices, onAdded) {
  const summary = h('div', { class: 'form-summary' });
  const form = h('form', { class: 'stack' },
    summary,
    field({ label: 'Name', name: 'name', required: true, maxlength: 100, placeholder: 'web-1', autocomplete: 'off' }),
    field({ label: 'Host', name: 'host', required: true, placeholder: '203.0.113.10 or web1.example.com', autocomplete: 'off', spellcheck: 'false', hint: 'Hostname or IP address the control plane can reach over SSH.' }),
    h('div', { class: 'row' },
      field({ label: 'SSH port', name: 'ssh_port', type: 'number', required: true, min: 1, max: 65535, value: '22' }),
      field({ label: 'SSH user', name: 'ssh_user', required: true, value: 'root', pattern: '[a-z_][a-z0-9_\\-]{0,31}', autocomplete: 'off', spellcheck: 'false' })),
    h('label', { class: 'choice' }, h('input', { type: 'checkbox', name: 'is_local' }),
      h('span', null, 'This is the control plane host', h('span', { class: 'hint' }, ' — manage the machine Pressluft runs on'))),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add node'));
  onSubmit(form, summary,
    (v) => api.post('/nodes', { name: v.name, host: v.host, ssh_port: v.ssh_port, ssh_user: v.ssh_user, is_local: v.is_local }, ctx.signal),
    (node) => {
      form.reset();
      notices.prepend(notice('success',
        h('span', null, 'Node ', h('a', { href: '#/nodes/' + seg(node.id) }, node.name), ' added. Provision it to install the hosting stack. '),
        provisionButton(ctx, node, notices, onAdded)));
      onAdded();
    });
  return section('Add a node', form);
}

export async function nodesView(root, ctx) {
  const notices = h('div', { class: 'notices' });
  const list = h('div', null, h('p', { class: 'loading' }, 'Loading nodes…'));
  const errSlot = h('div');

  const load = async () => {
    const nodes = await listAll('/nodes', {}, ctx.signal);
    set(list, table('Nodes', ['Name', 'SSH', 'Status', 'Last seen', ''],
      nodes.map((n) => [
        h('div', null, h('a', { href: '#/nodes/' + seg(n.id), class: 'strong' }, n.name),
          n.os_name ? h('div', { class: 'small muted nowrap' }, `${n.os_name} ${n.os_version || ''}`.trim()) : null),
        h('span', { class: 'mono small' }, sshTarget(n)),
        h('span', null, badge(n.status), n.last_error ? h('span', { class: 'cell-note', title: n.last_error }, n.last_error) : null),
        timeEl(n.last_seen_at),
        provisionButton(ctx, n, notices, reload),
      ]),
      { empty: 'No nodes yet. Add the first server with the form, after putting the SSH key on it.' }));
    clear(errSlot);
    return nodes;
  };
  const reload = () => load().catch((err) => { if (err.name !== 'AbortError') set(errSlot, errorNotice(err)); });

  const nodes = await load();
  set(root,
    pageHeader('Nodes'),
    errSlot,
    notices,
    h('div', { class: 'layout-split' },
      h('div', null, section('Servers', list)),
      h('aside', { class: 'stack' }, sshKeyPanel(ctx), addNodeForm(ctx, notices, reload))));
  if (!nodes.length) root.querySelector('input[name=name]')?.focus();
  ctx.every(10000, () => { if (!document.hidden) reload(); });
}
