// Settings (theme, send key, default model, display toggles, password, providers) and the
// first-run setup that connects a model provider. Settings live on the server (/api/settings).
import { get, post } from './api.js';
import { state, on, emit, local } from './state.js';
import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { modal, toast, showError } from './dialogs.js';
import { approvalsPanel } from './approvals.js';

const THEMES = [['light', 'Light', 'sun'], ['dark', 'Dark', 'moon'], ['system', 'System', 'monitor']];

export function initSettings() {
  $('#settings-open').addEventListener('click', () => openSettings());
  on('settings:open', (section) => openSettings(section));
  on('setup:open', () => openSetup());
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(state.settings.theme));
}

export async function loadSettings() {
  try {
    state.settings = await get('/api/settings');
  } catch {
    state.settings = state.settings || {};
  }
  applyTheme(state.settings.theme);
  emit('settings', state.settings);
}

export async function loadModels() {
  try {
    state.models = await get('/api/models');
  } catch {
    state.models = { providers: [], default_model: null };
  }
  emit('models', state.models);
  return state.models;
}

/** Applies a theme at once; the choice is cached locally so the next load starts right. */
export function applyTheme(theme) {
  const t = theme === 'light' || theme === 'dark' ? theme : 'system';
  if (t === 'system') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.dataset.theme = t;
  local.set('theme', t);
}

export function applyCachedTheme() {
  applyTheme(local.get('theme', 'system'));
}

async function saveSetting(patch) {
  try {
    const data = await post('/api/settings', patch);
    state.settings = { ...state.settings, ...patch, ...(data.settings || data) };
    delete state.settings._set_password;
    delete state.settings._clear_password;
    applyTheme(state.settings.theme);
    emit('settings', state.settings);
    return true;
  } catch (err) {
    showError(err, 'Could not save the setting');
    return false;
  }
}

// ---- settings dialog ------------------------------------------------------------------------

function openSettings(section = 'general') {
  const s = state.settings;
  const tabs = [['general', 'General'], ['providers', 'Providers'], ['approvals', 'Approvals'], ['security', 'Security']];
  const panels = {};
  const nav = h('div.tabs', { role: 'tablist', 'aria-label': 'Settings sections' });
  const content = h('div.tab-panels');
  const select = (key) => {
    for (const btn of nav.children) {
      const on2 = btn.dataset.tab === key;
      btn.setAttribute('aria-selected', String(on2));
      btn.tabIndex = on2 ? 0 : -1;
    }
    for (const [k, p] of Object.entries(panels)) p.hidden = k !== key;
  };
  for (const [key, label] of tabs) {
    nav.append(h('button.tab', { type: 'button', role: 'tab', id: `tab-${key}`, 'aria-controls': `panel-${key}`, dataset: { tab: key }, text: label, onclick: () => select(key) }));
  }
  nav.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const btns = [...nav.children];
    const i = btns.indexOf(document.activeElement);
    const next = btns[(i + (e.key === 'ArrowRight' ? 1 : -1) + btns.length) % btns.length];
    next.focus();
    next.click();
  });

  panels.general = h('div.tab-panel', { role: 'tabpanel', id: 'panel-general', 'aria-labelledby': 'tab-general' },
    field('Theme', segmented('theme', THEMES, s.theme || 'system', (v) => saveSetting({ theme: v }))),
    field('Send with', selectEl('send-key', [['enter', 'Enter (Shift+Enter for a new line)'], ['ctrl+enter', 'Ctrl/⌘+Enter (Enter for a new line)']], s.send_key || 'enter', (v) => saveSetting({ send_key: v }))),
    field('Default model', modelSelect(s.default_model, (v) => saveSetting({ default_model: v })), 'Used for new chats.'),
    toggle('Show thinking', 'Show the model’s reasoning above its answers.', s.show_thinking !== false, (v) => saveSetting({ show_thinking: v })),
    toggle('Show token usage', 'Show tokens used per reply and per chat.', !!s.show_token_usage, (v) => saveSetting({ show_token_usage: v })),
    h('p.settings-version', { text: `Threadline ${document.body.dataset.version || ''}`.trim() }));

  panels.providers = h('div.tab-panel', { role: 'tabpanel', id: 'panel-providers', 'aria-labelledby': 'tab-providers' }, h('p.muted', { text: 'Loading…' }));
  renderProviders(panels.providers);
  panels.approvals = h('div.tab-panel', { role: 'tabpanel', id: 'panel-approvals', 'aria-labelledby': 'tab-approvals' }, approvalsPanel());

  const pw = h('input.input', { type: 'password', autocomplete: 'new-password', placeholder: 'New password', 'aria-label': 'New password' });
  const pwMsg = h('p.field-help');
  panels.security = h('div.tab-panel', { role: 'tabpanel', id: 'panel-security', 'aria-labelledby': 'tab-security' },
    field('Password', h('div.row-gap', null, pw,
      h('button.btn', { type: 'button', text: 'Set password', onclick: async () => {
        if (pw.value.length < 8) { pwMsg.textContent = 'Use at least 8 characters.'; return; }
        if (await saveSetting({ _set_password: pw.value })) { pw.value = ''; pwMsg.textContent = 'Password set. Sign-in is now required.'; }
      } })),
    s.auth_enabled ? 'Sign-in is on.' : 'Sign-in is off: anyone who can reach this server can use it.'),
    pwMsg,
    s.auth_enabled ? h('button.btn.btn-danger-ghost', { type: 'button', text: 'Remove password', onclick: async () => {
      if (await saveSetting({ _clear_password: true })) pwMsg.textContent = 'Password removed.';
    } }) : null);

  content.append(...Object.values(panels));
  const m = modal({ title: 'Settings', body: h('div.settings', null, nav, content), wide: true, className: 'modal-settings' });
  select(section in panels ? section : 'general');
  m.dialog.querySelector('[aria-selected="true"]')?.focus();
}

