// The message box: send keys, autosize, attachments (uploaded into the workspace), slash-command
// autocomplete, model and workspace pickers, queued-message chips, stop. While a run is live, Send
// queues the message and Steer (Alt+Enter) adds it to the running answer (`steer.js`).
import { api, post } from './api.js';
import { state } from './state.js';
import { EV, on, emit } from './events.js';
import { h, $, isMac } from './dom.js';
import { icon } from './icons.js';
import { openMenu, toast, showError, modal } from './dialogs.js';
import { basename, modelLabel, fileSize } from './format.js';
import { send, stop } from './chat.js';
import { steer } from './steer.js';
import { COMMANDS, runCommand } from './commands.js';
import { modelId, modelRef } from './models.js';
import { currentId, patchSession } from './session.js';
import { openWorkspaceMenu } from './workspaces.js';

let form; let input; let sendBtn; let steerBtn; let stopBtn; let slashBox; let attachBox; let queueBox;
let attachments = [];     // [{name, path, size, uploading}]
let slashIndex = 0;
let slashItems = [];

export function initComposer() {
  form = $('#composer');
  input = $('#composer-input');
  sendBtn = $('#send');
  stopBtn = $('#stop');
  steerBtn = $('#steer');
  slashBox = $('#slash');
  attachBox = $('#attachments');
  queueBox = $('#queue');

  form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  input.addEventListener('input', () => { autosize(); updateSendState(); updateSlash(); });
  input.addEventListener('keydown', onKeydown);
  input.addEventListener('paste', onPaste);
  stopBtn.addEventListener('click', () => stop());
  steerBtn.addEventListener('click', () => submit({ steering: true }));
  $('#attach').addEventListener('click', () => $('#file-input').click());
  $('#file-input').addEventListener('change', (e) => { uploadFiles([...e.target.files]); e.target.value = ''; });
  $('#model-picker').addEventListener('click', (e) => openModelPicker(e.currentTarget));
  $('#workspace-picker').addEventListener('click', (e) => openWorkspaceMenu(e.currentTarget, {
    current: state.session?.workspace,
    onChoose: (workspace) => chooseWorkspace(workspace),
    onOther: () => openWorkspacePicker(),
    onManage: () => emit(EV.OPEN_SETTINGS, 'workspaces'),
  }));
  initDrop();

  on(EV.BUSY, (busy) => {
    stopBtn.hidden = !busy;
    steerBtn.hidden = !busy;
    updateSendState();
    updateHint();
    input.placeholder = busy ? 'Queue a follow-up, or steer the answer…' : 'Message Threadline';
  });
  on(EV.SESSION_OPENED, () => { attachments = []; renderAttachments(); updateChips(); focus(); });
  on(EV.SESSION_META, updateChips);
  on(EV.SESSION_RELOADED, updateChips);
  on(EV.MODELS, updateChips);
  on(EV.SETTINGS, updateHint);
  on(EV.QUEUE, renderQueue);
  on(EV.COMPOSER_FOCUS, focus);
  on(EV.PICK_MODEL, () => openModelPicker($('#model-picker')));
  on(EV.COMPOSER_FILL, (text) => { input.value = text; autosize(); updateSendState(); focus(); });
  updateHint();
}

export function focus() {
  if (window.matchMedia('(hover: none)').matches) return;   // no keyboard popping up on phones
  input.focus();
}

function autosize() {
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
}

function updateSendState() {
  const uploading = attachments.some((a) => a.uploading);
  sendBtn.disabled = uploading || (!input.value.trim() && !attachments.length);
  steerBtn.disabled = !input.value.trim() || attachments.length > 0 || input.value.trim().startsWith('/');
  sendBtn.setAttribute('aria-label', state.busy ? 'Queue message' : 'Send message');
  sendBtn.title = state.busy ? 'Queue message' : 'Send';
}

function updateHint() {
  const mode = state.settings.send_key;
  const mod = isMac() ? '⌘' : 'Ctrl';
  const alt = isMac() ? '⌥' : 'Alt';
  const send = { 'ctrl+enter': `${mod}+Enter`, 'shift+enter': 'Shift+Enter' }[mode] || 'Enter';
  if (state.busy) {
    $('#composer-hint').textContent = `${send} to queue · ${alt}+Enter to steer the running answer · /interrupt to stop and send`;
    return;
  }
  $('#composer-hint').textContent = send === 'Enter'
    ? 'Enter to send · Shift+Enter for a new line · / for commands'
    : `${send} to send · Enter for a new line · / for commands`;
}

