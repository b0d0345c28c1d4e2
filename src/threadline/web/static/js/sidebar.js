// The session list: pinned and date groups, pages of 50 fetched as you scroll and drawn as a
// virtual list (only the rows in view exist in the DOM), title filter plus full-text search,
// project filter chips, the archived view, and the row menu.
import { get, post, apiUrl } from './api.js';
import { state, on, emit } from './state.js';
import { h, $, debounce, highlightedSnippet } from './dom.js';
import { icon } from './icons.js';
import { openMenu, confirmDialog, toast, showError } from './dialogs.js';
import { activityTime, groupLabel, relativeTime, displayTitle, startOfToday } from './format.js';
import { openSession, currentId, patchSession } from './session.js';
import { closeSlideOvers } from './layout.js';
import { initProjects, projectById, chooseProjectMenu } from './projects.js';

const PAGE = 50;
const OVERSCAN = 8;

let scroller; let listEl; let resultsEl; let emptyEl; let searchInput;
let rows = [];
let cursor = null;
let loading = false;
let generation = 0;
let items = [];
let offsets = [];
let rowH = 36; let headH = 30;
let frame = null;
export const view = { archived: false, projectId: null };

export function initSidebar() {
  scroller = $('#session-scroll');
  listEl = $('#session-list');
  resultsEl = $('#search-results');
  emptyEl = $('#list-empty');
  searchInput = $('#search-input');

  measure();
  scroller.addEventListener('scroll', scheduleRender, { passive: true });
  window.addEventListener('resize', () => { measure(); rebuild(); });
  listEl.addEventListener('click', onListClick);
  listEl.addEventListener('dblclick', (e) => {
    const link = e.target.closest('.srow');
    if (link) { e.preventDefault(); startRename(link.closest('.srow-wrap')); }
  });
  listEl.addEventListener('contextmenu', (e) => {
    const wrap = e.target.closest('.srow-wrap');
    if (!wrap) return;
    e.preventDefault();
    openRowMenu(wrap, { x: e.clientX, y: e.clientY });
  });
  listEl.addEventListener('keydown', onListKey);

  searchInput.addEventListener('input', onSearchInput);
  searchInput.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { searchInput.value = ''; onSearchInput(); }
    if (e.key === 'ArrowDown') { e.preventDefault(); resultsEl.querySelector('a')?.focus(); }
    if (e.key === 'Enter') { e.preventDefault(); resultsEl.querySelector('a')?.click(); }
  });
  resultsEl.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-id]');
    if (!a || e.metaKey || e.ctrlKey || e.shiftKey || e.button) return;
    e.preventDefault();
    openSession(a.dataset.id).then(() => closeSlideOvers());
  });
  resultsEl.addEventListener('keydown', (e) => {
    const links = [...resultsEl.querySelectorAll('a')];
    const idx = links.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); links[idx + 1]?.focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); (links[idx - 1] || searchInput).focus(); }
  });

  $('#archived-toggle').addEventListener('click', () => setArchived(!view.archived));
  $('#list-mode-back').addEventListener('click', () => setArchived(false));

  initProjects({ onFilter: (projectId) => { view.projectId = projectId; reload(); } });

  on('session:opened', () => scheduleRender(true));
  on('session:reused', () => scheduleRender(true));
  on('session:meta', (s) => { if (s && (s.message_count > 0 || s.pinned || isTitled(s))) upsert(s, { soft: true }); });
  on('sessions:touch', (s) => {
    const title = isTitled(s) ? s.title : provisionalTitle(s._firstText);
    upsert({ ...s, title, is_streaming: true, last_message_at: Date.now() / 1000 });
  });
  on('sessions:title', ({ session_id, title }) => { const r = rowById(session_id); if (r) { r.title = title; scheduleRender(true); } });
  on('sessions:changed', () => reload());
  on('sessions:rerender', () => scheduleRender(true));
  on('projects', () => scheduleRender(true));
  on('run:ended', () => refreshFirstPage());
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshFirstPage(); });
  setInterval(() => {
    if (!document.hidden && rows.some((r) => r.is_streaming && r.session_id !== currentId())) refreshFirstPage();
    else scheduleRender(true);   // relative times
  }, 30000);
}