function field(label, control, help) {
  return h('div.field', null, h('div.field-label', { text: label }), control, help ? h('p.field-help', { text: help }) : null);
}

function segmented(name, options, value, onChange) {
  const group = h('div.segmented', { role: 'radiogroup', 'aria-label': name });
  for (const [v, label, ic] of options) {
    group.append(h('button.seg', {
      type: 'button', role: 'radio', 'aria-checked': String(v === value), dataset: { value: v },
      onclick: (e) => {
        for (const b of group.children) b.setAttribute('aria-checked', String(b === e.currentTarget));
        onChange(v);
      },
    }, ic ? icon(ic, { size: 15 }) : null, h('span', { text: label })));
  }
  return group;
}

function selectEl(name, options, value, onChange) {
  const sel = h('select.input', { 'aria-label': name, onchange: (e) => onChange(e.target.value) });
  for (const [v, label] of options) sel.append(h('option', { value: v, text: label, selected: v === value || null }));
  return sel;
}

function modelSelect(value, onChange) {
  const options = [['', 'Provider default']];
  for (const p of state.models.providers || []) for (const m of p.models || []) {
    const id = typeof m === 'string' ? m : m.id;
    options.push([`${p.id}/${id}`, (state.models.providers.length > 1 ? `${p.id} · ` : '') + id]);
  }
  if (value && !options.some(([v]) => v === value)) options.push([value, value]);
  return selectEl('Default model', options, value || '', onChange);
}

function toggle(label, help, checked, onChange) {
  const id = `t-${label.replace(/\W+/g, '-').toLowerCase()}`;
  const input = h('input.switch', { type: 'checkbox', role: 'switch', id, checked: checked || null, onchange: (e) => onChange(e.target.checked) });
  return h('div.field.field-toggle', null, h('div', null, h('label.field-label', { for: id, text: label }), h('p.field-help', { text: help })), input);
}

// ---- providers ------------------------------------------------------------------------------

async function renderProviders(panel) {
  let providers = [];
  try {
    const data = await get('/api/providers');
    providers = data.providers || [];
  } catch (err) {
    panel.replaceChildren(h('p.field-error', { text: err.message }));
    return;
  }
  const status = new Map((state.models.providers || []).map((p) => [p.id, p]));
  const list = h('div.provider-list', null, providers.length ? providers.map((p) => {
    const st = status.get(p.id);
    return h('div.provider', null,
      h('div.provider-main', null,
        h('div.provider-name', null, h('span', { text: p.id }), h('span.tag', { text: p.kind })),
        h('div.provider-meta', { text: [p.base_url, p.api_key ? `key ${p.api_key}` : 'no key'].filter(Boolean).join(' · ') })),
      st?.error ? h('span.tag.tag-error', { title: st.error, text: 'Unavailable' }) : h('span.tag.tag-ok', { text: `${(st?.models || []).length} models` }));
  }) : h('p.muted', { text: 'No provider yet.' }));
  panel.replaceChildren(list, h('h3.section-title', { text: 'Add or update a provider' }), providerForm({ onSaved: () => renderProviders(panel) }));
}

