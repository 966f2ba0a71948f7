// Pieces shared by every view that starts or lists jobs.
import { api, seg, TERMINAL_JOB } from './api.js';
import { h, badge, timeEl, duration, dash, shortId, table, set } from './dom.js';

export const JOB_TYPES = [
  'node_provision', 'site_create', 'site_delete', 'site_import', 'env_create', 'env_delete',
  'env_deploy', 'env_update', 'env_restore', 'env_promote', 'env_cache_toggle', 'cache_purge',
  'backup_create', 'backup_cleanup', 'health_check', 'release_rollback', 'drift_check',
  'domain_add', 'domain_remove',
];

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export function jobLabel(type) {
  return type ? type.replaceAll('_', ' ') : 'job';
}

/**
 * "Provisioning started — [queued] View job": follows the job by polling (not
 * SSE, to keep the browser's per-host connection budget for the job page)
 * and calls onDone(job) once it is terminal.
 */
export function jobNotice(ctx, text, jobId, { onDone, extra } = {}) {
  const state = h('span', { class: 'job-state' }, badge('queued'));
  const detail = h('span', { class: 'job-error' });
  const el = h('div', { class: 'notice notice-info', role: 'status' },
    h('span', null, text, ' '), state, ' ',
    h('a', { href: '#/jobs/' + seg(jobId) }, 'View job ', h('span', { class: 'mono' }, shortId(jobId))),
    detail, extra || null);
  let last = '';
  const tick = async () => {
    if (!ctx.alive) return;
    try {
      const job = await api.get('/jobs/' + seg(jobId), null, ctx.signal);
      if (job.status !== last) {
        last = job.status;
        set(state, badge(job.status));
        el.className = 'notice notice-' + (job.status === 'failed' ? 'error' : job.status === 'succeeded' ? 'success' : 'info');
      }
      if (job.status === 'failed' && job.error_message) {
        set(detail, ' ', h('span', null, job.error_message), job.error_code ? h('span', { class: 'code' }, ` (${job.error_code})`) : null);
      }
      if (TERMINAL_JOB.has(job.status)) {
        if (onDone) onDone(job);
        return;
      }
    } catch (err) {
      if (err.name === 'AbortError') return;
    }
    if (ctx.alive) setTimeout(tick, 3000);
  };
  setTimeout(tick, 800);
  return el;
}

/** Where a job ran: site, node — named when `names` knows them. */
export function jobTarget(job, names = {}) {
  const parts = [];
  if (job.site_id) {
    const n = names.sites && names.sites.get(job.site_id);
    parts.push(h('a', { href: '#/sites/' + seg(job.site_id), title: job.site_id }, n || 'site ' + shortId(job.site_id)));
  }
  if (job.node_id) {
    const n = names.nodes && names.nodes.get(job.node_id);
    parts.push(h('a', { href: '#/nodes/' + seg(job.node_id), title: job.node_id }, n || 'node ' + shortId(job.node_id)));
  }
  if (!parts.length) return dash();
  return h('span', { class: 'targets' }, parts.flatMap((p, i) => (i ? [' · ', p] : [p])));
}

export function jobsTable(jobs, { names, caption = 'Jobs', empty = 'No jobs yet.' } = {}) {
  return table(caption, ['Job', 'Status', 'Target', 'Attempt', 'Created', 'Duration'],
    jobs.map((j) => [
      h('a', { href: '#/jobs/' + seg(j.id) }, jobLabel(j.type)),
      h('span', null, badge(j.status), j.error_code ? h('span', { class: 'code small' }, ' ' + j.error_code) : null),
      jobTarget(j, names),
      `${j.attempt ?? 0}/${j.max_attempts ?? 1}`,
      timeEl(j.created_at),
      j.started_at ? duration(j.started_at, j.finished_at) : dash(),
    ]), { empty });
}