function onKeydown(e) {
  if (!slashBox.hidden) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      slashIndex = (slashIndex + (e.key === 'ArrowDown' ? 1 : -1) + slashItems.length) % slashItems.length;
      renderSlash();
      return;
    }
    if ((e.key === 'Tab' || e.key === 'Enter') && slashItems.length && !e.shiftKey) {
      const cmd = slashItems[slashIndex];
      const typed = input.value.trim();
      if (e.key === 'Tab' || typed !== `/${cmd.name}`) {
        e.preventDefault();
        completeCommand(cmd);
        return;
      }
    }
    if (e.key === 'Escape') { e.preventDefault(); hideSlash(); return; }
  }
  if (e.key !== 'Enter' || e.isComposing) return;
  if (e.altKey && state.busy) {
    e.preventDefault();
    if (!steerBtn.disabled) submit({ steering: true });
    return;
  }
  const mode = state.settings.send_key;
  const mod = e.ctrlKey || e.metaKey;
  const sends = mode === 'ctrl+enter' ? mod : mode === 'shift+enter' ? e.shiftKey && !mod : !e.shiftKey && !mod;
  if (sends) {
    e.preventDefault();
    submit();
  }
}

async function submit({ steering = false } = {}) {
  const text = input.value;
  if (!text.trim() && !attachments.length) return;
  if (attachments.some((a) => a.uploading)) return;
  hideSlash();
  if (steering) {
    input.value = '';
    autosize();
    updateSendState();
    if (!(await steer(text)) && !input.value) { input.value = text; autosize(); updateSendState(); }
    return;
  }
  if (text.trim().startsWith('/')) {
    const handled = await runCommand(text.trim());
    if (handled) { input.value = ''; autosize(); updateSendState(); return; }
  }
  const names = attachments.map((a) => a.path || a.name);
  let message = text.trim();
  if (!message && names.length) message = `Attached: ${names.join(', ')}`;
  const previous = { text, attachments };
  input.value = '';
  attachments = [];
  renderAttachments();
  autosize();
  updateSendState();
  const ok = await send(message, { attachments: names });
  if (!ok && !input.value) {
    input.value = previous.text;
    attachments = previous.attachments;
    renderAttachments();
    autosize();
    updateSendState();
  }
}

// ---- slash commands -------------------------------------------------------------------------

function updateSlash() {
  const value = input.value;
  const m = /^\/(\S*)$/.exec(value);
  if (!m) { hideSlash(); return; }
  const q = m[1].toLowerCase();
  slashItems = COMMANDS.filter((c) => c.name.startsWith(q));
  if (!slashItems.length) { hideSlash(); return; }
  slashIndex = Math.min(slashIndex, slashItems.length - 1);
  renderSlash();
}

function renderSlash() {
  slashBox.replaceChildren(...slashItems.map((c, i) => h('button.slash-item', {
    type: 'button', role: 'option', 'aria-selected': String(i === slashIndex), id: `slash-${c.name}`,
    onmousedown: (e) => { e.preventDefault(); completeCommand(c); },
  }, h('span.slash-name', { text: `/${c.name}` }), c.args ? h('span.slash-args', { text: c.args }) : null, h('span.slash-desc', { text: c.description }))));
  slashBox.hidden = false;
  input.setAttribute('aria-activedescendant', `slash-${slashItems[slashIndex].name}`);
  slashBox.children[slashIndex]?.scrollIntoView({ block: 'nearest' });
}

function hideSlash() {
  slashBox.hidden = true;
  slashIndex = 0;
  input.removeAttribute('aria-activedescendant');
}

function completeCommand(cmd) {
  input.value = `/${cmd.name}${cmd.args ? ' ' : ''}`;
  hideSlash();
  autosize();
  updateSendState();
  input.focus();
  if (!cmd.args) submit();
}

// ---- attachments ----------------------------------------------------------------------------

function initDrop() {
  const zone = $('.composer-wrap');
  let depth = 0;
  zone.addEventListener('dragenter', (e) => { if (hasFiles(e)) { depth++; form.classList.add('dragging'); } });
  zone.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) form.classList.remove('dragging'); });
  zone.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  zone.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    form.classList.remove('dragging');
    uploadFiles([...e.dataTransfer.files]);
  });
}

function hasFiles(e) {
  return [...(e.dataTransfer?.types || [])].includes('Files');
}

function onPaste(e) {
  const files = [...(e.clipboardData?.files || [])];
  if (files.length) {
    e.preventDefault();
    uploadFiles(files);
  }
}

export async function uploadFiles(files, dir = '') {
  const sessionId = currentId();
  if (!sessionId || !files.length) return [];
  const done = [];
  await Promise.all(files.map(async (file) => {
    const item = { name: file.name, size: file.size, uploading: true };
    attachments.push(item);
    renderAttachments();
    updateSendState();
    try {
      const result = await uploadFile(sessionId, file, dir);
      item.uploading = false;
      item.path = result.workspace_path || result.path || result.filename || file.name;
      item.name = result.filename || file.name;
      done.push(item);
    } catch (err) {
      attachments = attachments.filter((a) => a !== item);
      showError(err, `Could not upload ${file.name}`);
    }
    renderAttachments();
    updateSendState();
  }));
  if (done.length) emit(EV.WORKSPACE_CHANGED, {});
  return done;
}

export function uploadFile(sessionId, file, dir = '') {
  const form = new FormData();
  form.append('session_id', sessionId);
  if (dir) form.append('path', dir);
  form.append('file', file, file.name);
  return api('/api/upload', { form });
}

