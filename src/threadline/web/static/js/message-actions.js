// What can be done to the messages of the open chat: copy, edit and resend, retry, undo, clear.
// Each change that cuts the transcript first checks that the chat on screen is the chat on the
// server, so nothing the user has not seen is ever deleted.
import { post, get } from './api.js';
import { state } from './state.js';
import { EV, emit } from './events.js';
import { h, copyText } from './dom.js';
import { toast, showError } from './dialogs.js';
import { flash } from './render/markdown.js';
import { currentId, reloadSession, openSession } from './session.js';
import { send } from './chat.js';
import { transcriptEl } from './transcript.js';

export function initMessageActions() {
  transcriptEl().addEventListener('click', onMessageAction);
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
  } else if (action === 'retry') {
    retry();
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
    onsubmit: (e) => { e.preventDefault(); editAndResend(Number(msg.dataset.index), area.value); },
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

/** Cuts the transcript before message `index` and sends `text` in its place. */
export async function editAndResend(index, text) {
  if (!text.trim() || !Number.isFinite(index)) return;
  try {
    if (!(await shownIsCurrent())) return;
    await post('/api/session/truncate', { session_id: currentId(), keep_count: index });
    const session = await reloadSession();
    if (session) await send(text);
  } catch (err) {
    showError(err, 'Could not edit the message');
  }
}

export async function retry() {
  if (state.busy) { toast('A reply is still running.'); return; }
  try {
    if (!(await shownIsCurrent())) return;
    const data = await post('/api/session/retry', { session_id: currentId() });
    await reloadSession();
    if (data.last_user_text) await send(data.last_user_text);
  } catch (err) {
    showError(err, 'Could not retry');
  }
}

export async function undo() {
  if (state.busy) { toast('A reply is still running.'); return; }
  try {
    if (!(await shownIsCurrent())) return;
    const data = await post('/api/session/undo', { session_id: currentId() });
    await reloadSession();
    toast(data.removed_count ? `Removed the last exchange (${data.removed_count} messages).` : 'Nothing to undo.');
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
