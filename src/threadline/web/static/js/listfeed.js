// The session list's live feed: GET /api/sessions/events tells every open tab at once of each change
// (a rename, a new chat, a deletion, a pin, a run starting or ending), whichever tab, client or server
// instance made it. A change re-reads that one row; a reset, or the stream coming back after a drop,
// re-reads the first page. While the stream is down a slow poll keeps the list roughly fresh.
import { apiUrl, get, ApiError } from './api.js';
import { state } from './state.js';
import { refreshFirstPage, removeRow, upsert } from './list.js';
import { currentId, patchSession } from './session.js';

const FALLBACK_POLL_MS = 60000;  // only while the stream is down
const RECONNECT_MS = 5000;       // after the browser gave up (a 401, a proxy's error page)
const COALESCE_MS = 60;          // changes to one row in a burst are read once

let source = null;
let connectedBefore = false;
let pollTimer = null;
const dirty = new Set();
let flushTimer = null;

export function initListFeed() {
  connect();
}

/** Whether the stream is open (the e2e tests check that the list is live without polling). */
export function listFeedOpen() {
  return !!source && source.readyState === EventSource.OPEN;
}

function connect() {
  source = new EventSource(apiUrl('/api/sessions/events'));
  source.addEventListener('ready', () => {
    stopPolling();
    if (connectedBefore) refreshFirstPage();  // changes made while it was down were not replayed
    connectedBefore = true;
    document.body.dataset.listFeed = 'open';
  });
  source.addEventListener('sessions_changed', (e) => {
    try { onChange(JSON.parse(e.data)); } catch (err) { console.warn('bad session list event', err); }
  });
  source.onerror = () => {
    document.body.dataset.listFeed = 'down';
    startPolling();
    if (source.readyState === EventSource.CLOSED) {  // the browser does not retry this one
      source = null;
      setTimeout(connect, RECONNECT_MS);
    }
  };
}

function startPolling() {
  if (pollTimer) return;
  pollTimer = setInterval(() => { if (!document.hidden) refreshFirstPage(); }, FALLBACK_POLL_MS);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

function onChange(change) {
  const id = change.session_id;
  if (change.reason === 'reset' || !id) { refreshFirstPage(); return; }
  if (change.reason === 'deleted') { dirty.delete(id); removeRow(id); return; }
  dirty.add(id);
  if (!flushTimer) flushTimer = setTimeout(flush, COALESCE_MS);
}

async function flush() {
  flushTimer = null;
  const ids = [...dirty];
  dirty.clear();
  await Promise.all(ids.map(reread));
}

/** Reads one row again and puts it where the server's order puts it (or drops it). */
async function reread(id) {
  let session;
  try {
    session = (await get('/api/session', { session_id: id, messages: 0 })).session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) removeRow(id);
    return;
  }
  upsert(session);
  if (id === currentId() && !state.session?.is_draft) {
    const { title, pinned, archived, project_id: projectId, yolo } = session;
    patchSession({ title, pinned, archived, project_id: projectId, yolo });
  }
}
