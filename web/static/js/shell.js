// The signed-in frame: header with navigation, a metrics strip, and <main>.
import { api } from './api.js';
import { h, clear, set } from './dom.js';

const NAV = [
  ['sites', 'Sites', '#/sites'],
  ['nodes', 'Nodes', '#/nodes'],
  ['jobs', 'Jobs', '#/jobs'],
  ['audit', 'Audit', '#/audit'],
  ['settings', 'Settings', '#/settings'],
];

function metric(label, value, href, tone) {
  const body = [h('span', { class: 'metric-value' }, String(value ?? 0)), h('span', { class: 'metric-label' }, label)];
  return h('li', { class: ['metric', tone && value ? 'metric-' + tone : ''] },
    href ? h('a', { href }, body) : body);
}

export class Shell {
  constructor(root, user, onLogout) {
    this.links = new Map();
    const nav = h('nav', { 'aria-label': 'Main' }, h('ul', null, NAV.map(([key, label, href]) => {
      const a = h('a', { href }, label);
      this.links.set(key, a);
      return h('li', null, a);
    })));
    const logout = h('button', { type: 'button', class: 'btn btn-ghost btn-small' }, 'Sign out');
    logout.addEventListener('click', onLogout);
    this.metrics = h('ul', { class: 'metrics-list' });
    this.main = h('main', { id: 'main', tabindex: '-1' });
    set(root,
      h('header', { class: 'topbar' },
        h('div', { class: 'topbar-inner' },
          h('a', { href: '#/sites', class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: 24, height: 24 }), h('span', null, 'Pressluft')),
          nav,
          h('div', { class: 'user' }, h('span', { class: 'user-email', title: 'Signed in' }, user.email || ''), logout))),
      h('div', { class: 'metrics', role: 'region', 'aria-label': 'Summary' }, h('div', { class: 'metrics-inner' }, this.metrics)),
      this.main);
    this.timer = setInterval(() => this.refreshMetrics(), 15000);
    this.refreshMetrics();
  }

  setActive(key) {
    for (const [k, a] of this.links) {
      if (k === key) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  async refreshMetrics() {
    if (document.hidden) return;
    try {
      const m = await api.get('/metrics');
      const jobs = m.jobs || {};
      const nodes = m.nodes || {};
      const nodeTotal = Object.values(nodes).reduce((a, b) => a + (Number(b) || 0), 0);
      const troubled = (nodes.unreachable || 0) + (nodes.failed || 0);
      clear(this.metrics).append(
        metric('sites', m.sites_total, '#/sites'),
        metric('nodes', nodeTotal, '#/nodes'),
        metric('nodes need attention', troubled, '#/nodes', 'bad'),
        metric('jobs running', jobs.running, '#/jobs?status=running', 'busy'),
        metric('jobs queued', jobs.queued, '#/jobs?status=queued'),
        metric('jobs failed', jobs.failed, '#/jobs?status=failed', 'bad'),
      );
    } catch {
      // The strip is informational; a failed refresh keeps the last numbers.
    }
  }

  destroy() {
    clearInterval(this.timer);
  }
}