function isTitled(s) { return s.title && s.title !== 'Untitled'; }
function provisionalTitle(text) {
  const t = (text || '').replace(/\s+/g, ' ').trim();
  return t.length > 64 ? `${t.slice(0, 63)}…` : t || 'New chat';
}

function measure() {
  const cs = getComputedStyle(listEl);
  rowH = parseFloat(cs.getPropertyValue('--row-h')) || 36;
  headH = parseFloat(cs.getPropertyValue('--group-h')) || 30;
}

// ---- data -----------------------------------------------------------------------------------

export async function reload() {
  const gen = ++generation;
  loading = true;
  try {
    const data = await get('/api/sessions', query(null));
    if (gen !== generation) return;
    rows = (data.sessions || []).filter(listable);
    cursor = data.next_cursor || null;
  } catch (err) {
    if (gen === generation) showError(err, 'Could not load chats');
  } finally {
    if (gen === generation) loading = false;
  }
  rebuild();
  scroller.scrollTop = 0;
}

function query(after) {
  return { limit: PAGE, cursor: after, archived: view.archived ? 1 : 0, project_id: view.projectId };
}

async function loadMore() {
  if (loading || !cursor) return;
  const gen = generation;
  loading = true;
  try {
    const data = await get('/api/sessions', query(cursor));
    if (gen !== generation) return;
    const seen = new Set(rows.map((r) => r.session_id));
    rows.push(...(data.sessions || []).filter((r) => listable(r) && !seen.has(r.session_id)));
    cursor = data.next_cursor || null;
    rebuild();
  } catch (err) {
    if (gen === generation) showError(err, 'Could not load more chats');
  } finally {
    if (gen === generation) loading = false;
  }
}

async function refreshFirstPage() {
  if (loading) return;
  const gen = generation;
  try {
    const data = await get('/api/sessions', query(null));
    if (gen !== generation) return;
    const fresh = (data.sessions || []).filter(listable);
    if (rows.length <= PAGE) {
      rows = fresh;
      cursor = data.next_cursor || null;
    } else {
      for (const r of fresh) upsert(r, { render: false });
    }
    rebuild();
  } catch { /* the next refresh will try again */ }
}

function listable(r) {
  return !(r.title === 'Untitled' && !r.message_count && !r.pinned) && r.kind !== 'btw' && r.kind !== 'background';
}

function belongsHere(r) {
  if (!!r.archived !== view.archived) return false;
  if (view.projectId && r.project_id !== view.projectId) return false;
  return true;
}

function compare(a, b) {
  if (!!a.pinned !== !!b.pinned) return a.pinned ? -1 : 1;
  return activityTime(b) - activityTime(a);
}

export function rowById(id) {
  return rows.find((r) => r.session_id === id);
}

/** Puts a row where the server's order would put it (or drops it if it no longer belongs). */
function upsert(session, { soft = false, render = true } = {}) {
  const idx = rows.findIndex((r) => r.session_id === session.session_id);
  const existing = idx >= 0 ? rows[idx] : null;
  if (soft && !existing) {
    if (!(session.message_count > 0)) return;
  }
  const { messages, queue, ...meta } = session;
  const row = { ...(existing || {}), ...meta };
  if (idx >= 0) rows.splice(idx, 1);
  if (listable(row) && belongsHere(row)) {
    let at = rows.findIndex((r) => compare(row, r) < 0);
    if (at < 0) at = cursor ? -1 : rows.length;
    if (at >= 0) rows.splice(at, 0, row);
  }
  if (render) rebuild();
}

function removeRow(id) {
  rows = rows.filter((r) => r.session_id !== id);
  rebuild();
}

// ---- virtual list ---------------------------------------------------------------------------

