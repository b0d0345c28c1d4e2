// Slash commands typed in the composer. Each returns true when it handled the input.
import { get, post } from './api.js';
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
import { setYolo } from './header.js';
import { compactNumber } from './format.js';

// The list (names, arguments, descriptions) is the server's: GET /api/commands
// (sessions/commands.py). Here is only what each one does; a name with no handler is not offered.
const HANDLERS = {
  new: () => newChat(),
  clear,
  retry: () => retry(),
  undo: () => undo(),
  steer: (arg) => need(arg, 'a message', () => steer(arg)),
  queue: (arg) => need(arg, 'a message', () => send(arg)),
  interrupt: (arg) => need(arg, 'a message', () => interrupt(arg)),
  btw: (arg) => need(arg, 'a question', () => askBtw(arg)),
  background: (arg) => need(arg, 'a prompt', () => startBackground(arg)),
  compress,
  model,
  personality: (arg) => choosePersona(arg),
  title: (arg) => need(arg, 'a title', () => rename(arg)),
  status: () => showStatus(false),
  usage: () => showStatus(true),
  yolo,
  help,
};

/** The commands the composer offers, in the server's order: {name, args, description, aliases, run}. */
export const COMMANDS = [];

export async function loadCommands() {
  try {
    const data = await get('/api/commands');
    const known = (data.commands || []).filter((c) => HANDLERS[c.name]);
    COMMANDS.splice(0, COMMANDS.length, ...known.map((c) => ({ ...c, run: HANDLERS[c.name] })));
  } catch (err) {
    console.warn('could not load the slash commands', err);
  }
}

export async function runCommand(text) {
  const m = /^\/(\w+)(?:\s+([\s\S]*))?$/.exec(text);
  if (!m) return false;
  const name = m[1].toLowerCase();
  const cmd = COMMANDS.find((c) => c.name === name || (c.aliases || []).includes(name));
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

/** `/status` and `/usage`: the open chat's state, from the server, as a note on this screen only. */
async function showStatus(usageOnly) {
  const id = currentId();
  if (!id) return;
  let data;
  try {
    data = await get(usageOnly ? '/api/session/usage' : '/api/session/status', { session_id: id });
  } catch (err) {
    showError(err, 'Could not read the chat\'s status');
    return;
  }
  const cost = data.estimated_cost == null ? 'not reported' : `$${Number(data.estimated_cost).toFixed(4)}`;
  const rows = [
    ['Tokens', `${compactNumber(data.total_tokens)} (${data.input_tokens.toLocaleString()} in · ${data.output_tokens.toLocaleString()} out)`],
    ['Estimated cost', cost],
  ];
  if (!usageOnly) {
    rows.unshift(['Title', data.title], ['Model', data.model || 'default'], ['Workspace', data.workspace],
      ['Messages', String(data.message_count)], ['Agent', data.agent_running ? 'working' : 'idle'],
      ['Approvals', data.yolo ? 'off (YOLO)' : 'on']);
  }
  appendLocal(h('div.help-card', null, h('h3', { text: usageOnly ? 'Usage' : 'Status' }),
    h('table.help-table', null, h('tbody', null, rows.map(([k, v]) => h('tr', null, h('td', { text: k }), h('td', { text: v }))))),
    h('p.help-foot', { text: 'This note is only on your screen; it is not part of the chat.' })));
}

/** `/yolo` toggles; `/yolo on` or `/yolo off` sets. */
function yolo(arg) {
  const word = arg.toLowerCase();
  if (word && !['on', 'off'].includes(word)) { toast('Use /yolo, /yolo on or /yolo off.'); return; }
  return setYolo(word ? word === 'on' : !state.session?.yolo);
}
