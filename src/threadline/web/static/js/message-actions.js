// What can be done to the messages of the open chat: copy, edit and resend (a new version of the
// message), regenerate (a new version of the answer), switch versions ("< 2/3 >"), retry, undo, clear.
// Nothing but clear deletes: the server keeps every version. Undo, which acts on the server's last
// turn rather than on a message of the screen, first checks that the chat on screen is the chat on
// the server.
import { post, get } from './api.js';
import { state } from './state.js';
import { EV, emit, on } from './events.js';
import { h, copyText } from './dom.js';
import { toast, showError } from './dialogs.js';
import { flash } from './render/markdown.js';
import { currentId, reloadSession, openSession, applySession, MSG_LIMIT } from './session.js';
import { send, regenerate } from './chat.js';
import { transcriptEl, revealMessage } from './transcript.js';

export function initMessageActions() {
  transcriptEl().addEventListener('click', onMessageAction);
  on(EV.SHOW_VERSION, (messageId) => switchVersion(messageId, { quiet: true }));
}

async function onMessageAction(e) {
  const btn = e.target.closest('[data-action]');
  if (!btn || !transcriptEl().contains(btn)) return;
  const msg = btn.closest('.msg');
  const action = btn.dataset.action;
  if (action === 'open-session') {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button) return;
    e.preventDefault();
    openSession(btn.dataset.id).catch((err) => showError(err));
    return;
  }
  if (action === 'copy' || action === 'copy-turn') {
    if (await copyText(msg._text || '')) flash(btn);
  } else if (action === 'edit') {
    startEdit(msg);
  } else if (action === 'regenerate') {
    regenerate(Number(btn.dataset.asked));
  } else if (action === 'version') {
    switchVersion(Number(btn.dataset.target));
  }
}

/** Shows the version `messageId` is in ("< 2/3 >", "Restore", a search hit on another version). */
export async function switchVersion(messageId, { quiet = false } = {}) {
  if (!Number.isInteger(messageId) || !currentId()) return;
  if (state.busy) { toast('Wait for the reply to finish, then switch versions.'); return; }
  try {
    const data = await post('/api/session/branch', { session_id: currentId(), message_id: messageId, msg_limit: MSG_LIMIT });
    applySession(data.session);
    revealMessage(messageId);
    if (quiet) toast('Showing the version of this chat that matched.');
  } catch (err) {
    showError(err, 'Could not show that version');
  }
}

/**
 * True when the server's transcript is the one on screen (same number of messages, no live run).
 * Otherwise the view is reloaded, so the newer messages show, and the caller stops.
 */
async function shownIsCurrent() {
  const shown = state.session;
  const fresh = (await get('/api/session', { session_id: shown.session_id, messages: 0 })).session;
  if (!fresh.active_stream_id && fresh.message_count === shown.message_count) return true;
  await reloadSession();
  toast('This chat has newer messages than were shown. They are on screen now; look them over, then try again.');
  return false;
}

function startEdit(msg) {
  if (state.busy) { toast('Stop the current reply before editing.'); return; }
  const bubble = msg.querySelector('.bubble');
  const original = msg._text || '';
  const area = h('textarea.edit-area', { 'aria-label': 'Edit message', rows: '3' });
  area.value = original;
  const cancel = () => { form.replaceWith(bubble); msg.classList.remove('editing'); };
  const form = h('form.edit-form', {
    onsubmit: (e) => { e.preventDefault(); editAndResend(Number(msg.dataset.id), area.value); },
  }, area, h('div.edit-actions', null,
    h('button.btn.btn-sm', { type: 'button', text: 'Cancel', onclick: cancel }),
    h('button.btn.btn-sm.btn-primary', { type: 'submit', text: 'Send' })));
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); cancel(); }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  msg.classList.add('editing');
  bubble.replaceWith(form);
  area.style.height = `${Math.min(area.scrollHeight + 2, 320)}px`;
  area.focus();
}

/** Sends `text` as a new version of the user message `messageId`; the old one and what followed it stay. */
export async function editAndResend(messageId, text) {
  if (!text.trim() || !Number.isInteger(messageId)) return;
  await send(text, { editOf: messageId });
}

/** `/retry`: a new version of the last answer on screen. */
export async function retry() {
  if (state.busy) { toast('A reply is still running.'); return; }
  const asked = (state.session?.messages || []).findLast((m) => m.role === 'user' && !m.side && m.in_context !== false);
  if (!Number.isInteger(asked?.id)) { toast('Nothing to retry.'); return; }
  await regenerate(asked.id);
}

export async function undo() {
  if (state.busy) { toast('A reply is still running.'); return; }
  try {
    if (!(await shownIsCurrent())) return;
    const data = await post('/api/session/undo', { session_id: currentId() });
    await reloadSession();
    toast(data.removed_count ? 'Undid the last exchange. It is kept: “Restore” brings it back.' : 'Nothing to undo.');
  } catch (err) {
    showError(err, 'Could not undo');
  }
}

export async function clearChat() {
  try {
    await post('/api/session/clear', { session_id: currentId() });
    await reloadSession();
    emit(EV.LIST_RELOAD);
  } catch (err) {
    showError(err, 'Could not clear the chat');
  }
}
