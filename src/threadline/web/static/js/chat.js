// The open chat's runs: send (start a run, or queue it on the server while one is live), follow a
// run's stream into a live turn, stop, answer approvals and the agent's questions, and follow the
// server's queue: when a run ends and a queued message is waiting, the server starts it by itself;
// the chat notices (the session's `active_stream_id`) and follows that run live too. Steering a
// live run is `steer.js`'s.
import { post, get, ApiError } from './api.js';
import { state, setRun, setStarting } from './state.js';
import { EV, on, emit } from './events.js';
import { h } from './dom.js';
import { openStream } from './stream.js';
import { toast, showError } from './dialogs.js';
import { userBubble } from './render/messages.js';
import { LiveTurn } from './render/live.js';
import { resolveApproval } from './render/tools.js';
import { resolveClarify } from './render/clarify.js';
import { currentId, reloadSession, markMaterialized, patchSession, whenSessionReady } from './session.js';
import { appendToTranscript, followOutput, showSession } from './transcript.js';
import { provisionalTitle } from './format.js';

const QUEUE_POLL_MS = [200, 300, 500, 800, 1200, 2000];
const QUEUE_WATCH_MS = 60000;
let queueWatch = null;   // {sessionId, timer}: waiting for the server to start a queued message
let cancelling = null;

export function initChat() {
  on(EV.SESSION_OPENED, (s) => { detach(); state.usage = null; showSession(s, { scroll: true }); follow(s); });
  on(EV.SESSION_REUSED, () => emit(EV.COMPOSER_FOCUS));
  on(EV.SESSION_RELOADED, (s) => {
    if (following() || state.starting) emit(EV.QUEUE, s.queue || []);
    else { showSession(s); follow(s); }
  });
  on(EV.MODELS, () => { if (idle() && !(state.session.messages || []).length) showSession(state.session); });
  on(EV.SETTINGS, () => { if (idle()) showSession(state.session); });
}

/** A run of the open chat is being followed and has not ended. */
function following() {
  return !!state.run && !state.run.ended;
}

function idle() {
  return !following() && !state.starting && !!state.session;
}

/** After the session was drawn: follow its live run, or wait for its queue to start one. */
function follow(session) {
  if (session.active_stream_id) {
    stopQueueWatch();
    attach(session.active_stream_id, session.session_id);
  } else if ((session.queue || []).length) {
    watchQueue(session.session_id);
  } else {
    stopQueueWatch();
  }
}

// ---- sending --------------------------------------------------------------------------------

/**
 * Sends a message: starts a run, or queues it on the server while one is live. With `editOf` (a user
 * message's id) the message is a new version of that one: the screen drops it and what followed it
 * (the server keeps them as the other version); an edit is never queued.
 */
