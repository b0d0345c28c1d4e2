// MCP servers in Settings: the list (status, error, the tools with their policy), enable and disable,
// restart, OAuth authorization, delete, and the form that adds or edits a server (stdio or Streamable
// HTTP). The server is the truth: the list is read again after every change, and every second while
// a server is connecting or an authorization waits.
import { get, post } from './api.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import { confirmDialog, toast, showError } from './dialogs.js';
import { field, segmented, selectEl } from './forms.js';

const STATUS = {
  connected: ['tag-ok', (s) => `Connected · ${s.tool_count} tool${s.tool_count === 1 ? '' : 's'}`],
  connecting: ['tag-warn', () => 'Connecting…'],
  needs_auth: ['tag-warn', () => 'Needs authorization'],
  broken: ['tag-error', () => 'Broken'],
  disabled: ['', () => 'Disabled'],
};
const POLICIES = [['ask', 'Ask first'], ['allow', 'Allow'], ['deny', 'Deny']];
const POLL_MS = 1000;
const NAME = /^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$/; // the server's rule (agent/mcp/config.py), checked first

/** The MCP panel of Settings: the list, then the form (kept while the list refreshes). */
export function mcpPanel() {
  const list = h('div.mcp-list', { 'aria-live': 'polite' }, h('p.muted', { text: 'Loading…' }));
  const formSlot = h('div.mcp-form-slot');
  const view = { list, formSlot, open: new Set(), timer: null };
  const box = h('div.mcp-settings', null,
    h('p.field-help', { text: 'Tools of MCP servers are offered to the built-in agent as <server>__<tool>. '
      + 'Tools a server marks read-only are allowed; the others ask first, like shell commands.' }),
    list, formSlot);
  view.refresh = () => renderList(view);
  view.showForm = (preset = null) => showForm(view, preset);
  view.showForm();
  view.refresh();
  return box;
}

async function renderList(view) {
  clearTimeout(view.timer);
  let servers;
  try {
    servers = (await get('/api/mcp/servers')).servers || [];
  } catch (err) {
    view.list.replaceChildren(h('p.field-error', { text: err.message }));
    return;
  }
  const settling = servers.some((s) => s.status === 'connecting' || s.auth_url);
  let tools = [];
  if (!settling && servers.some((s) => s.status === 'connected')) {
    try {
      tools = (await get('/api/mcp/tools')).tools || [];
    } catch (err) {
      showError(err, 'Could not list the MCP tools');
    }
  }
  view.list.replaceChildren(servers.length
    ? h('div.mcp-servers', null, servers.map((s) => serverRow(view, s, tools.filter((t) => t.server === s.name))))
    : h('p.muted', { text: 'No MCP server yet.' }));
  if (settling && view.list.isConnected) view.timer = setTimeout(view.refresh, POLL_MS);
}

function serverRow(view, s, tools) {
  const [tagClass, label] = STATUS[s.status] || ['', () => s.status];
  const where = s.transport === 'stdio' ? [s.command, ...(s.args || [])].join(' ') : s.url;
  const enabled = h('input.switch', {
    type: 'checkbox', role: 'switch', checked: s.enabled || null, 'aria-label': `Enable ${s.name}`,
    onchange: () => act(view, () => post('/api/mcp/servers', { name: s.name, enabled: enabled.checked })),
  });
  return h(`div.mcp-server${s.status === 'broken' ? '.mcp-server-error' : ''}`, { dataset: { server: s.name, status: s.status } },
    h('div.mcp-head', null,
      h('div.mcp-main', null,
        h('div.mcp-name', null, h('span', { text: s.name }), h('span.tag', { text: s.transport === 'stdio' ? 'stdio' : 'HTTP' }),
          h(`span.tag.mcp-status${tagClass ? `.${tagClass}` : ''}`, { text: label(s) })),
        h('div.mcp-meta', { text: where, title: where })),
      h('div.mcp-actions', null, enabled,
        h('button.btn.btn-sm', { type: 'button', text: 'Edit', 'aria-label': `Edit ${s.name}`, onclick: () => view.showForm(s) }),
        s.enabled ? h('button.btn.btn-sm', { type: 'button', text: 'Restart', 'aria-label': `Restart ${s.name}`,
          onclick: () => act(view, () => post('/api/mcp/servers/restart', { name: s.name }), `${s.name} restarted.`) }) : null,
        s.transport === 'http' && s.enabled ? h('button.btn.btn-sm', { type: 'button', text: 'Authorize',
          'aria-label': `Authorize ${s.name}`, onclick: () => authorize(view, s) }) : null,
        h('button.btn.btn-sm.btn-danger-ghost', { type: 'button', text: 'Delete', 'aria-label': `Delete ${s.name}`,
          onclick: () => deleteServer(view, s) }))),
    s.error ? h('pre.mcp-problem', { role: 'status' }, icon('alert', { size: 14 }), h('span', { text: s.error })) : null,
    s.auth_url ? h('p.mcp-auth', null, h('a', { href: s.auth_url, target: '_blank', rel: 'noopener noreferrer',
      text: 'Open the authorization page' }), h('span.muted', { text: ' and sign in; this list updates when it is done.' })) : null,
    tools.length ? toolList(view, s, tools) : null);
}

