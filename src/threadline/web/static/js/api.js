// The one fetch wrapper: CSRF header, JSON in and out, errors mapped to ApiError (`message` is the
// server's `error`, `data` the whole answer, e.g. `active_stream_id` with a 409).

const CSRF = document.body.dataset.csrf || '';

export class ApiError extends Error {
  constructor(message, status, data = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.data = data;
  }
}

export function apiUrl(path, query) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
  }
  return url.pathname + url.search;
}

/**
 * api('/api/session', {query: {session_id}}) or api('/api/session/rename', {body: {...}}).
 * A `body` makes it a JSON POST unless `method` says otherwise; `form` sends FormData.
 */
export async function api(path, { method, query, body, form, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method: method || (body !== undefined || form ? 'POST' : 'GET'), headers, signal, credentials: 'same-origin' };
  if (init.method !== 'GET') headers['X-CSRF-Token'] = CSRF;
  if (form) init.body = form;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path, query), init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError('Cannot reach the Threadline server. Check that it is running.', 0);
  }
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json().catch(() => ({})) : {};
  if (!response.ok) {
    throw new ApiError(errorMessage(response.status, data), response.status, data);
  }
  return data;
}

/** The server's one error shape is `{"error": "...", ...}` (web/errors.py); the rest is for answers
 * that never reached it (a proxy's page, a dropped connection). */
function errorMessage(status, data) {
  if (typeof data.error === 'string' && data.error) return data.error;
  if (status === 401) return 'You are signed out. Reload the page to sign in.';
  if (status === 403) return 'Not allowed.';
  if (status === 404) return 'Not found.';
  if (status === 413) return 'That file is too large.';
  if (status >= 500) return 'The server had a problem. Try again.';
  return `Request failed (${status}).`;
}

export const get = (path, query) => api(path, { query });
export const post = (path, body = {}) => api(path, { body });
