// Side runs: btw questions (answered beside the chat, never part of its context) and background
// tasks (their own session; the answer lands in the chat once, when they finish).
import { post, get } from './api.js';
import { state } from './state.js';
import { EV, on, emit } from './events.js';
import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { openStream } from './stream.js';
import { openMenu, toast, showError } from './dialogs.js';
import { setMarkdown } from './render/markdown.js';
import { btwBubble, errorRow } from './render/messages.js';
import { appendToTranscript } from './transcript.js';
import { currentId, reloadSession, openSession, markMaterialized, patchSession } from './session.js';

const POLL_MS = 3000;
let tasks = [];          // background tasks of the open session
let pollTimer = null;
const btwStreams = new Set();

export function initSide() {
  $('#bg-badge').addEventListener('click', (e) => openTasksMenu(e.currentTarget));
  on(EV.SESSION_OPENED, (s) => {
    for (const s2 of btwStreams) s2.close();
    btwStreams.clear();
    tasks = [];
    renderBadge();
    if (s.message_count > 0) refreshTasks();
  });
  on(EV.RUN_ENDED, () => { if (tasks.some((t) => t.status === 'running')) schedulePoll(); });
}

// ---- btw ------------------------------------------------------------------------------------

export async function askBtw(question) {
  const sessionId = currentId();
  let data;
  try {
    data = await post('/api/btw', { session_id: sessionId, question });
  } catch (err) {
    showError(err, 'Could not ask');
    return false;
  }
  if ((state.session?.message_count || 0) === 0) markMaterialized();
  const bubble = btwBubble(question, null, { timestamp: Date.now() / 1000, live: true });
  const answer = bubble._answer;
  const dots = h('div.typing', null, h('span'), h('span'), h('span'));
  answer.append(dots);
  const md = h('div.md');
  let text = '';
  appendToTranscript(bubble);
  const stream = openStream(data.stream_id, {
    closeOn: new Set(['done']),
    onEvent(name, ev) {
      if (name === 'token') {
        dots.remove();
        if (!md.isConnected) answer.append(md);
        text += ev.text || '';
        setMarkdown(md, text, { settled: false });
      } else if (name === 'apperror') {
        dots.remove();
        answer.append(errorRow(ev.message, ev.hint));
      } else if (name === 'cancel') {
        dots.remove();
        answer.append(h('div.note.note-inline', null, h('span', { text: 'Stopped' })));
      }
    },
    onEnd() {
      btwStreams.delete(stream);
      dots.remove();
      bubble.classList.remove('live');
      if (text) setMarkdown(md, text, { settled: true });
      else if (!answer.children.length) answer.append(h('p.muted', { text: 'No answer.' }));
      if (!state.busy && currentId() === sessionId) reloadSession().catch(() => {});
    },
  });
  btwStreams.add(stream);
  return true;
}

// ---- background -----------------------------------------------------------------------------

export async function startBackground(prompt) {
  try {
    const data = await post('/api/background', { session_id: currentId(), prompt });
    if ((state.session?.message_count || 0) === 0) {
      markMaterialized();
      patchSession({ message_count: state.session.message_count || 0 });
      emit(EV.LIST_RELOAD);
    }
    tasks.push({ task_id: data.task_id, prompt, status: 'running', session_id: data.session_id, created_at: Date.now() / 1000 });
    renderBadge();
    schedulePoll();
    toast('Background task started. Its answer will appear here when it is done.', { kind: 'success' });
    return true;
  } catch (err) {
    showError(err, 'Could not start the background task');
    return false;
  }
}

async function refreshTasks() {
  const sessionId = currentId();
  if (!sessionId) return;
  let data;
  try {
    data = await get('/api/background/status', { session_id: sessionId });
  } catch {
    return;
  }
  if (currentId() !== sessionId) return;
  const before = new Map(tasks.map((t) => [t.task_id, t.status]));
  tasks = data.tasks || [];
  const finished = tasks.some((t) => before.get(t.task_id) === 'running' && t.status !== 'running');
  renderBadge();
  if (finished && !state.busy) reloadSession().catch(() => {});
  if (tasks.some((t) => t.status === 'running')) schedulePoll();
}

function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(() => { if (!document.hidden) refreshTasks(); else schedulePoll(); }, POLL_MS);
}

function renderBadge() {
  const badge = $('#bg-badge');
  const running = tasks.filter((t) => t.status === 'running').length;
  badge.hidden = !tasks.length;
  badge.replaceChildren(running ? h('span.spinner') : icon('clock', { size: 14 }),
    h('span', { text: running ? `${running} running` : `${tasks.length} task${tasks.length === 1 ? '' : 's'}` }));
  badge.classList.toggle('active', running > 0);
  badge.setAttribute('aria-label', running ? `${running} background task${running === 1 ? '' : 's'} running` : 'Background tasks');
}

function openTasksMenu(anchor) {
  const items = [{ heading: 'Background tasks' }];
  for (const t of [...tasks].reverse()) {
    const label = t.prompt.length > 48 ? `${t.prompt.slice(0, 47)}…` : t.prompt;
    items.push({ label, icon: t.status === 'running' ? 'clock' : t.status === 'succeeded' || t.status === 'done' || t.status === 'complete' ? 'check' : 'alert', hint: t.status, onSelect: () => t.session_id && openSession(t.session_id) });
    if (t.status === 'running') items.push({ label: 'Cancel this task', icon: 'x', danger: true, onSelect: () => cancelTask(t) });
  }
  openMenu(anchor, items, { align: 'end', minWidth: 280 });
}

async function cancelTask(task) {
  try {
    await post('/api/background/cancel', { task_id: task.task_id });
    toast('Background task cancelled.');
    refreshTasks();
  } catch (err) {
    showError(err, 'Could not cancel');
  }
}