function rebuild() {
  const today = startOfToday();
  items = [];
  offsets = [];
  let y = 0;
  let group = null;
  for (const r of rows) {
    const label = groupLabel(r, today);
    if (label !== group) {
      group = label;
      items.push({ kind: 'head', label, key: `h:${label}` });
      offsets.push(y);
      y += headH;
    }
    items.push({ kind: 'row', row: r, key: `r:${r.session_id}` });
    offsets.push(y);
    y += rowH;
  }
  listEl.style.height = `${y}px`;
  emptyEl.hidden = !!rows.length || loading || !!searchInput.value.trim();
  if (!rows.length) {
    emptyEl.replaceChildren(h('p', { text: view.archived ? 'No archived chats.' : view.projectId ? 'No chats in this project yet.' : 'No chats yet. Your conversations will show up here.' }));
  }
  scheduleRender(true);
}

let forceNext = false;
function scheduleRender(force = false) {
  if (force === true) forceNext = true;
  if (frame) return;
  frame = requestAnimationFrame(() => { frame = null; renderWindow(forceNext); forceNext = false; });
}

function renderWindow(force) {
  const top = scroller.scrollTop;
  const bottom = top + scroller.clientHeight;
  let start = lowerBound(top) - OVERSCAN;
  let end = lowerBound(bottom) + OVERSCAN;
  start = Math.max(0, start);
  end = Math.min(items.length, end);
  const keep = new Map();
  for (const el of [...listEl.children]) {
    const i = Number(el.dataset.i);
    const item = items[i];
    const same = item && item.key === el.dataset.key;
    const inView = i >= start && i < end;
    if (same && ((inView && !force) || el.contains(document.activeElement))) {
      el.style.transform = `translateY(${offsets[i]}px)`;
      keep.set(i, el);
    } else {
      el.remove();
    }
  }
  const active = currentId();
  for (let i = start; i < end; i++) {
    if (keep.has(i)) continue;
    const item = items[i];
    const el = item.kind === 'head' ? groupHead(item) : rowEl(item.row, active);
    el.dataset.i = String(i);
    el.dataset.key = item.key;
    el.style.transform = `translateY(${offsets[i]}px)`;
    listEl.append(el);
  }
  if (cursor && !loading && end >= items.length - OVERSCAN) loadMore();
}

function lowerBound(y) {
  let lo = 0; let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid] < y) lo = mid + 1; else hi = mid;
  }
  return Math.max(0, lo - 1);
}

function groupHead(item) {
  return h('div.sgroup', { role: 'presentation' }, h('span', { text: item.label }));
}

function rowEl(r, active) {
  const project = r.project_id ? projectById(r.project_id) : null;
  const wrap = h(`div.srow-wrap${r.session_id === active ? '.active' : ''}`, { role: 'listitem', dataset: { id: r.session_id } },
    h('a.srow', { href: `/s/${r.session_id}`, dataset: { id: r.session_id }, 'aria-current': r.session_id === active ? 'page' : null },
      project ? h('span.srow-proj', { style: { '--proj': project.color || 'var(--accent)' }, title: project.name }) : null,
      r.pinned ? h('span.srow-pin', { title: 'Pinned' }, icon('pin', { size: 13 })) : null,
      h('span.srow-title', { text: displayTitle(r) }),
      r.pending_approval ? h('span.srow-badge.needs-approval', { text: 'needs approval', title: 'Waiting for your approval' })
        : r.is_streaming ? h('span.live-dot', { title: 'Working', 'aria-label': 'Working' }) : null,
      h('span.srow-time', { text: relativeTime(activityTime(r)) })),
    h('button.srow-menu', { type: 'button', 'aria-label': `Options for ${displayTitle(r)}`, 'aria-haspopup': 'menu', dataset: { action: 'menu' } }, icon('more', { size: 16 })));
  return wrap;
}

function onListClick(e) {
  const menuBtn = e.target.closest('[data-action="menu"]');
  if (menuBtn) {
    e.preventDefault();
    openRowMenu(menuBtn.closest('.srow-wrap'), { anchor: menuBtn });
    return;
  }
  const link = e.target.closest('a.srow');
  if (!link || e.metaKey || e.ctrlKey || e.shiftKey || e.button) return;
  e.preventDefault();
  if (link.closest('.srow-wrap').classList.contains('renaming')) return;
  openSession(link.dataset.id).then(() => closeSlideOvers()).catch((err) => showError(err));
}

