// Runtimes: the built-in agent and the ACP agents configured on the server (/api/runtimes). Owns the
// composer's runtime picker (kept with the session, beside the model) and Settings › Agents.
import { get, post } from './api.js';
import { state } from './state.js';
import { EV, on, emit } from './events.js';
import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { openMenu, toast, showError, confirmDialog } from './dialogs.js';
import { field } from './forms.js';
import { currentId, patchSession } from './session.js';

const BUILTIN = 'builtin';

export function initRuntimes() {
  $('#runtime-picker').addEventListener('click', (e) => openRuntimePicker(e.currentTarget));
  for (const event of [EV.SESSION_OPENED, EV.SESSION_META, EV.SESSION_RELOADED, EV.RUNTIMES]) on(event, updateChip);
}

export async function loadRuntimes() {
  try {
    state.runtimes = (await get('/api/runtimes')).runtimes || [];
  } catch {
    state.runtimes = state.runtimes || [];
  }
  emit(EV.RUNTIMES, state.runtimes);
  return state.runtimes;
}

function runtimeLabel(name) {
  return !name || name === BUILTIN ? 'Built-in agent' : name;
}

/** The chip shows the session's runtime; the model chip only matters for the built-in one. */
function updateChip() {
  const runtime = state.session?.runtime || BUILTIN;
  const agents = (state.runtimes || []).filter((r) => r.name !== BUILTIN);
  const chip = $('#runtime-picker');
  chip.hidden = !agents.length && runtime === BUILTIN;
  $('#runtime-label').textContent = runtimeLabel(runtime);
  chip.title = `Runs on: ${runtimeLabel(runtime)}`;
  $('#model-picker').hidden = runtime !== BUILTIN;
}

function openRuntimePicker(anchor) {
  const current = state.session?.runtime || BUILTIN;
  const items = [{ heading: 'Runs on' }];
  for (const r of state.runtimes || []) {
    items.push({
      label: runtimeLabel(r.name), checked: r.name === current, disabled: !r.available,
      hint: r.available ? (r.kind === 'acp' ? 'ACP' : '') : 'unavailable',
      onSelect: () => chooseRuntime(r.name),
    });
  }
  items.push('separator', { label: 'Manage agents…', icon: 'settings', onSelect: () => emit(EV.OPEN_SETTINGS, 'agents') });
  openMenu(anchor, items, { minWidth: 240 }).setAttribute('aria-label', 'Runtimes');
}

export async function chooseRuntime(name) {
  const id = currentId();
  if (!id) return;
  try {
    const data = await post('/api/session/update', { session_id: id, runtime: name });
    patchSession({ runtime: data.session?.runtime || name });
  } catch (err) {
    showError(err, 'Could not change the runtime');
  }
}

// ---- Settings › Agents ----------------------------------------------------------------------

/** The panel's content; it loads the list itself. */
export function agentsPanel() {
  const box = h('div.agents-settings', null, h('p.muted', { text: 'Loading…' }));
  renderAgents(box);
  return box;
}

async function renderAgents(box) {
  const runtimes = await loadRuntimes();
  const agents = runtimes.filter((r) => r.kind === 'acp');
  const list = h('div.provider-list', { 'aria-label': 'Agents' }, agents.length
    ? agents.map((a) => agentRow(a, box))
    : h('p.muted', { text: 'No agent yet: sessions run on the built-in agent.' }));
  const warning = h('p.field-help', {
    text: 'An agent is a program that speaks the Agent Client Protocol (Hermes Agent, Claude Code, Gemini CLI, '
      + 'Codex…). It runs on this server with the server’s privileges, in the session’s workspace.',
  });
  box._form = h('div.agent-form-wrap');
  box.replaceChildren(warning, list, box._form);
  showForm(box, null);
}

/** The form below the list: a new agent, or ``editing`` one. */
function showForm(box, editing) {
  box._form.replaceChildren(h('h3.section-title', { text: editing ? `Edit ${editing.name}` : 'Add an agent' }),
    agentForm(editing, () => renderAgents(box)));
}

