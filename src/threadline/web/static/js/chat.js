// The conversation view: renders the open session, runs turns (start, stream, stop, queue), and
// the message actions (copy, edit and resend, retry).
import { post, get, ApiError } from './api.js';
import { state, on, emit } from './state.js';
import { h, $, copyText } from './dom.js';
import { icon } from './icons.js';
import { openStream } from './stream.js';
import { toast, showError } from './dialogs.js';
import { renderMessages, userBubble, LiveTurn } from './render/messages.js';
import { resolveApproval } from './render/tools.js';
import { flash } from './render/markdown.js';
import { currentId, reloadSession, markMaterialized, patchSession, fetchSession, openSession, whenSessionReady } from './session.js';

let scroller;   // #transcript
let list;       // #messages
let jumpBtn;
let live = null;     // {streamId, sessionId, turn, stream}
let starting = false; // a chat/start request is in flight
let stickToBottom = true;
let lastUsage = null;

export function initChat() {
  scroller = $('#transcript');
  list = $('#messages');
  jumpBtn = $('#jump-latest');

  scroller.addEventListener('scroll', () => {
    stickToBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    jumpBtn.hidden = stickToBottom;
  }, { passive: true });
  jumpBtn.addEventListener('click', () => scrollToBottom(true));
  list.addEventListener('rendered', () => followOutput());
  list.addEventListener('click', onMessageAction);
  list.addEventListener('toggle', () => followOutput(), true);

  on('session:opened', (s) => { detachLive(); lastUsage = null; showSession(s, { scroll: true }); });
  on('session:reused', () => emit('composer:focus'));
  on('session:reloaded', (s) => { if (!live && !starting) showSession(s); else renderQueue(s); });
  on('models', () => { if (!live && !starting && state.session && !(state.session.messages || []).length) showSession(state.session); });
  on('settings', () => { if (!live && !starting && state.session) showSession(state.session); });
}

// ---- rendering ------------------------------------------------------------------------------

export function showSession(session, { scroll = false } = {}) {
  const messages = session.messages || [];
  const activeId = session.active_stream_id;
  // While a run is live, its assistant/tool rows are rebuilt from the stream's replay, so only the
  // rows up to its user message are drawn from the stored transcript.
  let shown = messages;
  if (activeId && !live) {
    const lastUser = findLastIndex(messages, (m) => m.role === 'user' && !m.side && !m.background);
    if (lastUser >= 0) shown = messages.filter((m, i) => i <= lastUser || m.side || m.background);
  }
  const frag = renderMessages(shown, {
    offset: session._messages_offset || 0,
    showThinking: state.settings.show_thinking !== false,
    showUsage: !!state.settings.show_token_usage,
    usage: lastUsage,
    busy: !!activeId,
  });
  list.replaceChildren();
  if (session._messages_truncated) list.append(loadEarlierButton(session));
  if (!messages.length && !activeId) list.append(emptyState(session));
  list.append(frag);
  renderQueue(session);
  emit('chat:rendered', session);
  if (activeId && !live) attach(activeId, session.session_id);
  else setBusy(!!live);
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
    session.workspace ? h('p.empty-sub', null, icon('folder', { size: 14 }), h('span', { text: session.workspace })) : null,
    noProvider
      ? h('button.btn.btn-primary', { type: 'button', text: 'Connect a model provider', onclick: () => emit('setup:open') })
      : h('div.suggestions', null, suggestions.map(([ic, s]) => h('button.suggestion', { type: 'button', onclick: () => emit('composer:fill', s) }, icon(ic, { size: 16 }), h('span', { text: s })))));
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

export function renderQueue(session) {
  emit('queue', session?.queue || []);
}

function scrollToBottom(force = false) {
  if (force) stickToBottom = true;
  scroller.scrollTop = scroller.scrollHeight;
  jumpBtn.hidden = true;
}

function followOutput() {
  if (stickToBottom) scrollToBottom();
}

function findLastIndex(arr, pred) {
  for (let i = arr.length - 1; i >= 0; i--) if (pred(arr[i])) return i;
  return -1;
}

// ---- runs -----------------------------------------------------------------------------------

function setBusy(busy) {
  state.busy = busy;
  state.streamId = busy ? live?.streamId : null;
  emit('busy', busy);
}

