// Hash router: "#/sites/abc?x=1". Hash routes survive reloads without any
// server-side help, and every view gets a fresh context that is torn down
// (fetches aborted, timers and streams closed) when the route changes.

const routes = [];
let current = null;
let onRender = null;

export function route(pattern, view, opts = {}) {
  const keys = [];
  const rx = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, k) => { keys.push(k); return '([^/]+)'; }) + '/?$');
  routes.push({ rx, keys, view, ...opts });
}

export function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const i = raw.indexOf('?');
  const path = i < 0 ? raw : raw.slice(0, i);
  const query = new URLSearchParams(i < 0 ? '' : raw.slice(i + 1));
  return { path: path.startsWith('/') ? path : '/' + path, query };
}

export function match(path) {
  for (const r of routes) {
    const m = r.rx.exec(path);
    if (!m) continue;
    const params = {};
    r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]); });
    return { route: r, params };
  }
  return null;
}

/** Builds "#/path?k=v" skipping empty values. */
export function href(path, query) {
  const q = new URLSearchParams();
  if (query) for (const [k, v] of Object.entries(query)) if (v != null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return '#' + path + (s ? '?' + s : '');
}

export function navigate(path, query) {
  const target = href(path, query);
  if (location.hash === target) render();
  else location.hash = target;
}

export function makeContext(params, query) {
  const ctrl = new AbortController();
  const cleanups = [];
  return {
    params,
    query,
    signal: ctrl.signal,
    onCleanup(fn) { cleanups.push(fn); },
    /** setInterval that stops with the view. */
    every(ms, fn) {
      const t = setInterval(fn, ms);
      cleanups.push(() => clearInterval(t));
    },
    get alive() { return !ctrl.signal.aborted; },
    dispose() {
      ctrl.abort();
      while (cleanups.length) {
        try { cleanups.pop()(); } catch { /* a failing cleanup must not block the rest */ }
      }
    },
  };
}

export function render() {
  if (current) current.dispose();
  const { path, query } = parseHash();
  const m = match(path);
  current = makeContext(m ? m.params : {}, query);
  onRender(m, path, current);
}

/** Starts listening; `renderFn(match|null, path, ctx)` draws each route. */
export function start(renderFn) {
  onRender = renderFn;
  window.addEventListener('hashchange', render);
  render();
}