function renderAttachments() {
  attachBox.hidden = !attachments.length;
  attachBox.replaceChildren(...attachments.map((a) => h(`span.file-chip${a.uploading ? '.uploading' : ''}`, { title: a.path || a.name },
    a.uploading ? h('span.spinner') : icon('file', { size: 14 }),
    h('span.file-chip-name', { text: a.name }),
    a.size ? h('span.file-chip-size', { text: fileSize(a.size) }) : null,
    a.uploading ? null : h('button.file-chip-x', {
      type: 'button', 'aria-label': `Remove ${a.name}`,
      onclick: () => { attachments = attachments.filter((x) => x !== a); renderAttachments(); updateSendState(); },
    }, icon('x', { size: 12 })))));
}

function renderQueue(queue) {
  queueBox.hidden = !queue.length;
  queueBox.replaceChildren(
    queue.length ? h('span.queue-label', { text: queue.length === 1 ? 'Queued' : `Queued (${queue.length})` }) : null,
    ...queue.map((q) => h('span.queue-chip', { title: q.message }, icon('clock', { size: 13 }), h('span', { text: q.message }),
      h('button.queue-x', { type: 'button', 'aria-label': 'Remove from queue', title: 'Remove from queue', onclick: () => dequeue(q) }, icon('x', { size: 12 })))));
}

async function dequeue(item) {
  try {
    await post('/api/chat/dequeue', { session_id: currentId(), queue_id: item.id });
    state.session.queue = (state.session.queue || []).filter((q) => q.id !== item.id);
    renderQueue(state.session.queue);
  } catch (err) {
    showError(err, 'Could not remove the queued message');
  }
}

// ---- pickers --------------------------------------------------------------------------------

function updateChips() {
  const s = state.session;
  const model = s?.model || state.models.default_model || state.settings.default_model;
  $('#model-label').textContent = modelLabel(model);
  $('#model-picker').title = model ? `Model: ${model}` : 'Choose a model';
  $('#workspace-label').textContent = basename(s?.workspace) || 'Workspace';
  $('#workspace-picker').title = s?.workspace ? `Workspace: ${s.workspace}` : 'Workspace';
}

function openModelPicker(anchor) {
  const providers = state.models.providers || [];
  const current = state.session?.model || state.models.default_model;
  const items = [];
  for (const p of providers) {
    items.push({ heading: p.id + (p.error ? ' · unavailable' : '') });
    if (p.error) { items.push({ label: p.error, disabled: true, icon: 'alert' }); continue; }
    for (const m of p.models || []) {
      const id = modelId(m);
      const value = modelRef(p, id);
      items.push({ label: id, checked: value === current || id === current, onSelect: () => chooseModel(value) });
    }
  }
  if (!items.length) items.push({ label: 'Add a model provider…', icon: 'plug', onSelect: () => emit(EV.OPEN_SETUP) });
  else items.push('separator', { label: 'Manage providers…', icon: 'settings', onSelect: () => emit(EV.OPEN_SETTINGS, 'providers') });
  const menu = openMenu(anchor, items, { minWidth: 260, className: 'menu-scroll' });
  menu.setAttribute('aria-label', 'Models');
}

export async function chooseModel(model) {
  const id = currentId();
  if (!id) return;
  try {
    const data = await post('/api/session/update', { session_id: id, model });
    patchSession({ model: data.session?.model || model });
  } catch (err) {
    showError(err, 'Could not change the model');
  }
}

/** Moves the open chat (a new one included) to `workspace`; the server remembers it as the last used. */
export async function chooseWorkspace(workspace) {
  const s = state.session;
  if (!s || workspace === s.workspace) return;
  try {
    const data = await post('/api/session/update', { session_id: s.session_id, workspace });
    patchSession({ workspace: data.session?.workspace || workspace });
    emit(EV.WORKSPACE_ROOT, state.session.workspace);
    toast(`Workspace: ${state.session.workspace}`, { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not change the workspace');
  }
}

function openWorkspacePicker() {
  const s = state.session;
  if (!s) return;
  const input2 = h('input.input.mono', { type: 'text', value: s.workspace || '', 'aria-label': 'Workspace folder', placeholder: '/home/me/project', spellcheck: 'false' });
  const error = h('p.field-error', { role: 'alert' });
  const save = async () => {
    const workspace = input2.value.trim();
    if (!workspace || workspace === s.workspace) { m.close(); return; }
    try {
      const data = await post('/api/session/update', { session_id: s.session_id, workspace });
      patchSession({ workspace: data.session?.workspace || workspace });
      emit(EV.WORKSPACE_ROOT, state.session.workspace);
      m.close();
      toast(`Workspace: ${state.session.workspace}`, { kind: 'success' });
    } catch (err) {
      error.textContent = err.message;
    }
  };
  const m = modal({
    title: 'Workspace folder',
    description: 'The agent reads and writes files only inside this folder.',
    className: 'modal-small',
    body: h('form.form', { onsubmit: (e) => { e.preventDefault(); save(); } }, input2, error),
    footer: [h('button.btn', { type: 'button', text: 'Cancel', onclick: () => m.close() }), h('button.btn.btn-primary', { type: 'button', text: 'Use folder', onclick: save })],
  });
  input2.focus();
  input2.select();
}


