// Model providers: the list in Settings (each with the state of its model list, Edit and Delete),
// the form that adds or edits one (kind, base URL, key, Test, Save), and the first-run setup.
import { get, post } from './api.js';
import { state } from './state.js';
import { EV, emit } from './events.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import { modal, confirmDialog, toast, showError } from './dialogs.js';
import { field, selectEl } from './forms.js';
import { loadModels } from './models.js';

/** Fills the Providers panel: the list, read fresh with each provider's model status, then the form. */
export async function renderProviders(panel) {
  let providers = [];
  try {
    [providers] = await Promise.all([get('/api/providers').then((data) => data.providers || []), loadModels()]);
  } catch (err) {
    panel.replaceChildren(h('p.field-error', { text: err.message }));
    return;
  }
  const status = new Map((state.models.providers || []).map((p) => [p.id, p]));
  const catalogError = state.models.error ? `the model list could not be read: ${state.models.error}` : null;
  const formSlot = h('div.provider-form-slot');
  const showForm = (preset = null) => {
    formSlot.replaceChildren(
      h('h3.section-title', { text: preset ? `Edit provider “${preset.id}”` : 'Add a provider' }),
      providerForm({ preset, onSaved: () => renderProviders(panel), onCancel: preset ? () => showForm() : null }));
    if (preset) formSlot.querySelector('input:not([disabled])')?.focus();
  };
  const rows = providers.map((p) => providerRow(p, status.get(p.id), catalogError, {
    onEdit: () => showForm(p),
    onDelete: () => deleteProvider(p, () => renderProviders(panel)),
  }));
  panel.replaceChildren(h('div.provider-list', null, rows.length ? rows : h('p.muted', { text: 'No provider yet.' })), formSlot);
  showForm();
}

/** A provider's model list as a badge: its error, no models, or how many. */
function modelStatus(st, catalogError) {
  const error = st?.error || (!st ? catalogError || 'not in the model list' : null);
  if (error) return { badge: h('span.tag.tag-error', { title: error, text: 'Unavailable' }), error };
  const count = (st.models || []).length;
  if (!count) return { badge: h('span.tag.tag-warn', { title: 'The provider listed no models', text: 'No models' }), error: null };
  return { badge: h('span.tag.tag-ok', { text: `${count} model${count === 1 ? '' : 's'}` }), error: null };
}

function providerRow(p, st, catalogError, { onEdit, onDelete }) {
  const { badge, error } = modelStatus(st, catalogError);
  const fromEnv = p.source === 'env';
  return h(`div.provider${error ? '.provider-error' : ''}`, { dataset: { provider: p.id } },
    h('div.provider-main', null,
      h('div.provider-name', null, h('span', { text: p.id }), h('span.tag', { text: p.kind }), badge),
      h('div.provider-meta', { text: [p.base_url, p.api_key ? `key ${p.api_key}` : 'no key'].filter(Boolean).join(' · ') }),
      error ? h('p.provider-problem', { role: 'status' }, icon('alert', { size: 14 }), h('span', { text: error })) : null),
    h('div.provider-actions', null,
      h('button.btn.btn-sm', { type: 'button', text: 'Edit', 'aria-label': `Edit ${p.id}`, onclick: onEdit }),
      h('button.btn.btn-sm.btn-danger-ghost', {
        type: 'button', text: 'Delete', 'aria-label': `Delete ${p.id}`, disabled: fromEnv || null,
        title: fromEnv ? 'Set by environment variables on the server: unset them to remove it' : null,
        onclick: onDelete,
      })));
}

async function deleteProvider(p, onDone) {
  const ok = await confirmDialog({
    title: `Delete provider “${p.id}”?`,
    message: 'Its models disappear from the model menu. Chats that use them keep their messages.',
    confirmLabel: 'Delete provider', danger: true,
  });
  if (!ok) return;
  try {
    await post('/api/providers/delete', { id: p.id });
    toast('Provider deleted.', { kind: 'success' });
    onDone();
  } catch (err) {
    showError(err, 'Could not delete the provider');
  }
}

/**
 * The form shared by Settings and first-run setup. With `preset` (a provider from /api/providers)
 * it edits that provider: the name is fixed, an empty key keeps the stored one, and the fields the
 * form does not show (a fixed model list, a default model) are kept by the server.
 */