export async function send(text, { attachments = [], editOf } = {}) {
  if (!state.session) await whenSessionReady();
  const session = state.session;
  if (!session) return false;
  const message = text.trim();
  if (!message) return false;
  if (cancelling) await cancelling;
  const editing = editOf !== undefined;
  if (editing && state.busy) { toast('Stop the current reply before editing.'); return false; }
  // Behind a live run, or behind messages already waiting in the server's queue: keep the order.
  if (!editing && (state.busy || (session.queue || []).length)) return enqueue(message, attachments);
  if (editing) showUpTo(session.messages?.find((m) => m.id === editOf)?.seq);

  const optimistic = userBubble({ content: message, attachments, timestamp: Date.now() / 1000 }, null);
  optimistic.classList.add('pending');
  appendToTranscript(optimistic);
  const turn = newLiveTurn();
  appendToTranscript(turn.el);
  setStarting(true);
  try {
    const body = { session_id: session.session_id, message };
    if (attachments.length) body.attachments = attachments;
    if (editing) body.edit_of = editOf;
    const data = await post('/api/chat/start', body);
    optimistic.classList.remove('pending');
    const wasDraft = !(session.message_count > 0);
    const untitled = !session.title || session.title === 'Untitled';
    patchSession({
      ...(untitled ? { title: provisionalTitle(message) } : {}),
      message_count: (session.message_count || 0) + 1,
      last_message_at: Date.now() / 1000,
      is_streaming: true,
      active_stream_id: data.stream_id,
    });
    if (wasDraft) markMaterialized();
    emit(EV.LIST_TOUCH, { ...state.session, _firstText: message });
    attach(data.stream_id, session.session_id, turn);
    setStarting(false);
    return true;
  } catch (err) {
    optimistic.remove();
    turn.el.remove();
    setStarting(false);
    if (editing) {
      showError(err, 'Could not edit the message');
      await reloadSession().catch(() => {});
      return false;
    }
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

/**
 * A new version of the answer to the user message `askedId` (the earlier answers stay, one "< >"
 * away): the screen drops the old answer and follows the new one live.
 */
export async function regenerate(askedId) {
  const session = state.session;
  if (!session || !Number.isInteger(askedId)) return false;
  if (cancelling) await cancelling;
  if (state.busy) { toast('A reply is still running.'); return false; }
  const asked = (session.messages || []).find((m) => m.id === askedId);
  if (asked) showUpTo(asked.seq + 1);
  const turn = newLiveTurn();
  appendToTranscript(turn.el);
  setStarting(true);
  try {
    const data = await post('/api/chat/regenerate', { session_id: session.session_id, message_id: askedId });
    patchSession({ is_streaming: true, active_stream_id: data.stream_id, last_message_at: Date.now() / 1000 });
    attach(data.stream_id, session.session_id, turn);
    setStarting(false);
    return true;
  } catch (err) {
    turn.el.remove();
    setStarting(false);
    showError(err, 'Could not regenerate the answer');
    await reloadSession().catch(() => {});
    return false;
  }
}

/** Shows only the first `count` messages of the open chat (what stays when a version is replaced). */
function showUpTo(count) {
  if (!Number.isInteger(count)) return;
  const messages = (state.session.messages || []).filter((m) => !(Number.isInteger(m.seq) && m.seq >= count));
  patchSession({ messages, message_count: count, branches_after: null });
  showSession(state.session);
}

/** Queues a message on the server behind the live run (or sends it when the session is free). */
export async function enqueue(message, attachments = []) {
  try {
    const body = { session_id: currentId(), message, queue: true };
    if (attachments.length) body.attachments = attachments;
    const data = await post('/api/chat/start', body);
    if (data.stream_id) {      // the session was free after all: it started at once
      await reloadSession();
      return true;
    }
    const fresh = await get('/api/session', { session_id: currentId(), messages: 0 });
    state.session.queue = fresh.session?.queue || [];
    emit(EV.QUEUE, state.session.queue);
    if (!following() && !state.starting) follow({ ...fresh.session, queue: state.session.queue });
    return true;
  } catch (err) {
    showError(err, 'Could not queue the message');
    return false;
  }
}

// ---- following a run ------------------------------------------------------------------------

function newLiveTurn() {
  return new LiveTurn({
    showThinking: state.settings.show_thinking !== false,
    onApprove: (approval, choice) => respondApproval(approval, choice),
    onAnswer: (question, text) => respondClarify(question, text),
  });
}

async function respondClarify(question, response) {
  try {
    await post('/api/clarify/respond', { session_id: currentId(), clarify_id: question.clarify_id, response });
    patchSession({ pending_clarify: false });
  } catch (err) {
    showError(err, 'Could not send the answer');
    throw err;
  }
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

// What the run waits for: approvals and questions, each with its pending list, id, card and flag.
const WAITS = {
  approval: { url: '/api/approval/pending', id: 'approval_id', flag: 'pending_approval',
    card: (run, id) => run.turn.approvals.find((c) => c.dataset.approvalId === id), resolve: (card) => resolveApproval(card, 'answered') },
  clarify: { url: '/api/clarify/pending', id: 'clarify_id', flag: 'pending_clarify',
    card: (run, id) => run.turn.questions.find((c) => c.dataset.clarifyId === id), resolve: (card) => resolveClarify(card, '', 'elsewhere') },
};

/** A replayed approval or question (after a reload, or answered in another tab) may have been
 * answered already: ask the server, which knows. */
async function confirmPending(run, kind, item) {
  const wait = WAITS[kind];
  let pending;
  try {
    pending = (await get(wait.url, { session_id: run.sessionId })).all || [];
  } catch { return; }  // the card stays; answering it reports any error
  if (run !== state.run || run.ended || pending.some((p) => p[wait.id] === item[wait.id])) return;
  const card = wait.card(run, item[wait.id]);
  if (card) wait.resolve(card);
  if (!pending.length) patchSession({ [wait.flag]: false });
}

/** Follows a run's event stream into a live turn (new, or replayed after a reload). */
export function attach(streamId, sessionId, turn = null) {
  if (state.run?.streamId === streamId && !state.run.ended) return;
  state.run?.stream?.close();
  if (!turn) {
    turn = newLiveTurn();
    appendToTranscript(turn.el, { scroll: false });
  }
  const run = { streamId, sessionId, turn, stream: null, ended: false };
  state.usage = null;
  setRun(run);
  run.stream = openStream(streamId, {
    onEvent: (name, data) => onRunEvent(run, name, data),
    onEnd: (reason) => onRunEnd(run, reason),
    onLost: () => toast('Lost the connection to the run; showing what was saved.', { kind: 'error' }),
  });
  followOutput();
}

function onRunEvent(run, name, data) {
  if (run !== state.run) return;
  const t = run.turn;
  switch (name) {
    case 'token': t.token(data.text); break;
    case 'reasoning': t.reasoning(data.text); break;
    case 'plan': t.plan(data); break;
    case 'tool': t.tool(data); break;
    case 'tool_complete':
      t.toolComplete(data);
      if (state.session?.pending_approval || state.session?.pending_clarify) patchSession({ pending_approval: false, pending_clarify: false });
      emit(EV.WORKSPACE_CHANGED, data);
      break;
    case 'approval': t.approval(data); patchSession({ pending_approval: true }); notifyWaiting('Approval needed'); confirmPending(run, 'approval', data); break;
    case 'clarify': t.clarify(data); patchSession({ pending_clarify: true }); notifyWaiting('Question'); confirmPending(run, 'clarify', data); break;
    case 'steer': t.steer(data); break;
    case 'pending_steer_leftover': t.leftover(data.text); emit(EV.STEER_LEFTOVER, { streamId: run.streamId, text: data.text }); break;
    case 'apperror': t.error(data); break;
    case 'warning': t.notice(data.message); toast(data.message, { kind: 'error' }); break;
    case 'compressing': t.notice(`Compacting ${data.messages} earlier messages to fit the context window…`); break;
    case 'context_status': patchSession({ context: data }); break;
    case 'cancel': t.cancelled(data); break;
    case 'done':
      if (data.usage) state.usage = data.usage;
      t.finalize();
      if (data.session) {
        const { messages, ...meta } = data.session;
        if (meta.session_id === run.sessionId) patchSession({ ...meta, active_stream_id: meta.active_stream_id ?? null });
      }
      break;
    case 'title':
      if (data.session_id === run.sessionId || !data.session_id) patchSession({ title: data.title });
      emit(EV.LIST_TITLE, data);
      break;
    default: break;
  }
  followOutput();
}

async function onRunEnd(run, reason) {
  if (run !== state.run) return;
  run.turn.finalize();
  run.ended = true;
  patchSession({ is_streaming: false, active_stream_id: null, pending_approval: false, pending_clarify: false });
  emit(EV.RUN_ENDED, { sessionId: run.sessionId, reason });
  if (currentId() !== run.sessionId) { setRun(null); return; }
  // Busy until the stored transcript has replaced the live one, so nothing reads a half state. The
  // reload draws it and follows the next run if the server already started a queued message.
  try {
    const session = await reloadSession();
    if (session && run.turn.hadError && state.run === run) keepErrorRow(session, run.turn);
  } catch (err) {
    if (reason === 'lost') showError(err);
  } finally {
    if (state.run === run) setRun(null);
  }
}

/** An error the stream showed but the stored transcript does not have stays on screen. */
function keepErrorRow(session, turn) {
  const last = (session.messages || []).at(-1);
  if (last && (last._error || last.status === 'error')) return;
  const row = turn.el.querySelector('.error-row');
  if (row) appendToTranscript(h('div.msg.msg-assistant', null, h('div.avatar'), h('div.msg-main', null, row)), { scroll: false });
}

function detach() {
  stopQueueWatch();
  if (!state.run) return;
  state.run.stream?.close();
  setRun(null);
}

// ---- the server's queue ---------------------------------------------------------------------

/** Polls the session until the server starts its next queued message (or the queue empties). */
function watchQueue(sessionId) {
  if (queueWatch?.sessionId === sessionId) return;
  stopQueueWatch();
  const watch = { sessionId, timer: null, started: performance.now(), tries: 0 };
  queueWatch = watch;
  const tick = async () => {
    if (queueWatch !== watch || currentId() !== sessionId) return;
    let fresh = null;
    try {
      fresh = (await get('/api/session', { session_id: sessionId, messages: 0 })).session;
    } catch { /* try again */ }
    if (queueWatch !== watch || currentId() !== sessionId) return;
    if (fresh && (fresh.active_stream_id || !(fresh.queue || []).length)) {
      queueWatch = null;
      if (!following() && !state.starting) await reloadSession().catch((err) => showError(err));
      return;
    }
    if (fresh) emit(EV.QUEUE, fresh.queue);
    if (performance.now() - watch.started > QUEUE_WATCH_MS) { queueWatch = null; return; }
    watch.timer = setTimeout(tick, QUEUE_POLL_MS[Math.min(watch.tries++, QUEUE_POLL_MS.length - 1)]);
  };
  watch.timer = setTimeout(tick, QUEUE_POLL_MS[0]);
}

function stopQueueWatch() {
  if (queueWatch) clearTimeout(queueWatch.timer);
  queueWatch = null;
}

// ---- stop, approvals, questions -------------------------------------------------------------

function notifyWaiting(what) {
  if (!document.hidden) return;
  document.title = `${what} · Threadline`;
  document.addEventListener('visibilitychange', () => emit(EV.SESSION_META, state.session), { once: true });
}

/** Stops the open chat's live run; resolves once the server has stored the cancel. */
export async function stop() {
  const streamId = (following() && state.run.streamId) || state.session?.active_stream_id;
  if (!streamId) return;
  cancelling = post('/api/chat/cancel', { stream_id: streamId })
    .catch((err) => showError(err, 'Could not stop'))
    .finally(() => { cancelling = null; });
  await cancelling;
}