/** The form shared by Settings and first-run setup: kind, base URL, key, Test, Save. */
function providerForm({ onSaved, preset = null }) {
  const kind = selectEl('Kind', [['openai', 'OpenAI-compatible'], ['anthropic', 'Anthropic']], preset?.kind || 'openai', () => sync());
  const id = h('input.input', { type: 'text', placeholder: 'openai', value: preset?.id || '', 'aria-label': 'Name' });
  const base = h('input.input.mono', { type: 'url', placeholder: 'https://api.openai.com/v1', value: preset?.base_url || '', 'aria-label': 'Base URL' });
  const key = h('input.input.mono', { type: 'password', placeholder: 'sk-…', autocomplete: 'off', 'aria-label': 'API key' });
  const result = h('div.test-result', { role: 'status' });
  const baseField = field('Base URL', base, 'Leave empty for api.openai.com. For Ollama: http://127.0.0.1:11434/v1');
  const sync = () => {
    const anth = kind.value === 'anthropic';
    baseField.hidden = anth;
    id.placeholder = anth ? 'anthropic' : 'openai';
  };
  sync();
  const body = () => {
    const b = { kind: kind.value, id: id.value.trim() || id.placeholder };
    if (base.value.trim() && kind.value !== 'anthropic') b.base_url = base.value.trim();
    if (key.value.trim()) b.api_key = key.value.trim();
    return b;
  };
  const test = h('button.btn', { type: 'button', text: 'Test connection', onclick: async () => {
    result.className = 'test-result';
    result.textContent = 'Testing…';
    test.disabled = true;
    try {
      const r = await post('/api/providers/test', body());
      if (r.ok) {
        result.className = 'test-result ok';
        result.replaceChildren(icon('check', { size: 14 }), h('span', { text: `Connected${r.models ? ` · ${r.models.length} models` : ''}` }));
      } else {
        result.className = 'test-result error';
        result.replaceChildren(icon('alert', { size: 14 }), h('span', { text: r.error || 'The provider did not answer.' }));
      }
    } catch (err) {
      result.className = 'test-result error';
      result.replaceChildren(icon('alert', { size: 14 }), h('span', { text: err.message }));
    } finally {
      test.disabled = false;
    }
  } });
  const save = h('button.btn.btn-primary', { type: 'button', text: 'Save provider', onclick: async () => {
    save.disabled = true;
    try {
      await post('/api/providers', body());
      await loadModels();
      toast('Provider saved.', { kind: 'success' });
      key.value = '';
      onSaved?.();
    } catch (err) {
      result.className = 'test-result error';
      result.textContent = err.message;
    } finally {
      save.disabled = false;
    }
  } });
  return h('div.provider-form', null,
    field('Kind', kind, 'OpenAI, OpenRouter, Ollama, vLLM, LM Studio, llama.cpp… speak the OpenAI API.'), field('Name', id, 'A short label, shown in the model picker.'), baseField,
    field('API key', key, 'Stored on this server. Local servers such as Ollama need none.'),
    h('div.row-gap', null, test, save, result));
}

// ---- first run ------------------------------------------------------------------------------

export async function maybeFirstRun() {
  if ((state.models.providers || []).length) return;
  if (local.get('setup_dismissed', false)) return;
  openSetup();
}

async function openSetup() {
  const ollama = h('div.detect', null, h('span.spinner'), h('span', { text: 'Looking for Ollama on this machine…' }));
  let m;
  const form = providerForm({ onSaved: () => { m.close(); local.set('setup_dismissed', true); emit('models', state.models); } });
  const body = h('div.setup', null,
    h('div.setup-hero', null, h('div.empty-mark', null, icon('logo', { size: 28 })),
      h('p', { text: 'Threadline talks to models through a provider. Connect one to start chatting: any OpenAI-compatible server (OpenAI, OpenRouter, Ollama, vLLM, LM Studio…) or Anthropic.' })),
    ollama, form);
  m = modal({
    title: 'Connect a model provider', body, className: 'modal-setup',
    footer: [h('button.btn', { type: 'button', text: 'Later', onclick: () => { local.set('setup_dismissed', true); m.close(); } })],
  });
  try {
    const r = await post('/api/providers/test', { kind: 'openai', base_url: 'http://127.0.0.1:11434/v1', api_key: '' });
    if (r.ok) {
      ollama.className = 'detect found';
      ollama.replaceChildren(icon('check', { size: 16 }), h('span', { text: `Ollama is running here${r.models?.length ? ` with ${r.models.length} model${r.models.length === 1 ? '' : 's'}` : ''}.` }),
        h('button.btn.btn-sm.btn-primary', { type: 'button', text: 'Use Ollama', onclick: async () => {
          try {
            await post('/api/providers', { id: 'ollama', kind: 'openai', base_url: 'http://127.0.0.1:11434/v1' });
            await loadModels();
            m.close();
            toast('Connected to Ollama.', { kind: 'success' });
          } catch (err) { showError(err); }
        } }));
    } else {
      ollama.remove();
    }
  } catch {
    ollama.remove();
  }
}