function providerForm({ onSaved, onCancel = null, preset = null, saveUrl = '/api/providers' }) {
  const kind = selectEl('Kind', [['openai', 'OpenAI-compatible'], ['anthropic', 'Anthropic']], preset?.kind || 'openai', () => sync());
  const id = h('input.input', { type: 'text', placeholder: 'openai', value: preset?.id || '', 'aria-label': 'Name', disabled: preset ? true : null });
  const base = h('input.input.mono', { type: 'url', placeholder: 'https://api.openai.com/v1', value: preset?.base_url || '', 'aria-label': 'Base URL' });
  const key = h('input.input.mono', { type: 'password', placeholder: preset?.has_key ? 'Leave empty to keep the stored key' : 'sk-…', autocomplete: 'off', 'aria-label': 'API key' });
  const result = h('div.test-result', { role: 'status' });
  const baseField = field('Base URL', base, 'Leave empty for api.openai.com. For Ollama: http://127.0.0.1:11434/v1');
  const sync = () => {
    const anth = kind.value === 'anthropic';
    baseField.hidden = anth;
    id.placeholder = anth ? 'anthropic' : 'openai';
  };
  sync();
  const body = () => {
    // Fields left out keep their stored values (a fixed model list, a default model); an empty
    // base URL clears it.
    const b = { kind: kind.value, id: id.value.trim() || id.placeholder };
    if (kind.value !== 'anthropic') b.base_url = base.value.trim();
    else if (preset && preset.kind !== 'anthropic') b.base_url = '';
    if (key.value.trim()) b.api_key = key.value.trim();
    return b;
  };
  const showResult = (kindName, text, ic) => {
    result.className = `test-result ${kindName}`;
    result.replaceChildren(ic ? icon(ic, { size: 14 }) : '', h('span', { text }));
  };
  const test = h('button.btn', { type: 'button', text: 'Test connection', onclick: async () => {
    showResult('', 'Testing…');
    test.disabled = true;
    try {
      const r = await post('/api/providers/test', body());
      if (r.ok) showResult('ok', `Connected${r.models ? ` · ${r.models.length} models` : ''}`, 'check');
      else showResult('error', r.error || 'The provider did not answer.', 'alert');
    } catch (err) {
      showResult('error', err.message, 'alert');
    } finally {
      test.disabled = false;
    }
  } });
  const save = h('button.btn.btn-primary', { type: 'button', text: preset ? 'Save changes' : 'Save provider', onclick: async () => {
    save.disabled = true;
    try {
      await post(saveUrl, body());
      await loadModels();
      toast('Provider saved.', { kind: 'success' });
      key.value = '';
      onSaved?.();
    } catch (err) {
      showResult('error', err.message, 'alert');
    } finally {
      save.disabled = false;
    }
  } });
  return h('div.provider-form', null,
    field('Kind', kind, 'OpenAI, OpenRouter, Ollama, vLLM, LM Studio, llama.cpp… speak the OpenAI API.'),
    field('Name', id, preset ? 'The name cannot change; delete the provider and add it again to rename it.' : 'A short label, shown in the model picker.'),
    baseField,
    field('API key', key, 'Stored on this server. Local servers such as Ollama need none.'),
    h('div.row-gap', null, test, save, onCancel ? h('button.btn', { type: 'button', text: 'Cancel', onclick: onCancel }) : null, result));
}

// ---- first run ------------------------------------------------------------------------------

/** Offers the setup dialog while the server has no provider and nobody finished or dismissed it
 * (GET /api/onboarding/status: kept on the server, so it is asked once, not once per browser). */
export async function maybeFirstRun() {
  if ((state.models.providers || []).length || state.models.error) return;
  let status;
  try {
    status = await get('/api/onboarding/status');
  } catch {
    return;
  }
  if (!status.completed && status.needs_setup) openSetup({ allowed: status.setup_allowed });
}

function completeOnboarding() {
  post('/api/onboarding/complete').catch((err) => console.warn('could not record the end of setup', err));
}

export async function openSetup({ allowed = true } = {}) {
  const ollama = h('div.detect', null, h('span.spinner'), h('span', { text: 'Looking for Ollama on this machine…' }));
  let m;
  const done = () => { completeOnboarding(); m.close(); emit(EV.MODELS, state.models); };
  const form = providerForm({ onSaved: done, saveUrl: '/api/onboarding/setup' });
  const body = h('div.setup', null,
    h('div.setup-hero', null, h('div.empty-mark', null, icon('logo', { size: 28 })),
      h('p', { text: 'Threadline talks to models through a provider. Connect one to start chatting: any OpenAI-compatible server (OpenAI, OpenRouter, Ollama, vLLM, LM Studio…) or Anthropic.' })),
    allowed ? null : h('p.field-error', { text: 'Setup is allowed only from this machine or a private network. Set a password and sign in, or set THREADLINE_ONBOARDING_OPEN.' }),
    ollama, form);
  m = modal({
    title: 'Connect a model provider', body, className: 'modal-setup',
    footer: [h('button.btn', { type: 'button', text: 'Later', onclick: () => { completeOnboarding(); m.close(); } })],
  });
  try {
    const r = await post('/api/providers/test', { kind: 'openai', base_url: 'http://127.0.0.1:11434/v1', api_key: '' });
    if (!r.ok) { ollama.remove(); return; }
    ollama.className = 'detect found';
    ollama.replaceChildren(icon('check', { size: 16 }), h('span', { text: `Ollama is running here${r.models?.length ? ` with ${r.models.length} model${r.models.length === 1 ? '' : 's'}` : ''}.` }),
      h('button.btn.btn-sm.btn-primary', { type: 'button', text: 'Use Ollama', onclick: async () => {
        try {
          await post('/api/onboarding/setup', { id: 'ollama', kind: 'openai', base_url: 'http://127.0.0.1:11434/v1' });
          await loadModels();
          done();
          toast('Connected to Ollama.', { kind: 'success' });
        } catch (err) { showError(err); }
      } }));
  } catch {
    ollama.remove();
  }
}
