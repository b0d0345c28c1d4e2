// Slash commands typed in the composer. Each returns true when it handled the input.
import { post } from './api.js';
import { state } from './state.js';
import { EV, emit } from './events.js';
import { h, isMac } from './dom.js';
import { confirmDialog, toast, showError } from './dialogs.js';
import { newChat, currentId, patchSession, reloadSession } from './session.js';
import { retry, undo, clearChat } from './message-actions.js';
import { appendLocal } from './transcript.js';
import { askBtw, startBackground } from './side.js';
import { loadModels, resolveModelName } from './models.js';
import { send } from './chat.js';
import { steer, interrupt } from './steer.js';
import { choosePersona } from './personas.js';

export const COMMANDS = [
  { name: 'new', description: 'Start a new chat', run: () => newChat() },
  { name: 'clear', description: 'Remove every message in this chat', run: clear },
  { name: 'retry', description: 'A new answer to the last message (the old one is kept)', run: () => retry() },
  { name: 'undo', description: 'Undo the last exchange (it is kept: Restore brings it back)', run: () => undo() },
  { name: 'steer', args: '<message>', description: 'Add a message to the running answer, at its next step', run: (arg) => need(arg, 'a message', () => steer(arg)) },
  { name: 'queue', args: '<message>', description: 'Send a message after the running answer', run: (arg) => need(arg, 'a message', () => send(arg)) },
  { name: 'interrupt', args: '<message>', description: 'Stop the running answer and send a message', run: (arg) => need(arg, 'a message', () => interrupt(arg)) },
  { name: 'btw', args: '<question>', description: 'Ask a side question; the chat is not changed', run: (arg) => need(arg, 'a question', () => askBtw(arg)) },
  { name: 'background', args: '<prompt>', description: 'Run a task in the background', run: (arg) => need(arg, 'a prompt', () => startBackground(arg)) },
  { name: 'compress', args: '[focus]', description: 'Summarise the older messages for the model now (they stay here)', run: compress },
  { name: 'compact', args: '[focus]', description: 'Same as /compress', run: compress },
  { name: 'model', args: '[name]', description: 'Switch model, or pick one', run: model },
  { name: 'personality', args: '[name | none]', description: 'Choose this chat’s persona, or edit its instructions', run: (arg) => choosePersona(arg) },
  { name: 'title', args: '<title>', description: 'Rename this chat', run: (arg) => need(arg, 'a title', () => rename(arg)) },
  { name: 'help', description: 'Commands and keyboard shortcuts', run: help },
];

export async function runCommand(text) {
  const m = /^\/(\w+)(?:\s+([\s\S]*))?$/.exec(text);
  if (!m) return false;
  const cmd = COMMANDS.find((c) => c.name === m[1].toLowerCase());
  if (!cmd) return false;
  await cmd.run((m[2] || '').trim());
  return true;
}

function need(arg, what, fn) {
  if (!arg) { toast(`Add ${what} after the command.`); return false; }
  return fn();
}

async function clear() {
  if (!state.session?.message_count) return;
  const ok = await confirmDialog({ title: 'Clear this chat?', message: 'Every message in it is removed. This cannot be undone.', confirmLabel: 'Clear chat', danger: true });
  if (ok) await clearChat();
}

/** `/model NAME` takes only a model the providers offer (the catalog is read again first). */
async function model(arg) {
  if (!arg) { emit(EV.PICK_MODEL); return; }
  const found = resolveModelName(arg, await loadModels());
  if (found.error) { toast(found.error, { kind: 'error' }); return; }
  try {
    const data = await post('/api/session/update', { session_id: currentId(), model: found.ref });
    patchSession({ model: data.session?.model || found.ref });
    toast(`Model: ${state.session.model}`, { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not change the model');
  }
}

async function compress(focus) {
  if (!state.session?.message_count) return;
  toast('Compacting the context…');
  try {
    await post('/api/session/compress', { session_id: currentId(), focus_topic: focus || null });
    await reloadSession();
    toast('Context compacted: the model gets a summary of the older messages.', { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not compact the context');
  }
}

async function rename(title) {
  try {
    const data = await post('/api/session/rename', { session_id: currentId(), title });
    patchSession({ title: data.session?.title || title });
    emit(EV.LIST_RELOAD);
  } catch (err) {
    showError(err, 'Could not rename');
  }
}

function help() {
  const mod = isMac() ? '⌘' : 'Ctrl';
  const rows = COMMANDS.map((c) => h('tr', null, h('td', null, h('code', { text: `/${c.name}${c.args ? ' ' + c.args : ''}` })), h('td', { text: c.description })));
  const keys = [
    [`${mod}+K`, 'New chat'],
    [{ 'ctrl+enter': `${mod}+Enter`, 'shift+enter': 'Shift+Enter' }[state.settings.send_key] || 'Enter', 'Send'],
    ['Esc', 'Stop the reply, close a panel'],
    [`${mod}+Shift+F`, 'Search chats'],
    [`${mod}+B`, 'Show or hide the sidebar'],
  ].map(([k, d]) => h('tr', null, h('td', null, h('kbd.kbd', { text: k })), h('td', { text: d })));
  appendLocal(h('div.help-card', null,
    h('h3', { text: 'Commands' }), h('table.help-table', null, h('tbody', null, rows)),
    h('h3', { text: 'Keyboard' }), h('table.help-table', null, h('tbody', null, keys)),
    h('p.help-foot', { text: 'This note is only on your screen; it is not part of the chat.' })));
}