function agentRow(a, box) {
  const result = h('div.test-result', { role: 'status' });
  const test = h('button.btn.btn-sm', { type: 'button', text: 'Test', onclick: () => testAgent(a.name, test, result) });
  const edit = h('button.btn.btn-sm', { type: 'button', text: 'Edit', onclick: () => { showForm(box, a); box._form.querySelector('input, textarea')?.focus(); } });
  const del = h('button.btn.btn-sm.btn-danger-ghost', {
    type: 'button', text: 'Delete', 'aria-label': `Delete ${a.name}`,
    onclick: async () => {
      if (!await confirmDialog({ title: `Delete ${a.name}?`, message: 'Sessions on it will need another runtime.', confirmLabel: 'Delete', danger: true })) return;
      try {
        await post('/api/runtimes/delete', { name: a.name });
        toast(`${a.name} deleted.`);
      } catch (err) { showError(err, 'Could not delete the agent'); }
      renderAgents(box);
    },
  });
  const env = Object.keys(a.env || {});
  return h('div.provider.agent', { dataset: { name: a.name } },
    h('div.provider-main', null,
      h('div.provider-name', null, h('span', { text: a.name }), h('span.tag', { text: 'ACP' }),
        a.available ? null : h('span.tag.tag-error', { title: a.error || '', text: 'Unavailable' })),
      h('div.provider-meta', { text: [a.command, ...(a.args || [])].join(' ') }),
      env.length ? h('div.provider-meta', { text: `env: ${env.join(', ')}` }) : null,
      a.error ? h('div.field-error', { text: a.error }) : null,
      result),
    h('div.row-gap', null, test, edit, del));
}

async function testAgent(name, button, result) {
  button.disabled = true;
  result.className = 'test-result';
  result.textContent = 'Starting the agent…';
  try {
    const r = await post('/api/runtimes/test', { name });
    if (r.ok) {
      const who = r.agent ? [r.agent.title || r.agent.name, r.agent.version].filter(Boolean).join(' ') : name;
      result.className = 'test-result ok';
      result.replaceChildren(icon('check', { size: 14 }), h('span', { text: `${who} answered (ACP ${r.protocol_version}${r.load_session ? ', resumes sessions' : ''})` }));
    } else {
      result.className = 'test-result error';
      result.replaceChildren(icon('alert', { size: 14 }), h('span', { text: [r.error, r.hint].filter(Boolean).join(' ') }));
    }
  } catch (err) {
    result.className = 'test-result error';
    result.textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

/** Name, command, arguments (one per line) and environment (NAME=value per line; masked values keep theirs). */
function agentForm(preset, onSaved) {
  const name = h('input.input', { type: 'text', value: preset?.name || '', placeholder: 'hermes', 'aria-label': 'Agent name', readonly: preset ? true : null });
  const command = h('input.input.mono', { type: 'text', value: preset?.command || '', placeholder: '/opt/hermes/bin/hermes-acp', 'aria-label': 'Command', spellcheck: 'false' });
  const args = h('textarea.input.mono', { rows: 2, 'aria-label': 'Arguments', spellcheck: 'false', placeholder: '--acp' });
  args.value = (preset?.args || []).join('\n');
  const env = h('textarea.input.mono', { rows: 3, 'aria-label': 'Environment', spellcheck: 'false', placeholder: 'HERMES_HOME=/home/me/.hermes\nHERMES_DISABLE_LAZY_INSTALLS=1' });
  env.value = Object.entries(preset?.env || {}).map(([k, v]) => `${k}=${v}`).join('\n');
  const error = h('p.field-error', { role: 'alert' });
  const save = h('button.btn.btn-primary', { type: 'button', text: preset ? 'Save agent' : 'Add agent', onclick: async () => {
    error.textContent = '';
    const variables = {};
    for (const line of env.value.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const at = line.indexOf('=');
      if (at < 1) { error.textContent = `Write each variable as NAME=value: ${line}`; return; }
      variables[line.slice(0, at).trim()] = line.slice(at + 1);
    }
    save.disabled = true;
    try {
      await post('/api/runtimes', {
        name: name.value.trim(), command: command.value.trim(),
        args: args.value.split('\n').map((l) => l.trim()).filter(Boolean), env: variables,
      });
      toast(`${name.value.trim()} saved.`, { kind: 'success' });
      onSaved();
    } catch (err) {
      error.textContent = err.message;
    } finally {
      save.disabled = false;
    }
  } });
  return h('div.provider-form.agent-form', null,
    field('Name', name, 'Shown in the composer’s runtime menu.'),
    field('Command', command, 'A program on the server: an absolute path, or a name on its PATH.'),
    field('Arguments', args, 'One per line.'),
    field('Environment', env, 'NAME=value per line (API keys go here). Stored on this server, shown masked; a masked value keeps the stored one.'),
    h('div.row-gap', null, save, preset ? h('button.btn', { type: 'button', text: 'Cancel', onclick: onSaved }) : null), error);
}
