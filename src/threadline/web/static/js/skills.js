// The Skills page: every skill (name, category, description, why it cannot be used), enable and
// disable, edit its SKILL.md and read its files, make a new one, delete one, and import a folder of
// skills (e.g. ~/.hermes/skills) picked in the browser. The server checks every SKILL.md.
import { api, get, post } from './api.js';
import { EV, on } from './events.js';
import { h, $ } from './dom.js';
import { modal, toast, showError, confirmDialog } from './dialogs.js';
import { field } from './forms.js';

const TEMPLATE = (name) => `---\nname: ${name}\ndescription: What this skill does, and when to use it.\n---\n\n# ${name}\n\nSteps the agent should follow.\n`;

export function initSkills() {
  $('#skills-open').addEventListener('click', () => openSkills());
  on(EV.OPEN_PAGE, (page) => { if (page === 'skills') openSkills(); });
}

function openSkills() {
  const view = {};
  const picker = h('input', { type: 'file', multiple: true, hidden: true, webkitdirectory: true, 'aria-label': 'Skills folder',
    onchange: () => importFolder(view, picker) });
  view.list = h('div.skill-list', { 'aria-live': 'polite' }, h('p.muted', { text: 'Loading…' }));
  view.editor = h('div.skill-editor-slot');
  const body = h('div.page.skills-page', null,
    h('div.page-bar', null,
      h('p.field-help', { text: 'The agent sees each enabled skill’s name and description, and loads a skill’s instructions when a task needs them.' }),
      h('div.row-gap', null,
        h('button.btn.btn-primary.btn-sm', { type: 'button', text: 'New skill', onclick: () => edit(view, null) }),
        h('button.btn.btn-sm', { type: 'button', text: 'Import folder…', onclick: () => picker.click() }),
        picker)),
    view.list, view.editor);
  modal({ title: 'Skills', body, wide: true, className: 'modal-page' });
  refresh(view);
}

async function refresh(view) {
  let skills;
  try {
    skills = (await get('/api/skills')).skills;
  } catch (err) {
    view.list.replaceChildren(h('p.field-error', { text: err.message }));
    return;
  }
  view.list.replaceChildren(...(skills.length ? skills.map((s) => skillRow(view, s))
    : [h('p.muted', { text: 'No skills yet. Make one, import a folder, or ask the agent to write one.' })]));
}

function skillRow(view, s) {
  const enabled = h('input.switch', { type: 'checkbox', role: 'switch', checked: s.enabled || null, 'aria-label': `Enable ${s.name}`,
    onchange: () => toggle(view, s, enabled.checked) });
  return h(`div.skill-row${s.error ? '.skill-broken' : ''}`, { dataset: { skill: s.name } },
    h('div.skill-main', null,
      h('div.skill-name', null, h('span', { text: s.name }), s.category ? h('span.tag', { text: s.category }) : null,
        s.files.length ? h('span.tag', { text: `${s.files.length} file${s.files.length === 1 ? '' : 's'}` }) : null),
      h('p.skill-desc', { text: s.error ? `Cannot be used: ${s.error}` : s.description })),
    h('div.skill-actions', null, enabled,
      h('button.btn.btn-sm', { type: 'button', text: 'Edit', 'aria-label': `Edit ${s.name}`, onclick: () => edit(view, s) }),
      h('button.btn.btn-sm.btn-danger-ghost', { type: 'button', text: 'Delete', 'aria-label': `Delete ${s.name}`,
        onclick: () => remove(view, s) })));
}

async function toggle(view, s, enabled) {
  try {
    await post('/api/skills/toggle', { name: s.name, enabled });
    toast(`${s.name} ${enabled ? 'enabled' : 'disabled'}.`, { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not change the skill');
  }
  refresh(view);
}

async function remove(view, s) {
  const ok = await confirmDialog({ title: `Delete the skill “${s.name}”?`, message: 'Its folder and every file in it are deleted.',
    confirmLabel: 'Delete skill', danger: true });
  if (!ok) return;
  try {
    await post('/api/skills/delete', { name: s.name });
    toast('Skill deleted.', { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not delete the skill');
  }
  view.editor.replaceChildren();
  refresh(view);
}

async function edit(view, s) {
  let detail = null;
  if (s) {
    try {
      detail = await get('/api/skills/content', { name: s.name });
    } catch (err) {
      showError(err, 'Could not open the skill');
      return;
    }
  }
  const name = h('input.input', { type: 'text', value: s?.name || '', placeholder: 'release-notes', 'aria-label': 'Skill name',
    disabled: s ? true : null, autocomplete: 'off' });
  const category = h('input.input', { type: 'text', value: s?.category || '', placeholder: 'optional', 'aria-label': 'Category' });
  const text = h('textarea.input.mono.skill-text', { rows: 14, 'aria-label': 'SKILL.md', spellcheck: 'false' });
  text.value = detail ? detail.content : TEMPLATE('my-skill');
  name.addEventListener('input', () => { if (!s) text.value = text.value.replace(/^name: .*$/m, `name: ${name.value.trim()}`); });
  const problem = h('p.field-error', { role: 'alert' });
  const fileView = h('pre.skill-file', { hidden: true });
  const files = detail?.linked_files?.length ? field('Files', h('ul.skill-files', null, detail.linked_files.map((f) =>
    h('li', null, h('button.link-btn', { type: 'button', text: f, onclick: () => showFile(s.name, f, fileView) }))))) : null;
  const save = h('button.btn.btn-primary', { type: 'button', text: s ? 'Save changes' : 'Create skill', onclick: async () => {
    problem.textContent = '';
    try {
      await post('/api/skills/save', { name: name.value.trim(), content: text.value, category: category.value.trim() || null });
      toast(s ? 'Skill saved.' : 'Skill created.', { kind: 'success' });
      view.editor.replaceChildren();
      refresh(view);
    } catch (err) {
      problem.textContent = err.message;
    }
  } });
  view.editor.replaceChildren(h('div.skill-editor', null,
    h('h3.section-title', { text: s ? `Edit “${s.name}”` : 'New skill' }),
    h('div.row-gap', null, field('Name', name), field('Category', category)),
    field('SKILL.md', text, 'Front matter with name and description, then the instructions.'),
    files, fileView, problem,
    h('div.row-gap', null, save, h('button.btn', { type: 'button', text: 'Cancel', onclick: () => view.editor.replaceChildren() }))));
  (s ? text : name).focus();
}

async function showFile(name, file, box) {
  try {
    const data = await get('/api/skills/content', { name, file });
    box.textContent = data.content;
    box.hidden = false;
  } catch (err) {
    showError(err, `Could not open ${file}`);
  }
}

async function importFolder(view, picker) {
  const files = [...picker.files];
  picker.value = '';
  if (!files.length) return;
  const form = new FormData();
  for (const f of files) {
    form.append('files', f, f.name);
    form.append('paths', f.webkitRelativePath || f.name);
  }
  try {
    const report = await api('/api/skills/import', { form });
    const parts = [`${report.imported.length} imported`];
    if (report.skipped.length) parts.push(`${report.skipped.length} skipped (already there)`);
    if (report.failed.length) parts.push(`${report.failed.length} failed: ${report.failed.map((f) => `${f.path}: ${f.error}`).join('; ')}`);
    toast(parts.join(', '), { kind: report.failed.length ? 'error' : 'success', timeout: 8000 });
  } catch (err) {
    showError(err, 'Could not import the folder');
  }
  refresh(view);
}