function toolList(view, s, tools) {
  const details = h('details.mcp-tools', { open: view.open.has(s.name) || null },
    h('summary', { text: `Tools (${tools.length})` }),
    h('ul.mcp-tool-list', null, tools.map((t) => h('li.mcp-tool', { dataset: { tool: t.tool } },
      h('div.mcp-tool-main', null,
        h('div.mcp-tool-name', null, h('code', { text: t.name }), t.read_only ? h('span.tag', { text: 'read-only' }) : null),
        t.description ? h('p.mcp-tool-desc', { text: t.description }) : null),
      selectEl(`Policy of ${t.name}`, POLICIES.map(([v, l]) => [v, v === t.default_policy ? `${l} (default)` : l]), t.policy,
        (policy) => setPolicy(t, policy))))));
  details.addEventListener('toggle', () => (details.open ? view.open.add(s.name) : view.open.delete(s.name)));
  return details;
}

async function setPolicy(t, policy) {
  try {
    await post('/api/mcp/tools/policy', { server: t.server, tool: t.tool, policy });
    toast(`${t.name}: ${POLICIES.find(([v]) => v === policy)[1].toLowerCase()}.`, { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not set the policy');
  }
}

async function act(view, request, done = null) {
  try {
    await request();
    if (done) toast(done, { kind: 'success' });
  } catch (err) {
    showError(err);
  }
  view.refresh();
}

async function authorize(view, s) {
  try {
    const { server } = await post('/api/mcp/servers/authorize', { name: s.name });
    if (server.status === 'connected') toast(`${s.name} is connected.`, { kind: 'success' });
    else if (server.auth_url) toast('Open the authorization page to sign in.');
  } catch (err) {
    showError(err, 'Could not start the authorization');
  }
  view.refresh();
}

async function deleteServer(view, s) {
  const ok = await confirmDialog({
    title: `Delete MCP server “${s.name}”?`,
    message: 'Its tools disappear from new runs; its tool policies and any sign-in are forgotten.',
    confirmLabel: 'Delete server', danger: true,
  });
  if (!ok) return;
  try {
    await post('/api/mcp/servers/delete', { name: s.name });
    toast('MCP server deleted.', { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not delete the server');
  }
  view.showForm();
  view.refresh();
}

// ---- the form -------------------------------------------------------------------------------

function showForm(view, preset) {
  view.formSlot.replaceChildren(
    h('h3.section-title', { text: preset ? `Edit MCP server “${preset.name}”` : 'Add an MCP server' }),
    serverForm(view, preset));
  if (preset) view.formSlot.querySelector('input:not([disabled]), textarea')?.focus();
}

/** `NAME=value` (env) or `Name: value` (headers) lines, one per entry, to an object. */
function parseLines(text, sep, what) {
  const out = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const at = line.indexOf(sep);
    if (at <= 0) throw new Error(`${what}: write each line as NAME${sep === '=' ? '=' : ': '}value (“${line.slice(0, 40)}”)`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

const toLines = (obj, sep) => Object.entries(obj || {}).map(([k, v]) => `${k}${sep}${v}`).join('\n');

function serverForm(view, preset) {
  let transport = preset?.transport || 'stdio';
  const name = h('input.input', { type: 'text', placeholder: 'files', value: preset?.name || '', 'aria-label': 'Name',
    disabled: preset ? true : null, autocomplete: 'off' });
  const command = h('input.input.mono', { type: 'text', placeholder: 'npx', value: preset?.command || '', 'aria-label': 'Command' });
  const args = h('textarea.input.mono', { rows: 3, 'aria-label': 'Arguments', placeholder: '-y\n@modelcontextprotocol/server-filesystem\n/home/me/notes' });
  args.value = (preset?.args || []).join('\n');
  const env = h('textarea.input.mono', { rows: 2, 'aria-label': 'Environment', placeholder: 'API_TOKEN=…' });
  env.value = toLines(preset?.env, '=');
  const url = h('input.input.mono', { type: 'url', placeholder: 'https://mcp.example.com/mcp', value: preset?.url || '', 'aria-label': 'URL' });
  const headers = h('textarea.input.mono', { rows: 2, 'aria-label': 'Headers', placeholder: 'Authorization: Bearer …' });
  headers.value = toLines(preset?.headers, ': ');
  const masked = preset ? ' Values are shown masked: leave one as it is to keep the stored value.' : '';
  const stdioFields = h('div.mcp-fields', null,
    field('Command', command, 'The program that runs the server; it gets PATH and HOME, plus the variables below.'),
    field('Arguments', args, 'One per line.'),
    field('Environment', env, `NAME=value, one per line (API keys…).${masked}`));
  const httpFields = h('div.mcp-fields', null,
    field('URL', url, 'The Streamable HTTP endpoint. A server that asks for OAuth shows “Needs authorization”.'),
    field('Headers', headers, `Name: value, one per line.${masked}`));
  const sync = () => { stdioFields.hidden = transport !== 'stdio'; httpFields.hidden = transport === 'stdio'; };
  sync();
  const result = h('div.test-result', { role: 'status' });
  const body = () => {
    const b = { name: name.value.trim() };
    if (!preset && (!NAME.test(b.name) || b.name.length > 32)) {
      throw new Error('The name is 1 to 32 letters and digits, joined by single - or _ (no spaces).');
    }
    if (transport === 'stdio') {
      Object.assign(b, { command: command.value.trim(), args: args.value.split('\n').map((a) => a.trim()).filter(Boolean),
        env: parseLines(env.value, '=', 'Environment') });
    } else {
      Object.assign(b, { url: url.value.trim(), headers: parseLines(headers.value, ':', 'Headers') });
    }
    return b;
  };
  const save = h('button.btn.btn-primary', { type: 'button', text: preset ? 'Save changes' : 'Add server', onclick: async () => {
    save.disabled = true;
    result.className = 'test-result';
    result.replaceChildren();
    try {
      await post('/api/mcp/servers', body());
      toast(preset ? 'MCP server saved.' : 'MCP server added.', { kind: 'success' });
      view.showForm();
      view.refresh();
    } catch (err) {
      result.className = 'test-result error';
      result.replaceChildren(icon('alert', { size: 14 }), h('span', { text: err.message }));
    } finally {
      save.disabled = false;
    }
  } });
  return h('div.mcp-form', null,
    field('Name', name, preset ? 'The name cannot change.' : 'Letters and digits, joined by single - or _; tools appear as <name>__<tool>.'),
    field('Type', segmented('Type', [['stdio', 'Command (stdio)', 'terminal'], ['http', 'URL (Streamable HTTP)', 'plug']], transport,
      (v) => { transport = v; sync(); })),
    stdioFields, httpFields,
    h('div.row-gap', null, save, preset ? h('button.btn', { type: 'button', text: 'Cancel', onclick: () => view.showForm() }) : null, result));
}
