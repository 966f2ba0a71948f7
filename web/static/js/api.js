// Fetch wrapper for the JSON API under /api. Every failure becomes an
// ApiError carrying the API's {code, message, details}.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details && typeof details === 'object' ? details : {};
  }
}

export function isAbort(err) {
  return err && err.name === 'AbortError';
}

function buildUrl(path, query) {
  const url = new URL('/api' + path, location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v != null && v !== '') url.searchParams.set(k, String(v));
    }
  }
  return url.pathname + url.search;
}

async function request(method, path, { body, query, signal } = {}) {
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', signal };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(buildUrl(path, query), opts);
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, 'network_error', 'Could not reach the control plane. Check the connection and try again.');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = new ApiError(
      res.status,
      (data && data.code) || `http_${res.status}`,
      (data && data.message) || `The request failed (HTTP ${res.status}).`,
      data && data.details,
    );
    // A 401 anywhere but the login form means the session ended.
    if (res.status === 401 && path !== '/login') {
      window.dispatchEvent(new CustomEvent('pressluft:unauthorized'));
    }
    throw err;
  }
  return data;
}

export const api = {
  get: (path, query, signal) => request('GET', path, { query, signal }),
  post: (path, body, signal) => request('POST', path, { body: body ?? {}, signal }),
  put: (path, body, signal) => request('PUT', path, { body, signal }),
  del: (path, signal) => request('DELETE', path, { signal }),
};

/** Items of a list response; tolerates a bare array. */
export function items(data) {
  if (Array.isArray(data)) return data;
  return (data && Array.isArray(data.items)) ? data.items : [];
}

/** Follows next_cursor until the list ends (or `max` items) — for small lists such as nodes. */
export async function listAll(path, query = {}, signal, max = 1000) {
  const out = [];
  let cursor = '';
  do {
    const data = await api.get(path, { ...query, limit: 100, cursor }, signal);
    out.push(...items(data));
    cursor = (data && data.next_cursor) || '';
  } while (cursor && out.length < max);
  return out;
}

export const seg = encodeURIComponent;

export const TERMINAL_JOB = new Set(['succeeded', 'failed', 'cancelled']);
