// The open session: loading it, starting a new chat, and keeping the URL (/s/<id>) in step.
import { get, post, ApiError } from './api.js';
import { state, local } from './state.js';
import { EV, emit, on } from './events.js';
import { showError } from './dialogs.js';

export const MSG_LIMIT = 300;  // messages of a session read at once (the end of its active path)
let loadToken = 0;
let markReady;
const ready = new Promise((resolve) => { markReady = resolve; });

/** Resolves once a session (stored or draft) is open: a message typed during start-up waits for it. */
export function whenSessionReady() {
  return ready;
}

export function currentId() {
  return state.session?.session_id || null;
}

export function sessionPath(id) {
  return `/s/${encodeURIComponent(id)}`;
}

function idFromLocation() {
  const m = /^\/s\/([^/]+)\/?$/.exec(window.location.pathname);
  return m ? decodeURIComponent(m[1]) : null;
}

export async function fetchSession(id, extra = {}) {
  const data = await get('/api/session', { session_id: id, messages: 1, msg_limit: MSG_LIMIT, ...extra });
  return data.session;
}

/** Opens a stored session (or a draft still known to the server). */
export async function openSession(id, { push = true } = {}) {
  const token = ++loadToken;
  try {
    const session = await fetchSession(id);
    if (token !== loadToken) return null;
    setSession(session);
    if (push && window.location.pathname !== sessionPath(id)) history.pushState({ id }, '', sessionPath(id));
    emit(EV.SESSION_OPENED, session);
    return session;
  } catch (err) {
    if (token !== loadToken) return null;
    if (err instanceof ApiError && err.status === 404) {
      showError(new Error('That chat no longer exists.'));
      await newChat({ force: true, replace: true });
      return null;
    }
    throw err;
  }
}

/** Re-reads the open session from the server and announces it. */
export async function reloadSession() {
  const id = currentId();
  if (!id) return null;
  const token = loadToken;
  const session = await fetchSession(id);
  if (token !== loadToken || currentId() !== id) return null;
  setSession(session);
  emit(EV.SESSION_RELOADED, session);
  return session;
}

/** Shows a session the server just answered with (a version switch), as a reload would. */
export function applySession(session) {
  if (!session || session.session_id !== currentId()) return null;
  setSession({ queue: [], ...session });
  emit(EV.SESSION_RELOADED, state.session);
  return state.session;
}

function setSession(session) {
  state.session = session;
  markReady();
  local.set('last_session', session.message_count > 0 ? session.session_id : null);
}

/**
 * "New chat": reuses the open session when it has no messages (no second draft), else asks the
 * server for a draft, which writes nothing until the first message.
 */
export async function newChat({ force = false, replace = false } = {}) {
  const s = state.session;
  if (!force && s && !state.busy && (s.message_count || 0) === 0 && !(s.messages || []).length) {
    if (window.location.pathname !== '/') history.pushState({}, '', '/');
    emit(EV.SESSION_REUSED, s);
    return s;
  }
  const token = ++loadToken;
  const body = {};
  if (s?.workspace) body.workspace = s.workspace;
  try {
    const data = await post('/api/session/new', body);
    if (token !== loadToken) return null;
    const session = { messages: [], queue: [], ...data.session };
    setSession(session);
    if (replace) history.replaceState({}, '', '/');
    else if (window.location.pathname !== '/') history.pushState({}, '', '/');
    emit(EV.SESSION_OPENED, session);
    return session;
  } catch (err) {
    showError(err, 'Could not start a new chat');
    return null;
  }
}

/** After the first message of a draft, the URL becomes /s/<id> so a reload reopens it. */
export function markMaterialized() {
  const id = currentId();
  if (id && window.location.pathname !== sessionPath(id)) history.replaceState({ id }, '', sessionPath(id));
  local.set('last_session', id);
}

export function patchSession(fields) {
  if (!state.session) return;
  Object.assign(state.session, fields);
  emit(EV.SESSION_META, state.session);
}

export async function route() {
  const id = idFromLocation();
  if (id) {
    try {
      return await openSession(id, { push: false });
    } catch (err) {
      showError(err, 'Could not open the chat');
    }
  }
  return newChat({ force: true, replace: !id && window.location.pathname !== '/' });
}

export function initRouting() {
  window.addEventListener('popstate', () => {
    const id = idFromLocation();
    if (id && id !== currentId()) openSession(id, { push: false }).catch((err) => showError(err));
    else if (!id && (state.session?.message_count || 0) > 0) newChat();
  });
  on(EV.SESSION_DELETED, (id) => {
    if (id === currentId()) newChat({ force: true });
  });
}