function onListKey(e) {
  const wrap = e.target.closest('.srow-wrap');
  if (!wrap) return;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    const i = Number(wrap.dataset.i);
    const step = e.key === 'ArrowDown' ? 1 : -1;
    let j = i + step;
    while (items[j] && items[j].kind !== 'row') j += step;
    if (!items[j]) return;
    const y = offsets[j];
    if (y < scroller.scrollTop) scroller.scrollTop = y - headH;
    if (y + rowH > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = y + rowH - scroller.clientHeight;
    renderWindow(false);
    listEl.querySelector(`[data-i="${j}"] a.srow`)?.focus();
  } else if (e.key === 'F2') {
    e.preventDefault();
    startRename(wrap);
  } else if (e.key === 'Delete') {
    e.preventDefault();
    const r = rowById(wrap.dataset.id);
    if (r) deleteSession(r);
  }
}

// ---- row actions ----------------------------------------------------------------------------

function openRowMenu(wrap, { anchor = null, x = null, y = null }) {
  const r = rowById(wrap.dataset.id);
  if (!r) return;
  openMenu(anchor || wrap, sessionMenuItems(r, { onRename: () => startRename(wrap) }), { align: 'end', x, y });
}

/** The actions on one session; used by the row menu and the chat header menu. */
export function sessionMenuItems(r, { onRename }) {
  const download = (format) => {
    const a = h('a', { href: apiUrl('/api/session/export', { session_id: r.session_id, format }), download: '' });
    document.body.append(a);
    a.click();
    a.remove();
  };
  return [
    { label: 'Rename', icon: 'edit', hint: 'F2', onSelect: onRename },
    { label: r.pinned ? 'Unpin' : 'Pin', icon: 'pin', onSelect: () => setFlag(r, 'pin', { pinned: !r.pinned }) },
    { label: 'Move to project…', icon: 'hash', onSelect: () => chooseProjectMenu(r, (projectId) => moveSession(r, projectId)) },
    { label: r.archived ? 'Restore from archive' : 'Archive', icon: 'archive', onSelect: () => setFlag(r, 'archive', { archived: !r.archived }) },
    { label: 'Duplicate', icon: 'copy', onSelect: () => duplicate(r) },
    'separator',
    { label: 'Export as Markdown', icon: 'download', onSelect: () => download('md') },
    { label: 'Export as JSON', icon: 'download', onSelect: () => download('json') },
    'separator',
    { label: 'Delete…', icon: 'trash', danger: true, hint: 'Del', onSelect: () => deleteSession(r) },
  ];
}

async function setFlag(r, endpoint, body) {
  try {
    const data = await post(`/api/session/${endpoint}`, { session_id: r.session_id, ...body });
    const updated = { ...r, ...body, ...(data.session || {}) };
    upsert(updated);
    if (r.session_id === currentId()) patchSession(body);
    if (endpoint === 'archive') {
      toast(body.archived ? 'Chat archived.' : 'Chat restored.', {
        action: { label: 'Undo', onSelect: () => setFlag(updated, 'archive', { archived: !body.archived }) },
      });
    }
  } catch (err) {
    showError(err);
  }
}

async function moveSession(r, projectId) {
  try {
    const data = await post('/api/session/move', { session_id: r.session_id, project_id: projectId });
    upsert({ ...r, project_id: projectId, ...(data.session || {}) });
    if (r.session_id === currentId()) patchSession({ project_id: projectId });
  } catch (err) {
    showError(err, 'Could not move the chat');
  }
}

async function duplicate(r) {
  try {
    const data = await post('/api/session/duplicate', { session_id: r.session_id });
    if (data.session) {
      upsert(data.session);
      await openSession(data.session.session_id);
    }
  } catch (err) {
    showError(err, 'Could not duplicate');
  }
}

export async function deleteSession(r) {
  const ok = await confirmDialog({
    title: 'Delete this chat?',
    message: `“${displayTitle(r)}” and its messages will be deleted for good.`,
    confirmLabel: 'Delete', danger: true,
  });
  if (!ok) return;
  try {
    await post('/api/session/delete', { session_id: r.session_id });
    removeRow(r.session_id);
    emit('session:deleted', r.session_id);
    toast('Chat deleted.');
  } catch (err) {
    showError(err, 'Could not delete');
  }
}

