// Projects: coloured chips that filter the session list, and the project picker for a session.
import { get, post } from './api.js';
import { state } from './state.js';
import { EV, emit } from './events.js';
import { h, $ } from './dom.js';
import { icon } from './icons.js';
import { modal, openMenu, promptDialog, confirmDialog, showError } from './dialogs.js';
import { setView } from './list.js';

export const COLORS = ['#5b5bd6', '#0d9488', '#d97706', '#dc2626', '#db2777', '#7c3aed', '#2563eb', '#65a30d'];

let bar;

export function initProjects() {
  bar = $('#projects');
  bar.addEventListener('contextmenu', (e) => {
    const chip = e.target.closest('[data-project]');
    if (!chip) return;
    e.preventDefault();
    projectMenu(chip, { x: e.clientX, y: e.clientY });
  });
}

export async function loadProjects() {
  try {
    const data = await get('/api/projects');
    state.projects = data.projects || [];
  } catch {
    state.projects = [];
  }
  render();
  emit(EV.PROJECTS, state.projects);
}

export function projectById(id) {
  return state.projects.find((p) => p.project_id === id) || null;
}

function render() {
  const selected = state.list.projectId;
  const chips = [h(`button.pchip${selected ? '' : '.active'}`, { type: 'button', 'aria-pressed': String(!selected), text: 'All', onclick: () => select(null) })];
  for (const p of state.projects) {
    const active = selected === p.project_id;
    chips.push(h(`button.pchip${active ? '.active' : ''}`, {
      type: 'button', 'aria-pressed': String(active), dataset: { project: p.project_id }, title: active ? `${p.name}: click for options` : p.name,
      onclick: (e) => (active ? projectMenu(e.currentTarget) : select(p.project_id)),
    }, h('span.pdot', { style: { '--proj': p.color || COLORS[0] } }), h('span.pchip-name', { text: p.name }), active ? icon('chevron-down', { size: 12 }) : null));
  }
  chips.push(h('button.pchip.pchip-add', { type: 'button', 'aria-label': 'New project', title: 'New project', onclick: () => createProject() }, icon('plus', { size: 13 }), state.projects.length ? null : h('span', { text: 'Project' })));
  bar.replaceChildren(...chips);
}

function select(projectId) {
  setView({ projectId });
  render();
}

function colorPicker(current, onPick) {
  let chosen = current || COLORS[0];
  const swatches = COLORS.map((c) => h('button.swatch-btn', {
    type: 'button', 'aria-label': `Colour ${c}`, 'aria-pressed': String(c === chosen), style: { '--swatch': c },
    onclick: (e) => {
      chosen = c;
      for (const b of e.currentTarget.parentElement.children) b.setAttribute('aria-pressed', String(b === e.currentTarget));
      onPick(c);
    },
  }));
  onPick(chosen);
  return h('div.swatches', { role: 'group', 'aria-label': 'Colour' }, swatches);
}

export async function createProject() {
  let color = COLORS[state.projects.length % COLORS.length];
  const name = await promptDialog({
    title: 'New project', label: 'Name', placeholder: 'e.g. Website redesign', confirmLabel: 'Create',
    extra: colorPicker(color, (c) => { color = c; }),
    validate: (v) => (v ? null : 'Give the project a name.'),
  });
  if (!name) return null;
  try {
    const data = await post('/api/projects/create', { name, color });
    await loadProjects();
    return data.project || null;
  } catch (err) {
    showError(err, 'Could not create the project');
    return null;
  }
}

function projectMenu(anchor, pos = {}) {
  const p = projectById(anchor.dataset.project);
  if (!p) return;
  openMenu(anchor, [
    { label: 'Rename…', icon: 'edit', onSelect: () => renameProject(p) },
    { label: 'Instructions…', icon: 'sparkle', onSelect: () => editInstructions(p) },
    { heading: 'Colour' },
    { element: colorPicker(p.color, (c) => { if (c !== (p.color || COLORS[0])) updateProject(p, { color: c }); }) },
    'separator',
    { label: 'Delete project…', icon: 'trash', danger: true, onSelect: () => deleteProject(p) },
  ], { ...pos });
}

async function renameProject(p) {
  const name = await promptDialog({ title: 'Rename project', label: 'Name', value: p.name, validate: (v) => (v ? null : 'Give the project a name.') });
  if (name) updateProject(p, { name });
}

/** The project's instructions: sent with every chat in it, after the persona's. */
function editInstructions(p) {
  const text = h('textarea.input.project-instructions', { rows: 6, 'aria-label': 'Project instructions', placeholder: 'Instructions for every chat in this project' });
  text.value = p.instructions || '';
  const m = modal({
    title: `Instructions for ${p.name}`,
    description: 'Sent to the model in every chat of this project, after the persona and before the chat’s own instructions.',
    body: text,
    footer: [
      h('button.btn', { type: 'button', text: 'Cancel', onclick: () => m.close() }),
      h('button.btn.btn-primary', { type: 'button', text: 'Save', onclick: async () => { m.close(); await updateProject(p, { instructions: text.value }); } }),
    ],
  });
  text.focus();
}

async function updateProject(p, fields) {
  try {
    const body = { project_id: p.project_id, name: fields.name || p.name, color: fields.color || p.color };
    if (fields.instructions !== undefined) body.instructions = fields.instructions;
    await post('/api/projects/rename', body);
    await loadProjects();
    emit(EV.LIST_UPDATED, {});
  } catch (err) {
    showError(err, 'Could not update the project');
  }
}

async function deleteProject(p) {
  const ok = await confirmDialog({ title: `Delete “${p.name}”?`, message: 'Its chats are kept and move out of the project.', confirmLabel: 'Delete project', danger: true });
  if (!ok) return;
  try {
    await post('/api/projects/delete', { project_id: p.project_id });
    await loadProjects();
    if (state.list.projectId === p.project_id) select(null);
  } catch (err) {
    showError(err, 'Could not delete the project');
  }
}

/**
 * Menu to move a session into a project (or out of one), opened where the menu that offered it was:
 * `at` is {anchor, x, y} (a point when that menu was a context menu).
 */
export function chooseProjectMenu(session, onChoose, at = {}) {
  const row = document.querySelector(`.srow-wrap[data-id="${CSS.escape(session.session_id)}"]`);
  const anchor = [at.anchor, row, $('#chat-menu')].find((el) => el?.isConnected);
  const items = [{ heading: 'Move to project' }, { label: 'No project', icon: 'x', checked: !session.project_id, onSelect: () => onChoose(null) }];
  for (const p of state.projects) items.push({ label: p.name, swatch: p.color || COLORS[0], checked: session.project_id === p.project_id, onSelect: () => onChoose(p.project_id) });
  items.push('separator', { label: 'New project…', icon: 'plus', onSelect: async () => { const p = await createProject(); if (p) onChoose(p.project_id); } });
  openMenu(anchor, items, { align: 'end', minWidth: 220, x: at.x ?? null, y: at.y ?? null });
}
