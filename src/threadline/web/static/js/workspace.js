// The workspace panel: a lazy file tree of the session's workspace, a preview (code highlighted,
// markdown rendered, images), editing and saving, new file or folder, rename, delete, upload.
import { get, post, apiUrl } from './api.js';
import { state, local } from './state.js';
import { EV, on } from './events.js';
import { h, $, debounce } from './dom.js';
import { icon } from './icons.js';
import { openMenu, promptDialog, confirmDialog, toast, showError } from './dialogs.js';
import { basename, extension, fileSize } from './format.js';
import { markdownEl, highlightedCode, languageFor } from './render/markdown.js';
import { setWorkspaceOpen } from './layout.js';
import { currentId } from './session.js';
import { uploadFile } from './composer.js';

const IMAGE = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp', 'ico', 'avif']);
const MARKDOWN = new Set(['md', 'markdown', 'mdx']);

let tree; let preview; let panelOpen = false;
let expanded = new Set();
const children = new Map();     // dir path -> entries
let openFile = null;            // {path, content, editing, dirty}
let selectedDir = '';

export function initWorkspace() {
  tree = $('#ws-tree');
  preview = $('#ws-preview');
  $('#workspace-toggle').addEventListener('click', () => toggle());
  $('#ws-close').addEventListener('click', () => toggle(false));
  $('#ws-refresh').addEventListener('click', () => refresh());
  $('#ws-new-file').addEventListener('click', () => createEntry('file'));
  $('#ws-new-dir').addEventListener('click', () => createEntry('dir'));
  $('#ws-upload').addEventListener('click', () => $('#ws-file-input').click());
  $('#ws-file-input').addEventListener('change', (e) => { upload([...e.target.files], selectedDir); e.target.value = ''; });
  tree.addEventListener('click', onTreeClick);
  tree.addEventListener('keydown', onTreeKey);
  tree.addEventListener('contextmenu', (e) => {
    const row = e.target.closest('.ws-row');
    if (!row) return;
    e.preventDefault();
    entryMenu(row, { x: e.clientX, y: e.clientY });
  });
  initDrop();

  on(EV.SESSION_OPENED, (s) => {
    children.clear();
    openFile = null;
    selectedDir = '';
    expanded = new Set(local.get(`ws_expanded:${s.workspace}`, []));
    $('#ws-root-name').textContent = basename(s.workspace) || 'Workspace';
    $('#ws-root-name').title = s.workspace || '';
    showTree();
    if (panelOpen) refresh();
  });
  on(EV.WORKSPACE_ROOT, () => { children.clear(); openFile = null; if (panelOpen) { showTree(); refresh(); } $('#ws-root-name').textContent = basename(state.session?.workspace) || 'Workspace'; });
  on(EV.WORKSPACE_CHANGED, debounce(() => { if (panelOpen) refresh({ keepPreview: true }); }, 400));
  on(EV.WORKSPACE_CLOSE, () => toggle(false));
  if (local.get('workspace_open', false) && window.innerWidth > 1180) toggle(true);
}

export function toggle(force) {
  panelOpen = force ?? !panelOpen;
  setWorkspaceOpen(panelOpen);
  if (window.innerWidth > 1180) local.set('workspace_open', panelOpen);
  if (panelOpen) {
    refresh();
    tree.focus?.();
  }
}

async function list(path) {
  const data = await get('/api/list', { session_id: currentId(), path: path || '.' });
  const entries = data.entries || [];
  children.set(path, entries);
  return entries;
}

async function refresh({ keepPreview = false } = {}) {
  if (!currentId()) return;
  const dirs = ['', ...[...expanded].sort()];
  try {
    await Promise.all(dirs.map((d) => list(d).catch(() => { expanded.delete(d); })));
  } catch (err) {
    showError(err, 'Could not list the workspace');
  }
  renderTree();
  if (keepPreview && openFile && !openFile.editing) loadFile(openFile.path, { quiet: true });
}

