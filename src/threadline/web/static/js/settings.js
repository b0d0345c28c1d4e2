// Settings: the dialog (theme, send key, default and title models, display toggles, password, the
// panels of instructions and personas, saved workspaces, providers, MCP servers, web tools and approvals)
// and the preferences behind it, which live on the server (/api/settings).
import { get, post } from './api.js';
import { state, local } from './state.js';
import { EV, on, emit } from './events.js';
import { h, $ } from './dom.js';
import { modal, showError } from './dialogs.js';
import { field, segmented, selectEl, toggle } from './forms.js';
import { catalog } from './models.js';
import { openSetup, renderProviders } from './providers.js';
import { approvalsPanel } from './approvals.js';
import { mcpPanel } from './mcp.js';
import { agentsPanel } from './runtimes.js';
import { webToolsPanel } from './web-tools.js';
import { instructionsPanel } from './personas.js';
import { workspacesPanel } from './workspaces.js';
import { modelLimitsPanel } from './model-limits.js';

const THEMES = [['light', 'Light', 'sun'], ['dark', 'Dark', 'moon'], ['system', 'System', 'monitor']];

export function initSettings() {
  $('#settings-open').addEventListener('click', () => openSettings());
  on(EV.OPEN_SETTINGS, (section) => openSettings(section));
  on(EV.OPEN_SETUP, () => openSetup());
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(state.settings.theme));
}

export async function loadSettings() {
  try {
    state.settings = await get('/api/settings');
  } catch {
    state.settings = state.settings || {};
  }
  applyTheme(state.settings.theme);
  emit(EV.SETTINGS, state.settings);
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
    emit(EV.SETTINGS, state.settings);
    return true;
  } catch (err) {
    showError(err, 'Could not save the setting');
    return false;
  }
}

// ---- settings dialog ------------------------------------------------------------------------

function openSettings(section = 'general') {
  const s = state.settings;
  const tabs = [['general', 'General'], ['instructions', 'Instructions'], ['workspaces', 'Workspaces'], ['providers', 'Providers'], ['agents', 'Agents'], ['mcp', 'MCP servers'], ['web', 'Web'], ['approvals', 'Approvals'], ['security', 'Security']];
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
    field('Send with', selectEl('send-key', [['enter', 'Enter (Shift+Enter for a new line)'], ['ctrl+enter', 'Ctrl/⌘+Enter (Enter for a new line)'], ['shift+enter', 'Shift+Enter (Enter for a new line)']], s.send_key || 'enter', (v) => saveSetting({ send_key: v }))),
    field('Default model', modelSelect('Default model', s.default_model, 'Provider default', (v) => saveSetting({ default_model: v || null })), 'Used for new chats.'),
    field('Model for titles', modelSelect('Model for titles', s.title_model, 'The chat’s own model', (v) => saveSetting({ title_model: v || null })),
      'Writes each new chat’s title after its first answer; a small, cheap model is enough.'),
    toggle('Show thinking', 'Show the model’s reasoning above its answers.', s.show_thinking !== false, (v) => saveSetting({ show_thinking: v })),
    toggle('Show token usage', 'Show tokens used per reply and per chat.', !!s.show_token_usage, (v) => saveSetting({ show_token_usage: v })),
    field('Model limits', modelLimitsPanel(() => state.settings, saveSetting),
      'The context window (when the history outgrows it, the oldest messages are summarised) and whether a model sees images. Unset: what the provider or the built-in table says.'),
    h('p.settings-version', { text: `Threadline ${document.body.dataset.version || ''}`.trim() }));

  panels.workspaces = h('div.tab-panel', { role: 'tabpanel', id: 'panel-workspaces', 'aria-labelledby': 'tab-workspaces' }, workspacesPanel());
  panels.providers = h('div.tab-panel', { role: 'tabpanel', id: 'panel-providers', 'aria-labelledby': 'tab-providers' }, h('p.muted', { text: 'Loading…' }));
  renderProviders(panels.providers);
  panels.instructions = h('div.tab-panel', { role: 'tabpanel', id: 'panel-instructions', 'aria-labelledby': 'tab-instructions' }, instructionsPanel());
  panels.agents = h('div.tab-panel', { role: 'tabpanel', id: 'panel-agents', 'aria-labelledby': 'tab-agents' }, agentsPanel());
  panels.mcp = h('div.tab-panel', { role: 'tabpanel', id: 'panel-mcp', 'aria-labelledby': 'tab-mcp' }, mcpPanel());
  panels.web = h('div.tab-panel', { role: 'tabpanel', id: 'panel-web', 'aria-labelledby': 'tab-web' }, webToolsPanel());
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

function modelSelect(name, value, unsetLabel, onChange) {
  const many = (state.models.providers || []).length > 1;
  const options = [['', unsetLabel], ...catalog().map((m) => [m.ref, many ? `${m.provider} · ${m.id}` : m.id])];
  if (value && !options.some(([v]) => v === value)) options.push([value, value]);
  return selectEl(name, options, value || '', onChange);
}

