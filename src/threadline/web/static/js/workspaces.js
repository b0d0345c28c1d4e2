// Saved workspaces: the list the composer offers for a chat's workspace, and the Settings panel that
// adds (with folder suggestions), renames, reorders and removes them. The server keeps the list
// (/api/workspaces); every change answers the new list, which is drawn again.
import { get, post } from './api.js';
import { h, debounce } from './dom.js';
import { icon } from './icons.js';
import { openMenu, showError, toast } from './dialogs.js';

/** The saved list and the last workspace used: `{workspaces: [{path, name}], last}`. */
export async function loadWorkspaces() {
  try {
    return await get('/api/workspaces');
  } catch (err) {
    showError(err, 'Could not load the saved workspaces');
    return { workspaces: [], last: null };
  }
}

/** The composer's workspace menu: the saved folders (the current one checked), another folder, manage. */
export async function openWorkspaceMenu(anchor, { current, onChoose, onOther, onManage }) {
  const { workspaces } = await loadWorkspaces();
  const items = [{ heading: 'Workspace' }];
  for (const w of workspaces) {
    items.push({ label: w.name, hint: shortPath(w.path), checked: w.path === current, onSelect: () => onChoose(w.path) });
  }
  if (current && !workspaces.some((w) => w.path === current)) {
    items.push({ label: current.split('/').filter(Boolean).pop() || current, hint: shortPath(current), checked: true });
  }
  items.push('separator', { label: 'Other folder…', icon: 'folder', onSelect: onOther },
    { label: 'Manage workspaces…', icon: 'settings', onSelect: onManage });
  const menu = openMenu(anchor, items, { minWidth: 280, className: 'menu-scroll' });
  menu.setAttribute('aria-label', 'Workspaces');
  return menu;
}

/** A path short enough for a menu hint: its end, after an ellipsis. */
function shortPath(path, max = 28) {
  return path.length <= max ? path : `…${path.slice(-(max - 1))}`;
}

/** The Workspaces panel of Settings. */
export function workspacesPanel() {
  const list = h('div.saved-ws-list', { 'aria-live': 'polite' }, h('p.muted', { text: 'Loading…' }));
  const view = { list };
  view.refresh = async () => draw(view, await loadWorkspaces());
  const box = h('div.saved-ws', null,
    h('p.field-help', { text: 'Folders offered as a chat’s workspace. A new chat starts in the last workspace used.' }),
    list, addForm(view));
  view.refresh();
  return box;
}

function draw(view, data) {
  const rows = data.workspaces || [];
  view.list.replaceChildren(rows.length
    ? h('ul.saved-ws-rows', null, rows.map((w, i) => row(view, rows, w, i)))
    : h('p.muted', { text: 'No saved workspace yet.' }));
}

function row(view, rows, w, i) {
  const name = h('input.input.saved-ws-name', { type: 'text', value: w.name, 'aria-label': `Name of ${w.path}`, maxlength: 200 });
  name.addEventListener('change', () => change(view, '/api/workspaces/rename', { path: w.path, name: name.value }, 'Renamed.'));
  const move = (delta) => {
    const paths = rows.map((r) => r.path);
    [paths[i], paths[i + delta]] = [paths[i + delta], paths[i]];
    change(view, '/api/workspaces/reorder', { paths });
  };
  return h('li.saved-ws-row', { dataset: { path: w.path } },
    h('div.saved-ws-main', null, name, h('div.saved-ws-path', { text: w.path, title: w.path })),
    h('div.saved-ws-actions', null,
      h('button.btn.btn-sm', { type: 'button', 'aria-label': `Move ${w.name} up`, disabled: i === 0 || null, onclick: () => move(-1) }, icon('chevron-up', { size: 14 })),
      h('button.btn.btn-sm', { type: 'button', 'aria-label': `Move ${w.name} down`, disabled: i === rows.length - 1 || null, onclick: () => move(1) }, icon('chevron-down', { size: 14 })),
      h('button.btn.btn-sm.btn-danger-ghost', { type: 'button', text: 'Remove', 'aria-label': `Remove ${w.name}`,
        onclick: () => change(view, '/api/workspaces/remove', { path: w.path }, `${w.name} removed from the list (the folder is kept).`) })));
}

async function change(view, url, body, done = null) {
  try {
    draw(view, await post(url, body));
    if (done) toast(done, { kind: 'success' });
    return true;
  } catch (err) {
    showError(err);
    view.refresh();
    return false;
  }
}

function addForm(view) {
  const listId = 'saved-ws-suggestions';
  const suggestions = h('datalist', { id: listId });
  const path = h('input.input.mono', { type: 'text', placeholder: '/home/me/project', 'aria-label': 'Folder to add', list: listId, spellcheck: 'false' });
  const name = h('input.input', { type: 'text', placeholder: 'Name (optional)', 'aria-label': 'Name of the folder', maxlength: 200 });
  const create = h('input', { type: 'checkbox', id: 'saved-ws-create' });
  const error = h('p.field-error', { role: 'alert' });
  const suggest = debounce(async () => {
    if (!path.value.startsWith('/') && !path.value.startsWith('~')) return;
    try {
      const data = await get('/api/workspaces/suggest', { prefix: path.value });
      suggestions.replaceChildren(...(data.suggestions || []).map((s) => h('option', { value: s })));
    } catch { /* suggestions are a convenience */ }
  }, 200);
  path.addEventListener('input', suggest);
  const add = async () => {
    error.textContent = '';
    if (!path.value.trim()) { error.textContent = 'Enter a folder path.'; return; }
    try {
      draw(view, await post('/api/workspaces/add', { path: path.value.trim(), name: name.value.trim() || null, create: create.checked }));
      path.value = '';
      name.value = '';
      create.checked = false;
    } catch (err) {
      error.textContent = err.message;
    }
  };
  return h('form.form.saved-ws-add', { onsubmit: (e) => { e.preventDefault(); add(); } },
    h('div.field-label', { text: 'Add a folder' }),
    h('div.row-gap', null, path, name, h('button.btn', { type: 'submit', text: 'Add' })),
    h('label.saved-ws-create', null, create, h('span', { text: ' Create the folder if it does not exist' })),
    suggestions, error);
}
