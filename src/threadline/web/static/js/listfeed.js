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
const LOCK = 'threadline.sessions-feed';
const CHANNEL = 'threadline.sessions';

// One stream per browser, not per tab: a browser opens at most six HTTP/1.1 connections to a server,
// so a stream in every tab would stall the seventh tab. The tab holding the lock reads the stream and
// passes each change to the others over a BroadcastChannel; when it closes, another takes over.
let channel = null;
let source = null;
let feedState = 'down';
let connectedBefore = false;
let pollTimer = null;
const dirty = new Set();
let flushTimer = null;

export function initListFeed() {
  startPolling();
  if (!('locks' in navigator) || typeof BroadcastChannel === 'undefined') { connect(); return; }
  channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = ({ data }) => {
    if (data.type === 'change') onChange(data.change);
    else if (data.type === 'state') setState(data.state, false);
    else if (data.type === 'state?' && source) channel.postMessage({ type: 'state', state: feedState });
  };
  channel.postMessage({ type: 'state?' });
  navigator.locks.request(LOCK, () => new Promise(() => connect()));  // held while this tab lives
}

function setState(next, announce = true) {
  if (next === 'open') {
    stopPolling();
    if (connectedBefore && feedState !== 'open') refreshFirstPage();  // changes meanwhile were not replayed
    connectedBefore = true;
  } else {
    startPolling();
  }
  feedState = next;
  document.body.dataset.listFeed = next;
  if (announce) channel?.postMessage({ type: 'state', state: next });
}

function connect() {
  source = new EventSource(apiUrl('/api/sessions/events'));
  source.addEventListener('ready', () => setState('open'));
  source.addEventListener('sessions_changed', (e) => {
    let change;
    try { change = JSON.parse(e.data); } catch (err) { console.warn('bad session list event', err); return; }
    channel?.postMessage({ type: 'change', change });
    onChange(change);
  });
  source.onerror = () => {
    if (feedState !== 'down') setState('down');
    if (source.readyState === EventSource.CLOSED) {  // the browser does not retry this one
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
    const shown = state.session?.title;
    const keep = (!title || title === 'Untitled') && shown && shown !== 'Untitled';  // the first line, as list.js
    patchSession({ ...(keep ? {} : { title }), pinned, archived, project_id: projectId, yolo });
  }
}
