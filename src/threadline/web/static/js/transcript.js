// The transcript view: draws the open session's stored messages, the empty state, "load earlier",
// and keeps the view pinned to the bottom while output arrives (unless the reader scrolled up).
import { state } from './state.js';
import { EV, DOM_EV, emit } from './events.js';
import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { showError } from './dialogs.js';
import { basename } from './format.js';
import { renderMessages } from './render/messages.js';
import { currentId, fetchSession } from './session.js';

let scroller;   // #transcript
let list;       // #messages
let jumpBtn;
let stickToBottom = true;

export function initTranscript() {
  scroller = $('#transcript');
  list = $('#messages');
  jumpBtn = $('#jump-latest');
  scroller.addEventListener('scroll', () => {
    stickToBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    jumpBtn.hidden = stickToBottom;
  }, { passive: true });
  jumpBtn.addEventListener('click', () => scrollToBottom(true));
  list.addEventListener(DOM_EV.RENDERED, () => followOutput());
  list.addEventListener('toggle', () => followOutput(), true);
}

/** The transcript's element (message actions listen on it). */
export function transcriptEl() {
  return list;
}

/**
 * Draws the stored transcript. While a run is live (`session.active_stream_id`) and not yet followed,
 * its assistant and tool rows are left out: they come back from the stream's replay.
 */
export function showSession(session, { scroll = false } = {}) {
  const messages = session.messages || [];
  const activeId = session.active_stream_id;
  let shown = messages;
  if (activeId && state.run?.streamId !== activeId) {
    const lastUser = findLastIndex(messages, (m) => m.role === 'user' && !m.side && !m.background);
    if (lastUser >= 0) shown = messages.filter((m, i) => i <= lastUser || m.side || m.background);
  }
  const frag = renderMessages(shown, {
    offset: session._messages_offset || 0,
    showThinking: state.settings.show_thinking !== false,
    showUsage: !!state.settings.show_token_usage,
    usage: state.usage,
    busy: !!activeId,
  });
  list.replaceChildren();
  if (session._messages_truncated) list.append(loadEarlierButton(session));
  if (!messages.length && !activeId && !session.branches_after) list.append(emptyState(session));
  list.append(frag);
  if (session.branches_after && !activeId) list.append(keptAfter(session.branches_after));
  emit(EV.QUEUE, session.queue || []);
  if (scroll) scrollToBottom(true); else followOutput();
}

function emptyState(session) {
  const noProvider = !(state.models.providers || []).length;
  const suggestions = [
    ['folder', 'Summarize what is in this workspace'],
    ['search', 'Find the TODO comments in the code and list them'],
    ['file', 'Draft a README for this project'],
  ];
  return h('div.empty', null,
    h('div.empty-mark', { 'aria-hidden': 'true' }, icon('logo', { size: 28 })),
    h('h2.empty-title', { text: 'What can I help with?' }),
    session.workspace ? h('p.empty-sub', { title: session.workspace }, icon('folder', { size: 14 }), h('span', { text: basename(session.workspace) })) : null,
    noProvider
      ? h('button.btn.btn-primary', { type: 'button', text: 'Connect a model provider', onclick: () => emit(EV.OPEN_SETUP) })
      : h('div.suggestions', null, suggestions.map(([ic, s]) => h('button.suggestion', { type: 'button', onclick: () => emit(EV.COMPOSER_FILL, s) }, icon(ic, { size: 16 }), h('span', { text: s })))));
}

/** After an undo: the undone messages are kept, and one click brings them back. */
function keptAfter({ count, message_id: messageId }) {
  const text = count > 1 ? `${count} undone versions of what followed are kept.` : 'What you undid here is kept.';
  return h('div.kept-after', { role: 'note' },
    icon('undo', { size: 14 }), h('span', { text }),
    h('button.btn.btn-sm', { type: 'button', text: 'Restore', dataset: { action: 'version', target: String(messageId) } }));
}

/** Scrolls a shown message (by id, or the switcher of its versions) into view. */
export function revealMessage(messageId) {
  const el = list.querySelector(`.versions[data-id="${messageId}"]`) || list.querySelector(`.msg[data-id="${messageId}"]`);
  if (!el) return;
  stickToBottom = false;
  el.scrollIntoView({ block: 'center' });
}

function loadEarlierButton(session) {
  const btn = h('button.load-earlier', { type: 'button', text: 'Load earlier messages' });
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const older = await fetchSession(session.session_id, { msg_before: session._messages_offset, msg_limit: 300 });
      if (currentId() !== session.session_id) return;
      const merged = { ...state.session, messages: [...(older.messages || []), ...(state.session.messages || [])], _messages_offset: older._messages_offset, _messages_truncated: older._messages_truncated };
      state.session = merged;
      const before = scroller.scrollHeight - scroller.scrollTop;
      showSession(merged);
      scroller.scrollTop = scroller.scrollHeight - before;
    } catch (err) {
      btn.disabled = false;
      showError(err);
    }
  });
  return btn;
}

export function scrollToBottom(force = false) {
  if (force) stickToBottom = true;
  scroller.scrollTop = scroller.scrollHeight;
  jumpBtn.hidden = true;
}

export function followOutput() {
  if (stickToBottom) scrollToBottom();
}

function findLastIndex(arr, pred) {
  for (let i = arr.length - 1; i >= 0; i--) if (pred(arr[i])) return i;
  return -1;
}

/** Appends an element (a live turn, a btw bubble, an optimistic message) and shows it. */
export function appendToTranscript(el, { scroll = true } = {}) {
  list.querySelector('.empty')?.remove();
  list.append(el);
  if (scroll) scrollToBottom(true); else followOutput();
}

/** Appends a local, unsaved note to the transcript (used by /help). */
export function appendLocal(el) {
  appendToTranscript(h('div.msg.msg-local', null, el));
}
