// The sidebar's list of chats, drawn as a virtual list: pinned and date groups, only the rows in view
// exist in the DOM; clicks, keys and the context menu on rows; the archived view. The data is
// list.js's, the search search.js's, the row actions session-menu.js's.
import { state } from './state.js';
import { EV, on } from './events.js';
import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { showError } from './dialogs.js';
import { activityTime, groupLabel, relativeTime, displayTitle, provisionalTitle, startOfToday } from './format.js';
import { openSession, currentId } from './session.js';
import { closeSlideOvers } from './layout.js';
import { projectById } from './projects.js';
import { loadMore, refreshFirstPage, reload, rowById, setView, upsert } from './list.js';
import { deleteSession, openRowMenu, startRename } from './session-menu.js';

const OVERSCAN = 8;
const list = state.list;

let scroller; let listEl; let emptyEl; let searchInput;
let items = [];      // group heads and rows, in order
let offsets = [];    // the y of each item
let rowH = 36; let headH = 30;
let frame = null;
let forceNext = false;

export function initSidebar() {
  scroller = $('#session-scroll');
  listEl = $('#session-list');
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
  $('#archived-toggle').addEventListener('click', () => setArchived(!list.archived));
  $('#list-mode-back').addEventListener('click', () => setArchived(false));

  on(EV.LIST_UPDATED, ({ reset } = {}) => { rebuild(); if (reset) scroller.scrollTop = 0; });
  on(EV.LIST_RELOAD, () => reload());
  on(EV.SESSION_OPENED, () => scheduleRender(true));
  on(EV.SESSION_REUSED, () => scheduleRender(true));
  on(EV.SESSION_META, (s) => { if (s && (s.message_count > 0 || s.pinned || isTitled(s))) upsert(s, { soft: true }); });
  on(EV.LIST_TOUCH, (s) => {
    const title = isTitled(s) ? s.title : provisionalTitle(s._firstText);
    upsert({ ...s, title, is_streaming: true, last_message_at: Date.now() / 1000 });
  });
  on(EV.LIST_TITLE, ({ session_id, title }) => {
    const r = rowById(session_id);
    if (r) { r.title = title; scheduleRender(true); }
  });
  on(EV.PROJECTS, () => scheduleRender(true));
  on(EV.RUN_ENDED, () => refreshFirstPage());
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshFirstPage(); });
  // Other tabs' and clients' changes arrive through listfeed.js (no list polling); this only redraws
  // the relative times.
  setInterval(() => scheduleRender(true), 30000);
}

function isTitled(s) { return s.title && s.title !== 'Untitled'; }

function measure() {
  const cs = getComputedStyle(listEl);
  rowH = parseFloat(cs.getPropertyValue('--row-h')) || 36;
  headH = parseFloat(cs.getPropertyValue('--group-h')) || 30;
}

function setArchived(archived) {
  $('#list-mode').hidden = !archived;
  $('#projects').hidden = archived;
  $('#archived-toggle').classList.toggle('active', archived);
  $('#archived-toggle').setAttribute('aria-pressed', String(archived));
  setView({ archived });
}

// ---- virtual list ---------------------------------------------------------------------------

function rebuild() {
  const today = startOfToday();
  items = [];
  offsets = [];
  let y = 0;
  let group = null;
  for (const r of list.rows) {
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
  emptyEl.hidden = !!list.rows.length || list.loading || !!searchInput.value.trim();
  if (!list.rows.length) {
    emptyEl.replaceChildren(h('p', { text: list.archived ? 'No archived chats.' : list.projectId ? 'No chats in this project yet.' : 'No chats yet. Your conversations will show up here.' }));
  }
  scheduleRender(true);
}

function scheduleRender(force = false) {
  if (force === true) forceNext = true;
  if (frame) return;
  frame = requestAnimationFrame(() => { frame = null; renderWindow(forceNext); forceNext = false; });
}

function renderWindow(force) {
  const top = scroller.scrollTop;
  const bottom = top + scroller.clientHeight;
  const start = Math.max(0, lowerBound(top) - OVERSCAN);
  const end = Math.min(items.length, lowerBound(bottom) + OVERSCAN);
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
  if (list.cursor && !list.loading && end >= items.length - OVERSCAN) loadMore();
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

/** One row. Its badges come from `rowBadges`, the place to add a row's states. */
function rowEl(r, active) {
  const project = r.project_id ? projectById(r.project_id) : null;
  return h(`div.srow-wrap${r.session_id === active ? '.active' : ''}`, { role: 'listitem', dataset: { id: r.session_id } },
    h('a.srow', { href: `/s/${r.session_id}`, dataset: { id: r.session_id }, 'aria-current': r.session_id === active ? 'page' : null },
      project ? h('span.srow-proj', { style: { '--proj': project.color || 'var(--accent)' }, title: project.name }) : null,
      r.pinned ? h('span.srow-pin', { title: 'Pinned' }, icon('pin', { size: 13 })) : null,
      h('span.srow-title', { text: displayTitle(r) }),
      rowBadges(r),
      h('span.srow-time', { text: relativeTime(activityTime(r)) })),
    h('button.srow-menu', { type: 'button', 'aria-label': `Options for ${displayTitle(r)}`, 'aria-haspopup': 'menu', dataset: { action: 'menu' } }, icon('more', { size: 16 })));
}

function rowBadges(r) {
  const yolo = r.yolo ? h('span.srow-badge.yolo', { text: 'YOLO', title: 'Approvals are off in this chat: tools run without asking' }) : null;
  const state = rowState(r);
  return yolo && state ? h('span.srow-badges', null, yolo, state) : yolo || state;
}

function rowState(r) {
  if (r.pending_approval) return h('span.srow-badge.needs-approval', { text: 'needs approval', title: 'Waiting for your approval' });
  if (r.pending_clarify) return h('span.srow-badge.needs-input', { text: 'needs input', title: 'The agent asked you a question' });
  return r.is_streaming ? h('span.live-dot', { title: 'Working', 'aria-label': 'Working' }) : null;
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
    const step = e.key === 'ArrowDown' ? 1 : -1;
    let j = Number(wrap.dataset.i) + step;
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