function renderTree() {
  const rows = [];
  const walk = (dir, depth) => {
    for (const e of children.get(dir) || []) {
      const isDir = e.type === 'dir' || e.is_dir;
      const path = e.path || (dir ? `${dir}/${e.name}` : e.name);
      const open = isDir && expanded.has(path);
      rows.push(h(`div.ws-row${isDir ? '.dir' : ''}${openFile?.path === path ? '.selected' : ''}`, {
        role: 'treeitem', tabindex: '-1', 'aria-expanded': isDir ? String(open) : null, 'aria-level': String(depth + 1),
        dataset: { path, type: isDir ? 'dir' : 'file' }, style: { '--depth': String(depth) }, title: path,
      },
      h('span.ws-caret', null, isDir ? icon(open ? 'chevron-down' : 'chevron-right', { size: 14 }) : null),
      icon(isDir ? 'folder' : fileIcon(e.name), { size: 15 }),
      h('span.ws-name', { text: e.name }),
      !isDir && e.size !== undefined ? h('span.ws-size', { text: fileSize(e.size) }) : null,
      h('button.ws-more', { type: 'button', tabindex: '-1', 'aria-label': `Options for ${e.name}`, dataset: { action: 'menu' } }, icon('more', { size: 14 }))));
      if (open) walk(path, depth + 1);
    }
  };
  walk('', 0);
  if (!rows.length) {
    tree.replaceChildren(h('div.ws-empty', null, icon('folder', { size: 28 }), h('p', { text: children.has('') ? 'This folder is empty.' : 'Loading…' }), h('p.muted', { text: 'Drop files here to upload them.' })));
    return;
  }
  const focusedPath = document.activeElement?.closest?.('.ws-row')?.dataset.path;
  tree.replaceChildren(...rows);
  const first = (focusedPath && tree.querySelector(`[data-path="${CSS.escape(focusedPath)}"]`)) || rows[0];
  first.tabIndex = 0;
  if (focusedPath) first.focus();
}

function fileIcon(name) {
  const ext = extension(name);
  if (IMAGE.has(ext)) return 'image';
  if (languageFor(ext) && !MARKDOWN.has(ext)) return 'code';
  return 'file';
}

async function onTreeClick(e) {
  const row = e.target.closest('.ws-row');
  if (!row) return;
  if (e.target.closest('[data-action="menu"]')) { entryMenu(row, { anchor: e.target.closest('button') }); return; }
  activate(row);
}

async function activate(row) {
  const path = row.dataset.path;
  if (row.dataset.type === 'dir') {
    selectedDir = path;
    if (expanded.has(path)) expanded.delete(path);
    else {
      expanded.add(path);
      try { await list(path); } catch (err) { showError(err); expanded.delete(path); }
    }
    saveExpanded();
    renderTree();
    tree.querySelector(`[data-path="${CSS.escape(path)}"]`)?.focus();
  } else {
    selectedDir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    loadFile(path);
  }
}

function onTreeKey(e) {
  const row = e.target.closest('.ws-row');
  if (!row) return;
  const rows = [...tree.querySelectorAll('.ws-row')];
  const i = rows.indexOf(row);
  const move = (j) => { const r = rows[j]; if (r) { row.tabIndex = -1; r.tabIndex = 0; r.focus(); } };
  if (e.key === 'ArrowDown') { e.preventDefault(); move(i + 1); }
  else if (e.key === 'ArrowUp') { e.preventDefault(); move(i - 1); }
  else if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); activate(row); }
  else if (e.key === 'ArrowRight' && row.dataset.type === 'dir' && !expanded.has(row.dataset.path)) { e.preventDefault(); activate(row); }
  else if (e.key === 'ArrowLeft' && row.dataset.type === 'dir' && expanded.has(row.dataset.path)) { e.preventDefault(); activate(row); }
  else if (e.key === 'F2') { e.preventDefault(); renameEntry(row.dataset.path); }
  else if (e.key === 'Delete') { e.preventDefault(); deleteEntry(row.dataset.path, row.dataset.type); }
}

function saveExpanded() {
  local.set(`ws_expanded:${state.session?.workspace}`, [...expanded]);
}

function entryMenu(row, { anchor = null, x = null, y = null }) {
  const path = row.dataset.path;
  const isDir = row.dataset.type === 'dir';
  openMenu(anchor || row, [
    isDir ? { label: 'New file here…', icon: 'file-plus', onSelect: () => createEntry('file', path) } : { label: 'Open', icon: 'file', onSelect: () => loadFile(path) },
    isDir ? { label: 'New folder here…', icon: 'folder-plus', onSelect: () => createEntry('dir', path) } : { label: 'Download', icon: 'download', onSelect: () => download(path) },
    { label: 'Rename…', icon: 'edit', hint: 'F2', onSelect: () => renameEntry(path) },
    'separator',
    { label: 'Delete…', icon: 'trash', danger: true, hint: 'Del', onSelect: () => deleteEntry(path, isDir ? 'dir' : 'file') },
  ], { align: 'end', x, y });
}

// ---- preview and editing --------------------------------------------------------------------

