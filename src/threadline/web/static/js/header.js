// The chat header: title (click to rename), live state (Working, Needs approval, Needs input), token usage, the chat's menu, and the
// document title.
import { state } from './state.js';
import { EV, on, emit } from './events.js';
import { $ } from './dom.js';
import { openMenu, promptDialog, confirmDialog } from './dialogs.js';
import { displayTitle, compactNumber } from './format.js';
import { newChat, currentId } from './session.js';
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
  if (s.message_count) {
    items.splice(items.length - 2, 0, { label: 'Clear messages…', icon: 'x', onSelect: async () => {
      if (await confirmDialog({ title: 'Clear this chat?', message: 'Every message in it is removed. This cannot be undone.', confirmLabel: 'Clear chat', danger: true })) clearChat();
    } });
  }
  openMenu(anchor, items, { align: 'end' });
}