/** Sends a message: starts a run, or queues it on the server while one is live. */
export async function send(text, { attachments = [] } = {}) {
  if (!state.session) await whenSessionReady();
  const session = state.session;
  if (!session) return false;
  const message = text.trim();
  if (!message) return false;
  if (cancelling) await cancelling;
  if (state.busy) return enqueue(message, attachments);

  list.querySelector('.empty')?.remove();
  const optimistic = userBubble({ content: message, attachments, timestamp: Date.now() / 1000 }, null);
  optimistic.classList.add('pending');
  list.append(optimistic);
  const turn = newLiveTurn();
  list.append(turn.el);
  scrollToBottom(true);
  setBusyPending(true);
  starting = true;
  try {
    const body = { session_id: session.session_id, message };
    if (attachments.length) body.attachments = attachments;
    const data = await post('/api/chat/start', body);
    starting = false;
    optimistic.classList.remove('pending');
    const wasDraft = !(session.message_count > 0);
    const untitled = !session.title || session.title === 'Untitled';
    patchSession({
      ...(untitled ? { title: message.replace(/\s+/g, ' ').slice(0, 64) } : {}),
      message_count: (session.message_count || 0) + 1,
      last_message_at: Date.now() / 1000,
      is_streaming: true,
      active_stream_id: data.stream_id,
    });
    if (wasDraft) markMaterialized();
    emit('sessions:touch', { ...state.session, _firstText: message });
    attach(data.stream_id, session.session_id, turn);
    return true;
  } catch (err) {
    starting = false;
    optimistic.remove();
    turn.el.remove();
    setBusyPending(false);
    if (err instanceof ApiError && err.status === 409) {
      // Another tab (or a queued turn) is running: queue this one; the reload follows the live run.
      const ok = await enqueue(message, attachments);
      await reloadSession().catch(() => {});
      return ok;
    }
    showError(err, 'Message not sent');
    return false;
  }
}

function setBusyPending(busy) {
  state.busy = busy;
  emit('busy', busy);
}

async function enqueue(message, attachments) {
  try {
    const body = { session_id: currentId(), message, queue: true };
    if (attachments.length) body.attachments = attachments;
    const data = await post('/api/chat/start', body);
    if (data.stream_id) {      // the session was free after all: it started at once
      await reloadSession();
      return true;
    }
    if (Array.isArray(data.queue)) {
      state.session.queue = data.queue;
      renderQueue(state.session);
    } else {
      const fresh = await get('/api/session', { session_id: currentId(), messages: 0 });
      state.session.queue = fresh.session?.queue || [];
      renderQueue(state.session);
    }
    return true;
  } catch (err) {
    showError(err, 'Could not queue the message');
    return false;
  }
}

function newLiveTurn() {
  return new LiveTurn({
    showThinking: state.settings.show_thinking !== false,
    onApprove: (approval, choice) => respondApproval(approval, choice),
  });
}

async function respondApproval(approval, choice) {
  try {
    await post('/api/approval/respond', { session_id: currentId(), approval_id: approval.approval_id, choice });
    patchSession({ pending_approval: false });
  } catch (err) {
    showError(err, 'Could not send the answer');
    throw err;
  }
}

/** A replayed approval (after a reload) may have been answered already: ask the server, which knows. */
async function confirmPending(run, approval) {
  let pending;
  try {
    pending = (await get('/api/approval/pending', { session_id: run.sessionId })).all || [];
  } catch { return; }  // the card stays; answering it reports any error
  if (run !== live || pending.some((p) => p.approval_id === approval.approval_id)) return;
  const card = run.turn.approvals.find((c) => c.dataset.approvalId === approval.approval_id);
  if (card) resolveApproval(card, 'answered');
  if (!pending.length) patchSession({ pending_approval: false });
}

/** Follows a run's event stream into a live turn (new, or replayed after a reload). */
export function attach(streamId, sessionId, turn = null) {
  if (live?.streamId === streamId) return;
  detachLive();
  if (!turn) {
    turn = newLiveTurn();
    list.append(turn.el);
  }
  live = { streamId, sessionId, turn, stream: null, done: false };
  lastUsage = null;
  setBusy(true);
  const current = live;
  current.stream = openStream(streamId, {
    onEvent: (name, data) => onRunEvent(current, name, data),
    onEnd: (reason) => onRunEnd(current, reason),
    onLost: () => toast('Lost the connection to the run; showing what was saved.', { kind: 'error' }),
  });
  followOutput();
}