function showTree() {
  preview.hidden = true;
  tree.hidden = false;
  renderTree();
}

async function loadFile(path, { quiet = false } = {}) {
  const ext = extension(path);
  if (IMAGE.has(ext)) {
    openFile = { path, image: true };
    renderPreview();
    return;
  }
  try {
    const data = await get('/api/file', { session_id: currentId(), path });
    openFile = { path, content: data.content ?? '', size: data.size, editing: false };
  } catch (err) {
    if (quiet) return;
    openFile = { path, error: err.message };
  }
  renderPreview();
}

function breadcrumb(path) {
  const parts = path.split('/');
  const crumbs = [h('button.crumb', { type: 'button', text: basename(state.session?.workspace) || 'Files', onclick: () => closePreview() })];
  parts.forEach((part, i) => {
    crumbs.push(h('span.crumb-sep', { 'aria-hidden': 'true', text: '/' }));
    if (i === parts.length - 1) crumbs.push(h('span.crumb.current', { text: part, 'aria-current': 'page' }));
    else {
      const dir = parts.slice(0, i + 1).join('/');
      crumbs.push(h('button.crumb', { type: 'button', text: part, onclick: () => { expanded.add(dir); saveExpanded(); closePreview(); refresh(); } }));
    }
  });
  return h('nav.crumbs', { 'aria-label': 'Path' }, crumbs);
}

async function closePreview() {
  if (openFile?.dirty && !(await confirmDialog({ title: 'Discard changes?', message: 'Your edits to this file are not saved.', confirmLabel: 'Discard', danger: true }))) return;
  openFile = null;
  showTree();
  tree.querySelector('.ws-row')?.focus();
}

function renderPreview() {
  const f = openFile;
  if (!f) { showTree(); return; }
  tree.hidden = true;
  preview.hidden = false;
  const ext = extension(f.path);
  const actions = h('div.ws-preview-actions');
  let body;
  if (f.error) {
    body = h('div.ws-empty', null, icon('alert', { size: 24 }), h('p', { text: f.error }), h('a.btn.btn-sm', { href: rawUrl(f.path, true), text: 'Download' }));
  } else if (f.image) {
    body = h('div.ws-image', null, h('img', { src: rawUrl(f.path), alt: basename(f.path) }));
    actions.append(h('a.btn.btn-sm', { href: rawUrl(f.path, true) }, icon('download', { size: 14 }), h('span', { text: 'Download' })));
  } else if (f.editing) {
    const area = h('textarea.ws-editor', { spellcheck: 'false', 'aria-label': `Edit ${basename(f.path)}` });
    area.value = f.content;
    area.addEventListener('input', () => { f.dirty = area.value !== f.content; saveBtn.disabled = !f.dirty; });
    area.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') { e.preventDefault(); save(area.value); }
      if (e.key === 'Tab' && !e.shiftKey) { e.preventDefault(); area.setRangeText('  ', area.selectionStart, area.selectionEnd, 'end'); area.dispatchEvent(new Event('input')); }
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); cancelEdit(); }
    });
    const saveBtn = h('button.btn.btn-sm.btn-primary', { type: 'button', text: 'Save', disabled: true, onclick: () => save(area.value) });
    actions.append(h('button.btn.btn-sm', { type: 'button', text: 'Cancel', onclick: cancelEdit }), saveBtn);
    body = area;
    setTimeout(() => area.focus(), 0);
  } else {
    const lang = languageFor(ext);
    if (MARKDOWN.has(ext)) body = h('div.ws-md', null, markdownEl(f.content));
    else if (!f.content) body = h('div.ws-empty', null, h('p.muted', { text: 'Empty file.' }));
    else body = h('div.ws-code', null, highlightedCode(f.content, lang));
    actions.append(
      h('button.btn.btn-sm', { type: 'button', onclick: () => { f.editing = true; f.dirty = false; renderPreview(); } }, icon('edit', { size: 14 }), h('span', { text: 'Edit' })),
      h('a.icon-btn', { href: rawUrl(f.path, true), 'aria-label': 'Download', title: 'Download' }, icon('download', { size: 16 })),
      h('button.icon-btn', { type: 'button', 'aria-label': 'More actions', title: 'More', onclick: (e) => entryMenu({ dataset: { path: f.path, type: 'file' } }, { anchor: e.currentTarget }) }, icon('more', { size: 16 })));
  }
  preview.replaceChildren(
    h('div.ws-preview-head', null, breadcrumb(f.path), actions),
    h('div.ws-preview-meta', { text: [fileSize(f.size), f.editing ? 'Editing · Ctrl+S to save' : ''].filter(Boolean).join(' · ') }),
    h('div.ws-preview-body', null, body));
}

