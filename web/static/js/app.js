// Entry point: session check, routes, and drawing each route into the shell.
import { api, isAbort } from './api.js';
import { h, set } from './dom.js';
import { errorNotice } from './forms.js';
import { takeFlash } from './flash.js';
import { route, start, render, parseHash } from './router.js';
import { renderLogin } from './login.js';
import { Shell } from './shell.js';
import { nodesView } from './nodes.js';
import { nodeView } from './node.js';
import { sitesView } from './sites.js';
import { siteView } from './site.js';
import { jobsView } from './jobs.js';
import { jobView } from './job.js';
import { auditView } from './audit.js';
import { settingsView } from './settings.js';

route('/sites', sitesView, { nav: 'sites', title: 'Sites' });
route('/sites/:id', siteView, { nav: 'sites', title: 'Site' });
route('/nodes', nodesView, { nav: 'nodes', title: 'Nodes' });
route('/nodes/:id', nodeView, { nav: 'nodes', title: 'Node' });
route('/jobs', jobsView, { nav: 'jobs', title: 'Jobs' });
route('/jobs/:id', jobView, { nav: 'jobs', title: 'Job' });
route('/audit', auditView, { nav: 'audit', title: 'Audit log' });
route('/settings', settingsView, { nav: 'settings', title: 'Settings' });

const state = { user: null, shell: null, returnTo: '', expired: false, first: true };
const app = document.getElementById('app');

function dropShell() {
  if (state.shell) state.shell.destroy();
  state.shell = null;
}

function afterLogin(user) {
  state.user = user;
  state.expired = false;
  const to = state.returnTo;
  state.returnTo = '';
  if (to && to !== location.hash) location.replace(to);
  else if (!to && parseHash().path !== '/sites') location.replace('#/sites');
  else render();
}

async function logout() {
  try { await api.post('/logout'); } catch { /* the session is gone either way */ }
  state.user = null;
  dropShell();
  location.replace('#/login');
  render();
}

function draw(m, path, ctx) {
  if (!state.user) {
    dropShell();
    if (path !== '/login') state.returnTo = location.hash;
    document.title = 'Sign in · Pressluft';
    renderLogin(app, ctx, { expired: state.expired, onLogin: afterLogin });
    return;
  }
  if (path === '/' || path === '/login') {
    location.replace('#/sites');
    return;
  }
  if (!state.shell) state.shell = new Shell(app, state.user, logout);
  const shell = state.shell;
  shell.setActive(m ? m.route.nav : '');
  document.title = `${m ? m.route.title : 'Not found'} · Pressluft`;

  // Each route draws into its own container, so a slow, superseded view
  // writes into a detached node instead of the page.
  const view = h('div', { class: 'view' }, h('p', { class: 'loading' }, 'Loading…'));
  const flash = takeFlash(ctx);
  set(shell.main, flash ? h('div', { class: 'flash' }, flash) : '', view);
  if (!state.first) shell.main.focus({ preventScroll: true });
  state.first = false;
  window.scrollTo(0, 0);
  shell.refreshMetrics();

  if (!m) {
    set(view, h('h1', null, 'Page not found'), h('p', null, h('a', { href: '#/sites' }, 'Go to sites')));
    return;
  }
  Promise.resolve()
    .then(() => m.route.view(view, ctx))
    .catch((err) => {
      if (isAbort(err) || !ctx.alive) return;
      if (err && err.status === 401) return; // handled by the unauthorized event
      set(view,
        h('h1', null, err && err.status === 404 ? 'Not found' : 'Something went wrong'),
        errorNotice(err),
        h('p', null, h('button', { type: 'button', class: 'btn', onclick: () => render() }, 'Try again')));
      if (!(err && err.status)) console.error(err);
    });
}

window.addEventListener('pressluft:unauthorized', () => {
  if (!state.user) return;
  state.user = null;
  state.expired = true;
  render();
});

document.addEventListener('click', (e) => {
  // The skip link targets an element, not a route.
  const a = e.target.closest && e.target.closest('a.skip-link');
  if (!a) return;
  e.preventDefault();
  document.getElementById('main')?.focus();
});

async function boot() {
  // A deep link served through the server's index fallback (/sites/x) becomes #/sites/x.
  if (location.pathname !== '/' && !location.hash) {
    history.replaceState(null, '', '/#' + location.pathname + location.search);
  }
  try {
    state.user = await api.get('/me');
  } catch {
    state.user = null;
  }
  start(draw);
}

boot();
