// Node detail: facts, provisioning, deletion and the node's jobs.
import { api, items, seg } from './api.js';
import { h, badge, timeEl, facts, pageHeader, section, notice, dash, set, clear } from './dom.js';
import { errorNotice } from './forms.js';
import { confirmDialog } from './dialog.js';
import { setFlash } from './flash.js';
import { jobNotice, jobsTable } from './jobs-ui.js';
import { checkButton, provisionButton, sshTarget } from './nodes.js';
import { navigate, href } from './router.js';

function versions(n) {
  return [
    ['Operating system', n.os_name ? `${n.os_name} ${n.os_version || ''}`.trim() : null],
    ['nginx', n.nginx_version],
    ['PHP', n.php_version],
    ['MariaDB', n.mariadb_version],
    ['Redis', n.redis_version],
  ];
}

export async function nodeView(root, ctx) {
  const id = ctx.params.id;
  const notices = h('div', { class: 'notices' });
  const errSlot = h('div');
  const head = h('div');
  const info = h('div', { class: 'stack' });
  const jobs = h('div', null, h('p', { class: 'loading' }, 'Loading jobs…'));
  let node = null;

  const del = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete node');
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Delete node ${node.name}?`,
      message: h('p', null, 'The control plane forgets this node. Sites still placed on it must be deleted first; nothing on the server itself is wiped.'),
      confirmLabel: 'Delete node', danger: true, typed: node.name,
    });
    if (!ok) return;
    try {
      const r = await api.del('/nodes/' + seg(id), ctx.signal);
      const name = node.name;
      setFlash((c) => (r && r.job_id
        ? jobNotice(c, `Removing node ${name}.`, r.job_id)
        : notice('success', `Node ${name} deleted.`)));
      navigate('/nodes');
    } catch (err) {
      if (err.name !== 'AbortError') notices.prepend(errorNotice(err));
    }
  });

  const drawNode = () => {
    const n = node;
    set(head, pageHeader([n.name, ' ', badge(n.status), n.is_local ? h('span', { class: 'badge' }, 'control plane host') : null], checkButton(ctx, n, notices, refresh), provisionButton(ctx, n, notices, refresh), n.status !== 'decommissioned' ? del : null));
    set(info,
      n.last_error ? notice('error', h('strong', null, 'Last error: '), n.last_error) : null,
      h('div', { class: 'layout-split even' },
        section('Connection', facts([
          ['Host', h('span', { class: 'mono' }, n.host)],
          ['SSH', h('span', { class: 'mono' }, sshTarget(n))],
          ['Host key', n.host_key_fingerprint ? h('span', { class: 'mono wrap' }, n.host_key_fingerprint) : h('span', { class: 'muted' }, 'Pinned at first contact')],
          ['Last seen', timeEl(n.last_seen_at)],
          ['Added', timeEl(n.created_at)],
          ['Updated', timeEl(n.updated_at)],
          ['ID', h('span', { class: 'mono' }, n.id)],
        ])),
        section('Software', facts(versions(n).map(([k, v]) => [k, v || dash()])))));
  };

  const loadJobs = async () => {
    const data = await api.get('/jobs', { node_id: id, limit: 20 }, ctx.signal);
    set(jobs,
      jobsTable(items(data), { caption: 'Jobs for this node', empty: 'No jobs have run on this node yet.', names: { nodes: new Map([[id, node.name]]) } }),
      h('p', null, h('a', { href: href('/jobs', { node_id: id }) }, 'All jobs for this node →')));
  };

  async function refresh() {
    try {
      node = await api.get('/nodes/' + seg(id), null, ctx.signal);
      drawNode();
      await loadJobs();
      clear(errSlot);
    } catch (err) {
      if (err.name !== 'AbortError') set(errSlot, errorNotice(err));
    }
  }

  node = await api.get('/nodes/' + seg(id), null, ctx.signal);
  drawNode();
  set(root,
    h('p', { class: 'crumbs' }, h('a', { href: '#/nodes' }, '← Nodes')),
    head, errSlot, notices, info, section('Jobs', jobs));
  loadJobs().catch((err) => { if (err.name !== 'AbortError') set(jobs, errorNotice(err)); });
  ctx.every(5000, () => {
    if (!document.hidden && node && (node.status === 'provisioning' || node.status === 'pending')) refresh();
  });
}