function cancelEdit() {
  openFile.editing = false;
  openFile.dirty = false;
  renderPreview();
}

async function save(content) {
  try {
    const data = await post('/api/file/save', { session_id: currentId(), path: openFile.path, content });
    openFile.content = content;
    openFile.size = data.size ?? content.length;
    openFile.editing = false;
    openFile.dirty = false;
    renderPreview();
    toast(`Saved ${basename(openFile.path)}`, { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not save');
  }
}

function rawUrl(path, download = false) {
  return apiUrl('/api/file/raw', { session_id: currentId(), path, download: download ? 1 : null });
}

function download(path) {
  const a = h('a', { href: rawUrl(path, true), download: basename(path) });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---- file operations ------------------------------------------------------------------------

async function createEntry(kind, dir = selectedDir) {
  const label = kind === 'dir' ? 'New folder' : 'New file';
  const name = await promptDialog({
    title: label, label: dir ? `In ${dir}/` : 'In the workspace root', placeholder: kind === 'dir' ? 'folder-name' : 'notes.md', confirmLabel: 'Create',
    validate: (v) => (!v ? 'Enter a name.' : /(^|\/)\.\.(\/|$)/.test(v) ? 'The name cannot contain “..”.' : null),
  });
  if (!name) return;
  const path = dir ? `${dir}/${name}` : name;
  try {
    if (kind === 'dir') await post('/api/file/create-dir', { session_id: currentId(), path });
    else await post('/api/file/create', { session_id: currentId(), path, content: '' });
    if (dir) expanded.add(dir);
    saveExpanded();
    await refresh();
    if (kind === 'file') {
      openFile = { path, content: '', size: 0, editing: true };
      renderPreview();
    }
  } catch (err) {
    showError(err, `Could not create ${name}`);
  }
}

async function renameEntry(path) {
  const name = await promptDialog({ title: 'Rename', label: 'New name', value: basename(path), validate: (v) => (!v ? 'Enter a name.' : v.includes('/') || v === '..' ? 'A name cannot contain “/”.' : null) });
  if (!name || name === basename(path)) return;
  try {
    const data = await post('/api/file/rename', { session_id: currentId(), path, new_name: name });
    if (openFile?.path === path) { openFile.path = data.new_path || path.replace(/[^/]+$/, name); renderPreview(); }
    await refresh();
  } catch (err) {
    showError(err, 'Could not rename');
  }
}

async function deleteEntry(path, type) {
  const ok = await confirmDialog({ title: `Delete ${basename(path)}?`, message: type === 'dir' ? 'The folder is deleted from the workspace.' : 'The file is deleted from the workspace.', confirmLabel: 'Delete', danger: true });
  if (!ok) return;
  try {
    await post('/api/file/delete', { session_id: currentId(), path, recursive: type === 'dir' });
    if (openFile?.path === path) { openFile = null; showTree(); }
    expanded.delete(path);
    await refresh();
    toast(`Deleted ${basename(path)}`);
  } catch (err) {
    showError(err, 'Could not delete');
  }
}

async function upload(files, dir = '') {
  if (!files.length) return;
  const sessionId = currentId();
  let count = 0;
  for (const file of files) {
    try {
      await uploadFile(sessionId, file, dir);
      count++;
    } catch (err) {
      showError(err, `Could not upload ${file.name}`);
    }
  }
  if (dir) expanded.add(dir);
  await refresh();
  if (count) toast(`Uploaded ${count} file${count === 1 ? '' : 's'}`, { kind: 'success' });
}

function initDrop() {
  const panel = $('#ws-body');
  const overlay = $('#ws-drop');
  let depth = 0;
  const isFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
  panel.addEventListener('dragenter', (e) => { if (isFiles(e)) { depth++; overlay.hidden = false; } });
  panel.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) overlay.hidden = true; });
  panel.addEventListener('dragover', (e) => { if (isFiles(e)) e.preventDefault(); });
  panel.addEventListener('drop', (e) => {
    if (!isFiles(e)) return;
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    const row = e.target.closest?.('.ws-row');
    const dir = row ? (row.dataset.type === 'dir' ? row.dataset.path : (row.dataset.path.includes('/') ? row.dataset.path.replace(/\/[^/]+$/, '') : '')) : selectedDir;
    upload([...e.dataTransfer.files], dir);
  });
}
