// The chat header: title (click to rename), live state (Working, Needs approval, Needs input), token usage, the chat's menu, and the
// document title.
import { state } from './state.js';
import { EV, on, emit } from './events.js';
import { $ } from './dom.js';
import { openMenu, promptDialog, confirmDialog, toast, showError } from './dialogs.js';
import { post } from './api.js';
import { displayTitle, compactNumber } from './format.js';
import { newChat, currentId, patchSession } from './session.js';
import { sessionMenuItems, renameSession } from './session-menu.js';
import { rowById } from './list.js';
import { clearChat } from './message-actions.js';
import { openChatInstructions, openEffectivePrompt } from './personas.js';

export function initHeader() {
  const title = $('#chat-title');
  title.tabIndex = 0;
  title.setAttribute('role', 'button');
  title.addEventListener('click', rename);
  title.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === 'F2') { e.preventDefault(); rename(); } });
  $('#chat-menu').addEventListener('click', (e) => openChatMenu(e.currentTarget));
  $('#yolo-pill').addEventListener('click', () => setYolo(false));
  $('#new-chat').addEventListener('click', () => newChat());
  $('#new-chat-mobile').addEventListener('click', () => newChat());
  $('#brand').addEventListener('click', (e) => { e.preventDefault(); newChat(); });

  for (const ev of [EV.SESSION_OPENED, EV.SESSION_META, EV.SESSION_RELOADED, EV.SESSION_REUSED, EV.SETTINGS]) on(ev, render);
  on(EV.BUSY, (busy) => { $('#live-pill').hidden = !busy; render(); });
}

function render() {
  const s = state.session;
  const title = displayTitle(s);
  $('#chat-title').textContent = title;
  $('#chat-title').title = s?.message_count ? 'Rename' : '';
  document.title = s?.message_count ? `${title} · Threadline` : 'Threadline';
  const usage = $('#usage');
  const total = (s?.input_tokens || 0) + (s?.output_tokens || 0);
  usage.hidden = !(state.settings.show_token_usage && total);
  usage.textContent = `${compactNumber(total)} tokens`;
  usage.title = `${(s?.input_tokens || 0).toLocaleString()} in · ${(s?.output_tokens || 0).toLocaleString()} out`;
  renderGauge(s?.context);
  $('#chat-menu').disabled = !s;
  $('#yolo-pill').hidden = !s?.yolo;
  // The run waits for an approval card, or for the answer to the agent's question.
  const waiting = s?.pending_approval ? 'Needs approval' : s?.pending_clarify ? 'Needs input' : null;
  $('#live-pill').classList.toggle('needs-approval', !!waiting);
  $('#live-label').textContent = waiting || 'Working';
}

/** How full the model's context window was at the last model call: `context` {used, limit, budget}. */
function renderGauge(context) {
  const gauge = $('#ctx-gauge');
  gauge.hidden = !(context?.limit > 0);
  if (gauge.hidden) return;
  const pct = Math.min(100, Math.round((100 * (context.used || 0)) / context.limit));
  gauge.setAttribute('aria-valuenow', String(pct));
  gauge.querySelector('.ctx-gauge-fill').style.width = `${pct}%`;
  gauge.querySelector('.ctx-gauge-text').textContent = `${pct}%`;
  gauge.classList.toggle('high', context.budget > 0 && context.used > 0.8 * context.budget);
  gauge.title = `Context: about ${compactNumber(context.used || 0)} of ${compactNumber(context.limit)} tokens`
    + ` (${context.model || 'model'}; compacted past ${compactNumber(context.budget || context.limit)}). /compress summarises now.`;
}

async function rename() {
  const s = state.session;
  if (!s) return;
  const title = await promptDialog({ title: 'Rename chat', label: 'Title', value: s.title === 'Untitled' ? '' : s.title, validate: (v) => (v ? null : 'Enter a title.') });
  if (title) {
    await renameSession(s.session_id, title);
    emit(EV.LIST_RELOAD);
  }
}

function openChatMenu(anchor) {
  const s = state.session;
  if (!s) return;
  const row = rowById(currentId()) || s;
  const items = s.message_count
    ? sessionMenuItems({ ...s, ...row, pinned: row.pinned ?? s.pinned }, { onRename: rename, at: { anchor } })
    : [{ label: 'Rename', icon: 'edit', onSelect: rename }];
  items.splice(1, 0,
    { label: 'Instructions & persona…', icon: 'sparkle', onSelect: openChatInstructions },
    { label: 'Effective prompt', icon: 'info', onSelect: openEffectivePrompt });
  items.push(s.yolo
    ? { label: 'Turn approvals back on', icon: 'check', onSelect: () => setYolo(false) }
    : { label: 'Turn approvals off (YOLO)…', icon: 'x', onSelect: () => setYolo(true) });
  if (s.message_count) {
    items.splice(items.length - 2, 0, { label: 'Clear messages…', icon: 'x', onSelect: async () => {
      if (await confirmDialog({ title: 'Clear this chat?', message: 'Every message in it is removed. This cannot be undone.', confirmLabel: 'Clear chat', danger: true })) clearChat();
    } });
  }
  openMenu(anchor, items, { align: 'end' });
}

/** YOLO mode for the open chat: approvals off (after a warning) or back on. */
export async function setYolo(enabled) {
  const s = state.session;
  if (!s) return;
  if (enabled && !await confirmDialog({
    title: 'Turn approvals off for this chat?',
    message: 'Every tool call in this chat runs without asking: commands, file writes, network access. It lasts until you turn approvals back on or the server restarts.',
    confirmLabel: 'Turn approvals off', danger: true,
  })) return;
  try {
    const data = await post('/api/session/yolo', { session_id: s.session_id, enabled });
    patchSession({ yolo: data.yolo, is_draft: false });
    toast(data.yolo ? 'Approvals are off in this chat.' : 'Approvals are back on in this chat.', { kind: data.yolo ? 'info' : 'success' });
  } catch (err) {
    showError(err, 'Could not change approvals');
  }
}
