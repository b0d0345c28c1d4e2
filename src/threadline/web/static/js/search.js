// Search in the sidebar: titles of the loaded rows at once, then the server's full-text search
// (titles first, then messages with a «marked» snippet). Results replace the list while a query is
// typed; Esc clears it.
import { get } from './api.js';
import { state } from './state.js';
import { EV, emit } from './events.js';
import { h, $, debounce, highlightedSnippet } from './dom.js';
import { activityTime, relativeTime, displayTitle } from './format.js';
import { openSession, currentId } from './session.js';
import { closeSlideOvers } from './layout.js';

let searchInput; let listEl; let resultsEl; let emptyEl;

export function initSearch() {
  searchInput = $('#search-input');
  listEl = $('#session-list');
  resultsEl = $('#search-results');
  emptyEl = $('#list-empty');

  searchInput.addEventListener('input', onSearchInput);
  searchInput.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && searchInput.value) { e.preventDefault(); searchInput.value = ''; onSearchInput(); }
    if (e.key === 'ArrowDown') { e.preventDefault(); resultsEl.querySelector('a')?.focus(); }
    if (e.key === 'Enter') { e.preventDefault(); resultsEl.querySelector('a')?.click(); }
  });
  resultsEl.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-id]');
    if (!a || e.metaKey || e.ctrlKey || e.shiftKey || e.button) return;
    e.preventDefault();
    const { id, message, elsewhere } = a.dataset;
    openSession(id).then((session) => {
      closeSlideOvers();
      // A match in another version of the chat: show that version.
      if (session && elsewhere && !session.active_stream_id) emit(EV.SHOW_VERSION, Number(message));
    });
  });
  resultsEl.addEventListener('keydown', (e) => {
    const links = [...resultsEl.querySelectorAll('a')];
    const idx = links.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); links[idx + 1]?.focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); (links[idx - 1] || searchInput).focus(); }
  });
}

export function focusSearch() {
  searchInput.focus();
  searchInput.select();
}

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
    emit(EV.LIST_UPDATED, {});
    return;
  }
  emptyEl.hidden = true;
  const needle = q.toLowerCase();
  const local = state.list.rows.filter((r) => displayTitle(r).toLowerCase().includes(needle)).slice(0, 20)
    .map((r) => ({ ...r, match_type: 'title' }));
  renderResults(q, local, false);
  serverSearch(q);
}

function renderResults(q, results, final) {
  const titles = results.filter((r) => r.match_type !== 'content');
  const content = results.filter((r) => r.match_type === 'content');
  const active = currentId();
  const item = (r) => {
    const titleHit = r.match_type !== 'content' && r.snippet;
    const elsewhere = r.match_type === 'content' && r.on_active_path === false;
    const dataset = { id: r.session_id, ...(elsewhere ? { message: String(r.message_id), elsewhere: '1' } : {}) };
    return h(`a.result${r.session_id === active ? '.active' : ''}`, { href: `/s/${r.session_id}`, dataset },
      h('span.result-title', null,
        h('span.result-title-text', null, titleHit ? highlightedSnippet(r.snippet) : displayTitle(r)),
        h('span.srow-time', { text: relativeTime(activityTime(r)) })),
      r.snippet && !titleHit ? h('span.result-snippet', null, highlightedSnippet(r.snippet)) : null,
      elsewhere ? h('span.result-version', { text: 'In another version' }) : null);
  };
  const parts = [];
  if (titles.length) parts.push(h('div.sgroup.static', null, h('span', { text: 'Chats' })), ...titles.map(item));
  if (content.length) parts.push(h('div.sgroup.static', null, h('span', { text: 'Messages' })), ...content.map(item));
  if (!results.length) parts.push(h('p.results-note', { text: final ? `No chats match “${q}”.` : 'Searching…' }));
  else if (!final) parts.push(h('p.results-note', { text: 'Searching messages…' }));
  resultsEl.replaceChildren(...parts);
}