function onRunEvent(run, name, data) {
  if (run !== live) return;
  const t = run.turn;
  switch (name) {
    case 'token': t.token(data.text); break;
    case 'reasoning': t.reasoning(data.text); break;
    case 'tool': t.tool(data); break;
    case 'tool_complete':
      t.toolComplete(data);
      if (state.session?.pending_approval) patchSession({ pending_approval: false });
      emit('workspace:changed', data);
      break;
    case 'approval': t.approval(data); patchSession({ pending_approval: true }); notifyApproval(); confirmPending(run, data); break;
    case 'apperror': t.error(data); break;
    case 'cancel': t.cancelled(data); break;
    case 'done':
      run.done = true;
      if (data.usage) lastUsage = data.usage;
      t.finalize();
      if (data.session) {
        const { messages, ...meta } = data.session;
        if (meta.session_id === run.sessionId) patchSession({ ...meta, active_stream_id: meta.active_stream_id ?? null });
      }
      break;
    case 'title':
      if (data.session_id === run.sessionId || !data.session_id) patchSession({ title: data.title });
      emit('sessions:title', data);
      break;
    default: break;
  }
  followOutput();
}

async function onRunEnd(run, reason) {
  if (run !== live) return;
  run.turn.finalize();
  const keepError = run.turn.hadError;
  live = null;
  patchSession({ is_streaming: false, active_stream_id: null, pending_approval: false });
  emit('run:ended', { sessionId: run.sessionId, reason });
  if (currentId() !== run.sessionId) { setBusy(false); return; }
  // Busy until the stored transcript has replaced the live one, so nothing reads a half state.
  try {
    const session = await reloadSession();
    if (session && keepError) {
      const last = (session.messages || []).at(-1);
      if (!last || !(last._error || last.status === 'error')) {
        const row = run.turn.el.querySelector('.error-row');
        if (row) list.append(h('div.msg.msg-assistant', null, h('div.avatar'), h('div.msg-main', null, row)));
      }
    }
  } catch (err) {
    if (reason === 'lost') showError(err);
  } finally {
    if (!live) setBusy(false);
  }
}

function detachLive() {
  if (!live) return;
  live.stream?.close();
  live = null;
  setBusy(false);
}

function notifyApproval() {
  if (!document.hidden) return;
  document.title = 'Approval needed · Threadline';
  document.addEventListener('visibilitychange', () => emit('session:meta', state.session), { once: true });
}

let cancelling = null;

export async function stop() {
  const streamId = live?.streamId || state.session?.active_stream_id;
  if (!streamId) return;
  cancelling = post('/api/chat/cancel', { stream_id: streamId })
    .catch((err) => showError(err, 'Could not stop'))
    .finally(() => { cancelling = null; });
  await cancelling;
}

// ---- message actions ------------------------------------------------------------------------

async function onMessageAction(e) {
  const btn = e.target.closest('[data-action]');
  if (!btn || !list.contains(btn)) return;
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

export async function editAndResend(index, text) {
  if (!text.trim() || !Number.isFinite(index)) return;
  try {
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
    const data = await post('/api/session/retry', { session_id: currentId() });
    if (data.error) { toast(data.error); return; }
    await reloadSession();
    if (data.last_user_text) await send(data.last_user_text);
  } catch (err) {
    showError(err, 'Could not retry');
  }
}

export async function undo() {
  if (state.busy) { toast('A reply is still running.'); return; }
  try {
    const data = await post('/api/session/undo', { session_id: currentId() });
    if (data.error) { toast(data.error); return; }
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
    emit('sessions:changed');
  } catch (err) {
    showError(err, 'Could not clear the chat');
  }
}

/** Appends a local, unsaved note to the transcript (used by /help). */
export function appendLocal(el) {
  list.querySelector('.empty')?.remove();
  list.append(h('div.msg.msg-local', null, el));
  scrollToBottom(true);
}

export function appendToTranscript(el) {
  list.querySelector('.empty')?.remove();
  list.append(el);
  scrollToBottom(true);
}