function startRename(wrap) {
  const r = rowById(wrap?.dataset.id);
  if (!r || wrap.classList.contains('renaming')) return;
  const titleEl = wrap.querySelector('.srow-title');
  const input = h('input.srow-input', { type: 'text', value: r.title === 'Untitled' ? '' : r.title, 'aria-label': 'Chat title', maxlength: '80' });
  wrap.classList.add('renaming');
  titleEl.replaceWith(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    wrap.classList.remove('renaming');
    const title = input.value.trim();
    const changed = save && title && title !== r.title;
    if (changed) titleEl.textContent = title;
    input.replaceWith(titleEl);
    if (changed) await renameSession(r.session_id, title);
    scheduleRender(true);
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); finish(true); }
    if (e.key === 'Escape') { e.preventDefault(); finish(false); }
    e.stopPropagation();
  });
  input.addEventListener('blur', () => finish(true));
  input.addEventListener('click', (e) => e.preventDefault());
}

export async function renameSession(sessionId, title) {
  try {
    const data = await post('/api/session/rename', { session_id: sessionId, title });
    const newTitle = data.session?.title || title;
    const r = rowById(sessionId);
    if (r) { r.title = newTitle; scheduleRender(true); }
    if (sessionId === currentId()) {
      patchSession({ title: newTitle });
      if (!r) upsert({ ...state.session, title: newTitle });
    }
  } catch (err) {
    showError(err, 'Could not rename');
  }
}

function setArchived(archived) {
  view.archived = archived;
  $('#list-mode').hidden = !archived;
  $('#projects').hidden = archived;
  $('#archived-toggle').classList.toggle('active', archived);
  $('#archived-toggle').setAttribute('aria-pressed', String(archived));
  reload();
}

// ---- search ---------------------------------------------------------------------------------

const serverSearch = debounce(async (q) => {
  try {
    const data = await get('/api/sessions/search', { q, limit: 30 });
    if (searchInput.value.trim() !== q) return;
    renderResults(q, data.sessions || [], true);
  } catch (err) {
    if (searchInput.value.trim() === q) resultsEl.append(h('p.results-note', { text: err.message }));
  }
}, 250);

function onSearchInput() {
  const q = searchInput.value.trim();
  const searching = !!q;
  listEl.hidden = searching;
  resultsEl.hidden = !searching;
  if (!searching) {
    serverSearch.cancel();
    resultsEl.replaceChildren();
    rebuild();
    return;
  }
  emptyEl.hidden = true;
  const needle = q.toLowerCase();
  const local = rows.filter((r) => displayTitle(r).toLowerCase().includes(needle)).slice(0, 20).map((r) => ({ ...r, match_type: 'title' }));
  renderResults(q, local, false);
  serverSearch(q);
}

function renderResults(q, results, final) {
  const titles = results.filter((r) => r.match_type !== 'content');
  const content = results.filter((r) => r.match_type === 'content');
  const active = currentId();
  const item = (r) => {
    const titleHit = r.match_type !== 'content' && r.snippet;
    return h(`a.result${r.session_id === active ? '.active' : ''}`, { href: `/s/${r.session_id}`, dataset: { id: r.session_id } },
      h('span.result-title', null,
        h('span.result-title-text', null, titleHit ? highlightedSnippet(r.snippet) : displayTitle(r)),
        h('span.srow-time', { text: relativeTime(activityTime(r)) })),
      r.snippet && !titleHit ? h('span.result-snippet', null, highlightedSnippet(r.snippet)) : null);
  };
  const parts = [];
  if (titles.length) parts.push(h('div.sgroup.static', null, h('span', { text: 'Chats' })), ...titles.map(item));
  if (content.length) parts.push(h('div.sgroup.static', null, h('span', { text: 'Messages' })), ...content.map(item));
  if (!results.length) parts.push(h('p.results-note', { text: final ? `No chats match “${q}”.` : 'Searching…' }));
  else if (!final) parts.push(h('p.results-note', { text: 'Searching messages…' }));
  resultsEl.replaceChildren(...parts);
}

export function focusSearch() {
  searchInput.focus();
  searchInput.select();
}
