// Instructions: the Settings panel (the global system prompt and the personas: a prompt with a
// model, temperature, max tokens, reasoning effort and tools), the open chat's instructions and
// persona, and its effective prompt (what the next run sends, GET /api/session/prompt).
import { get, post } from './api.js';
import { state, setPersonas } from './state.js';
import { EV, on } from './events.js';
import { h, $ } from './dom.js';
import { modal, confirmDialog, toast, showError } from './dialogs.js';
import { field, selectEl } from './forms.js';
import { catalog } from './models.js';
import { patchSession } from './session.js';

const EFFORTS = [['', 'Model default'], ['minimal', 'Minimal'], ['low', 'Low'], ['medium', 'Medium'], ['high', 'High']];
const NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/; // the server's rule (sessions/personas.py), checked first
const SECTION_TITLES = {
  base: 'Base prompt', system_prompt: 'System prompt (Settings)', persona: 'Persona', project: 'Project instructions',
  session: 'Chat instructions', memory: 'Memory', skills: 'Skills',
};

export function initPersonas() {
  $('#prompt-open').addEventListener('click', () => openEffectivePrompt());
  on(EV.SESSION_OPENED, renderChip);
  on(EV.SESSION_RELOADED, renderChip);
  on(EV.SESSION_META, renderChip);
  on(EV.SESSION_REUSED, renderChip);
  on(EV.PERSONAS, renderChip);
}

export async function loadPersonas() {
  try {
    const data = await get('/api/personalities');
    setPersonas(data.personalities || [], data.available_tools || []);
  } catch (err) {
    showError(err, 'Could not load the personas');
  }
}

/** The persona of the open chat, beside its title. */
function renderChip() {
  const chip = $('#persona-chip');
  const name = state.session?.persona;
  chip.hidden = !name;
  chip.textContent = name || '';
  const known = state.personas.find((p) => p.name === name);
  chip.title = name ? `Persona: ${name}${known?.description ? ` · ${known.description}` : ''}` : '';
}

// ---- Settings panel ---------------------------------------------------------------------------

/** The Instructions panel of Settings: the global system prompt, then the personas. */
export function instructionsPanel() {
  const prompt = h('textarea.input', { id: 'system-prompt', rows: 5, 'aria-label': 'System prompt',
    placeholder: 'Instructions for every chat, e.g. “Answer in British English.”' });
  prompt.value = state.settings.system_prompt || '';
  const saved = h('span.muted', { role: 'status' });
  const save = h('button.btn', { type: 'button', id: 'system-prompt-save', text: 'Save', onclick: async () => {
    try {
      const data = await post('/api/settings', { system_prompt: prompt.value.trim() ? prompt.value : null });
      state.settings = { ...state.settings, system_prompt: data.system_prompt };
      saved.textContent = 'Saved.';
    } catch (err) {
      showError(err, 'Could not save the system prompt');
    }
  } });
  const list = h('div.persona-list', { 'aria-live': 'polite' }, h('p.muted', { text: 'Loading…' }));
  const formSlot = h('div.persona-form-slot');
  const view = { list, formSlot };
  view.refresh = () => loadPersonas();
  const off = on(EV.PERSONAS, () => { if (list.isConnected) renderPersonaList(view); else off(); });
  view.showForm = (persona = null) => showPersonaForm(view, persona);
  view.refresh();
  return h('div.instructions-settings', null,
    field('System prompt', h('div.stack', null, prompt, h('div.row-gap', null, save, saved)),
      'Sent to the model in every chat, after the base prompt and before the persona, project and chat instructions.'),
    h('h3.settings-subhead', { text: 'Personas' }),
    h('p.field-help', { text: 'A persona is a prompt with its own model, parameters and tools. Choose one per chat from its menu.' }),
    list,
    h('button.btn', { type: 'button', id: 'persona-add', text: 'Add persona', onclick: () => view.showForm() }),
    formSlot);
}

function renderPersonaList(view) {
  const rows = state.personas.map((p) => h('div.persona-row', { dataset: { persona: p.name } },
    h('div.persona-main', null,
      h('div.persona-name', { text: p.name }),
      h('div.persona-meta', { text: summary(p) })),
    h('div.persona-actions', null,
      h('button.btn.btn-sm', { type: 'button', text: 'Edit', 'aria-label': `Edit ${p.name}`, onclick: () => view.showForm(p) }),
      h('button.btn.btn-sm.btn-danger-ghost', { type: 'button', text: 'Delete', 'aria-label': `Delete ${p.name}`, onclick: async () => {
        if (!await confirmDialog({ title: `Delete “${p.name}”?`, message: 'Chats that use it go on without it.', confirmLabel: 'Delete', danger: true })) return;
        try {
          await post('/api/personalities/delete', { name: p.name });
          await view.refresh();
        } catch (err) {
          showError(err, 'Could not delete the persona');
        }
      } }))));
  view.list.replaceChildren(...(rows.length ? rows : [h('p.muted', { text: 'No persona yet.' })]));
}

