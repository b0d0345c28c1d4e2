// The session list's data: pages of 50 from /api/sessions kept in `state.list`, in the server's
// order, with local changes (a new turn, a rename, a move) put where the server would put them.
// Drawing is sidebar.js's job; it redraws on LIST_UPDATED.
import { get } from './api.js';
import { state } from './state.js';
import { EV, emit } from './events.js';
import { showError } from './dialogs.js';
import { activityTime } from './format.js';

export const PAGE = 50;
const list = state.list;

function query(after) {
  return { limit: PAGE, cursor: after, archived: list.archived ? 1 : 0, project_id: list.projectId };
}

/** Re-reads the first page of the current view, dropping what was loaded. */
export async function reload() {
  const gen = ++list.generation;
  list.loading = true;
  try {
    const data = await get('/api/sessions', query(null));
    if (gen !== list.generation) return;
    list.rows = (data.sessions || []).filter(listable);
    list.cursor = data.next_cursor || null;
  } catch (err) {
    if (gen === list.generation) showError(err, 'Could not load chats');
  } finally {
    if (gen === list.generation) list.loading = false;
  }
  emit(EV.LIST_UPDATED, { reset: true });
}

export async function loadMore() {
  if (list.loading || !list.cursor) return;
  const gen = list.generation;
  list.loading = true;
  try {
    const data = await get('/api/sessions', query(list.cursor));
    if (gen !== list.generation) return;
    const seen = new Set(list.rows.map((r) => r.session_id));
    list.rows.push(...(data.sessions || []).filter((r) => listable(r) && !seen.has(r.session_id)));
    list.cursor = data.next_cursor || null;
    emit(EV.LIST_UPDATED, {});
  } catch (err) {
    if (gen === list.generation) showError(err, 'Could not load more chats');
  } finally {
    if (gen === list.generation) list.loading = false;
  }
}

/** Refreshes the first page in place (run ended, tab shown again) without losing later pages. */
export async function refreshFirstPage() {
  if (list.loading) return;
  const gen = list.generation;
  try {
    const data = await get('/api/sessions', query(null));
    if (gen !== list.generation) return;
    const fresh = (data.sessions || []).filter(listable);
    if (list.rows.length <= PAGE) {
      list.rows = fresh;
      list.cursor = data.next_cursor || null;
    } else {
      for (const r of fresh) upsert(r, { notify: false });
    }
    emit(EV.LIST_UPDATED, {});
  } catch { /* the next refresh will try again */ }
}

/** The server's list rule (sessions/service.py `visible_clause`): chats, never an empty Untitled one. */
export function listable(r) {
  return r.kind !== 'btw' && r.kind !== 'background' && !(r.title === 'Untitled' && !r.message_count);
}

function belongsHere(r) {
  if (!!r.archived !== list.archived) return false;
  if (list.projectId && r.project_id !== list.projectId) return false;
  return true;
}

function compare(a, b) {
  if (!!a.pinned !== !!b.pinned) return a.pinned ? -1 : 1;
  return activityTime(b) - activityTime(a);
}

export function rowById(id) {
  return list.rows.find((r) => r.session_id === id);
}

/**
 * Puts a row where the server's order would put it, or drops it if it no longer belongs to the
 * view. `soft`: only update a row that is there (or one with messages).
 */
const titled = (title) => Boolean(title) && title !== 'Untitled';

export function upsert(session, { soft = false, notify = true } = {}) {
  const rows = list.rows;
  const idx = rows.findIndex((r) => r.session_id === session.session_id);
  const existing = idx >= 0 ? rows[idx] : null;
  if (soft && !existing && !(session.message_count > 0)) return;
  const { messages, queue, ...meta } = session;
  const row = { ...(existing || {}), ...meta };
  // A chat's first line is its title while the first run streams (the server stores one when the run
  // ends): a re-read of the row meanwhile, still "Untitled", does not take it back.
  if (existing && titled(existing.title) && !titled(meta.title)) row.title = existing.title;
  if (idx >= 0) rows.splice(idx, 1);
  if (listable(row) && belongsHere(row)) {
    let at = rows.findIndex((r) => compare(row, r) < 0);
    if (at < 0) at = list.cursor ? -1 : rows.length;
    if (at >= 0) rows.splice(at, 0, row);
  }
  if (notify) emit(EV.LIST_UPDATED, {});
}

export function removeRow(id) {
  list.rows = list.rows.filter((r) => r.session_id !== id);
  emit(EV.LIST_UPDATED, {});
}

/** Changes one row's fields in place (a title from a run, a rename). */
export function patchRow(id, fields) {
  const r = rowById(id);
  if (!r) return false;
  Object.assign(r, fields);
  emit(EV.LIST_UPDATED, {});
  return true;
}

/** Switches between the list and the archive, or to one project's chats; reloads. */
export function setView({ archived = list.archived, projectId = list.projectId } = {}) {
  list.archived = archived;
  list.projectId = projectId;
  return reload();
}