function summary(p) {
  const parts = [p.description || p.prompt.slice(0, 80) || 'No prompt'];
  if (p.model) parts.push(p.model);
  if (p.temperature !== null) parts.push(`temperature ${p.temperature}`);
  if (p.max_tokens !== null) parts.push(`${p.max_tokens} max tokens`);
  if (p.reasoning_effort) parts.push(`${p.reasoning_effort} effort`);
  parts.push(p.tools === null ? 'all tools' : `${p.tools.length} tool${p.tools.length === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

function showPersonaForm(view, persona) {
  const p = persona || { name: '', description: '', prompt: '', model: null, temperature: null, max_tokens: null, reasoning_effort: null, tools: null };
  const name = h('input.input', { type: 'text', value: p.name, 'aria-label': 'Persona name', maxlength: 64, readonly: persona ? true : null });
  const description = h('input.input', { type: 'text', value: p.description, 'aria-label': 'Description', maxlength: 500 });
  const prompt = h('textarea.input', { rows: 5, 'aria-label': 'Persona prompt' });
  prompt.value = p.prompt;
  let model = p.model || '';
  const models = [['', 'The chat’s model'], ...catalog().map((m) => [m.ref, m.ref])];
  if (model && !models.some(([v]) => v === model)) models.push([model, model]);
  const temperature = h('input.input', { type: 'number', min: 0, max: 2, step: 0.1, value: p.temperature ?? '', 'aria-label': 'Temperature', placeholder: 'Default' });
  const maxTokens = h('input.input', { type: 'number', min: 1, step: 1, value: p.max_tokens ?? '', 'aria-label': 'Max tokens', placeholder: 'Default' });
  let effort = p.reasoning_effort || '';
  const allTools = h('input', { type: 'checkbox', checked: p.tools === null || null, 'aria-label': 'All tools' });
  const boxes = state.tools.map((t) => h('label.persona-tool', null,
    h('input', { type: 'checkbox', value: t, checked: p.tools === null || p.tools.includes(t) || null }), h('span', { text: t })));
  const toolList = h('div.persona-tools', { hidden: p.tools === null || null }, ...boxes);
  allTools.addEventListener('change', () => { toolList.hidden = allTools.checked; });
  const error = h('p.field-error', { role: 'alert' });
  const submit = async () => {
    const body = {
      name: name.value.trim(), description: description.value, prompt: prompt.value, model: model || null,
      temperature: temperature.value === '' ? null : Number(temperature.value),
      max_tokens: maxTokens.value === '' ? null : Number(maxTokens.value),
      reasoning_effort: effort || null,
      tools: allTools.checked ? null : boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
    };
    if (!NAME.test(body.name)) { error.textContent = 'Name it with letters, digits, spaces, “.”, “_” or “-”.'; return; }
    try {
      await post('/api/personalities', body);
      view.formSlot.replaceChildren();
      toast(`Saved ${body.name}.`);
      await view.refresh();
    } catch (err) {
      error.textContent = err.message;
    }
  };
  view.formSlot.replaceChildren(h('form.persona-form', { onsubmit: (e) => { e.preventDefault(); submit(); } },
    h('h4', { text: persona ? `Edit ${persona.name}` : 'New persona' }),
    field('Name', name), field('Description', description), field('Prompt', prompt),
    field('Model', selectEl('Persona model', models, model, (v) => { model = v; }), 'Choosing the persona makes this the chat’s model.'),
    h('div.persona-params', null, field('Temperature', temperature), field('Max tokens', maxTokens),
      field('Reasoning effort', selectEl('Reasoning effort', EFFORTS, effort, (v) => { effort = v; }))),
    field('Tools', h('div.stack', null, h('label.persona-tool', null, allTools, h('span', { text: 'All tools' })), toolList)),
    error,
    h('div.row-gap', null,
      h('button.btn.btn-primary', { type: 'submit', text: 'Save persona' }),
      h('button.btn', { type: 'button', text: 'Cancel', onclick: () => view.formSlot.replaceChildren() }))));
  (persona ? description : name).focus();
}

// ---- the open chat --------------------------------------------------------------------------

/** The open chat's instructions and persona. */
export async function openChatInstructions() {
  const s = state.session;
  if (!s) return;
  await loadPersonas();
  const text = h('textarea.input', { id: 'session-instructions', rows: 6, 'aria-label': 'Chat instructions',
    placeholder: 'Instructions for this chat only' });
  text.value = s.instructions || '';
  let persona = s.persona || '';
  const options = [['', 'No persona'], ...state.personas.map((p) => [p.name, p.name])];
  if (persona && !options.some(([v]) => v === persona)) options.push([persona, `${persona} (deleted)`]);
  const error = h('p.field-error', { role: 'alert' });
  const save = h('button.btn.btn-primary', { type: 'button', text: 'Save', onclick: async () => {
    try {
      const data = await post('/api/session/update', { session_id: s.session_id, instructions: text.value, persona });
      const fresh = data.session;
      patchSession({ instructions: fresh.instructions, persona: fresh.persona, personality: fresh.personality, model: fresh.model });
      m.close();
    } catch (err) {
      error.textContent = err.message;
    }
  } });
  const m = modal({
    title: 'Chat instructions',
    description: 'Sent with every message of this chat, after the persona and the project’s instructions.',
    body: h('div.stack', null,
      field('Persona', selectEl('Persona', options, persona, (v) => { persona = v; })),
      field('Instructions', text), error),
    footer: [h('button.btn', { type: 'button', text: 'Cancel', onclick: () => m.close() }), save],
  });
  text.focus();
}

/** What the open chat's next run sends: the system text, section by section, and the parameters. */
export async function openEffectivePrompt() {
  const s = state.session;
  if (!s) return;
  let data;
  try {
    data = await get('/api/session/prompt', { session_id: s.session_id });
  } catch (err) {
    showError(err, 'Could not read the effective prompt');
    return;
  }
  const params = data.parameters;
  const facts = [
    ['Model', data.model || data.model_error || 'none'],
    ['Persona', data.persona || (data.persona_missing ? `${s.persona} (deleted: left out)` : 'none')],
    ['Temperature', params.temperature ?? 'model default'],
    ['Max tokens', params.max_tokens ?? 'model default'],
    ['Reasoning effort', params.reasoning_effort || 'model default'],
    ['Sent to the provider', data.request ? (JSON.stringify(data.request) === '{}' ? 'no parameters' : JSON.stringify(data.request)) : 'the agent’s own'],
    ['Tools', data.tools === null ? 'the agent’s own' : (data.tools.join(', ') || 'none')],
  ];
  const sections = data.sections.map((sec) => h('details.prompt-section', { open: sec.name !== 'base' && sec.name !== 'skills' || null, dataset: { section: sec.name } },
    h('summary', { text: SECTION_TITLES[sec.name] || sec.name }), h('pre.prompt-text', { text: sec.text })));
  const copy = h('button.btn', { type: 'button', text: 'Copy system prompt', onclick: async () => {
    try { await navigator.clipboard.writeText(data.system); toast('Copied.'); } catch { toast('Could not copy.', { kind: 'error' }); }
  } });
  const m = modal({
    title: 'Effective prompt', wide: true, className: 'modal-prompt',
    description: 'What the next message of this chat sends before the conversation, in this order.',
    body: h('div.stack', null,
      data.note ? h('p.field-help', { text: data.note }) : null,
      h('dl.prompt-facts', null, ...facts.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: String(v) })])),
      ...sections,
      h('details.prompt-section', null, h('summary', { text: 'As sent (one text)' }), h('pre.prompt-text', { id: 'prompt-system', text: data.system }))),
    footer: [copy, h('button.btn.btn-primary', { type: 'button', text: 'Close', onclick: () => m.close() })],
  });
}

/** `/personality NAME` chooses a persona for the open chat (`none` clears it); without a name it
 * opens the chat's instructions. */
export async function choosePersona(arg) {
  const s = state.session;
  if (!s) return;
  if (!arg) { openChatInstructions(); return; }
  const name = arg.toLowerCase() === 'none' ? '' : arg;
  try {
    const data = await post('/api/personality/set', { session_id: s.session_id, name });
    const fresh = data.session;
    patchSession({ persona: fresh.persona, personality: fresh.personality, model: fresh.model });
    toast(name ? `Persona: ${data.personality}` : 'No persona.', { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not choose the persona');
  }
}
