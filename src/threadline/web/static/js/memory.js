// The Memory page: the two documents the agent keeps across chats (what it learned, and about the
// user), the shared ones or a project's, edited as text with their budget shown; each document's
// history with Restore, and Undo for the last change; whether the agent may write them (the
// `memory_tool` preference: ask first, allow, off). Saves name the revision they were made from, so an
// edit made meanwhile (by the agent, another tab) is never overwritten silently.
import { get, post } from './api.js';
import { state } from './state.js';
import { EV, on, emit } from './events.js';
import { h, $ } from './dom.js';
import { modal, toast, showError, confirmDialog } from './dialogs.js';
import { field, segmented, selectEl } from './forms.js';
import { fullTime } from './format.js';

const SECTIONS = {
  memory: ['What the agent learned', 'MEMORY.md: the environment, conventions, lessons. One entry per block; a line holding only § separates entries.'],
  user: ['About you', 'USER.md: your preferences and circumstances. Shared by every project.'],
};
const POLICIES = [['ask', 'Ask first'], ['allow', 'Allow'], ['off', 'Off']];
const SOURCES = { api: 'edited', agent: 'by the agent', import: 'imported', undo: 'restored' };

export function initMemory() {
  $('#memory-open').addEventListener('click', () => openMemory());
  on(EV.OPEN_PAGE, (page) => { if (page === 'memory') openMemory(); });
}

function openMemory() {
  const view = { projectId: '', docs: {}, editors: {} };
  const body = h('div.page.memory-page');
  const projects = [['', 'Shared (every chat)'], ...state.projects.map((p) => [p.project_id, `Project: ${p.name}`])];
  const head = h('div.page-bar', null,
    field('Memory of', selectEl('Memory of', projects, '', (v) => { view.projectId = v; load(view); })),
    field('The agent may write it', segmented('Memory tool policy', POLICIES, state.settings.memory_tool || 'ask', setPolicy),
      'Ask first: each change waits for your approval. Every change is shown in the chat and can be undone here.'));
  view.sections = h('div.memory-sections');
  body.append(head, view.sections);
  modal({ title: 'Memory', description: 'Shown to the agent at the start of every chat.', body, wide: true, className: 'modal-page' });
  load(view);
}

async function setPolicy(policy) {
  try {
    const data = await post('/api/settings', { memory_tool: policy });
    state.settings = { ...state.settings, ...data };
    emit(EV.SETTINGS, state.settings);
    toast(`Memory writes: ${POLICIES.find(([v]) => v === policy)[1].toLowerCase()}.`, { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not save the policy');
  }
}

async function load(view) {
  let data;
  try {
    data = await get('/api/memory', { project_id: view.projectId || undefined });
  } catch (err) {
    view.sections.replaceChildren(h('p.field-error', { text: err.message }));
    return;
  }
  view.data = data;
  const shown = view.projectId ? ['memory'] : ['memory', 'user'];
  view.sections.replaceChildren(...shown.map((section) => sectionBox(view, section)));
}

function sectionBox(view, section) {
  const data = view.data;
  const [title, help] = SECTIONS[section];
  const editor = h('textarea.input.mono.memory-editor', { rows: 8, 'aria-label': title, spellcheck: 'false', dataset: { section } });
  editor.value = data[section] || '';
  const count = h('span.memory-count');
  const limit = data[`${section}_limit`];
  const recount = () => {
    const n = editor.value.trim().length;
    count.textContent = `${n.toLocaleString()} / ${limit.toLocaleString()} characters`;
    count.classList.toggle('over', n > limit);
    count.title = n > limit ? 'Over budget: the last entries are left out of the agent’s instructions.' : '';
  };
  editor.addEventListener('input', () => { recount(); save.disabled = editor.value === (data[section] || ''); });
  recount();
  const save = h('button.btn.btn-primary.btn-sm', { type: 'button', text: 'Save', disabled: true,
    onclick: () => write(view, section, editor.value) });
  const undo = h('button.btn.btn-sm', { type: 'button', text: 'Undo last change', disabled: !data[`${section}_revision`] || null,
    onclick: () => restore(view, section, null) });
  const history = h('details.memory-history', { ontoggle: (e) => { if (e.target.open) showHistory(view, section, list); } },
    h('summary', { text: 'History' }));
  const list = h('ol.memory-revisions');
  history.append(list);
  const when = data[`${section}_mtime`] ? `Changed ${fullTime(data[`${section}_mtime`])}` : 'Never written';
  return h('section.memory-section', { dataset: { section, revision: String(data[`${section}_revision`] || 0) } },
    h('div.memory-head', null, h('h3.section-title', { text: title }), count),
    h('p.field-help', { text: help }),
    editor,
    h('div.row-gap.memory-actions', null, save, undo, h('span.muted.memory-when', { text: when })),
    history);
}

async function write(view, section, content) {
  try {
    await post('/api/memory/write', { section, content, project_id: view.projectId || null,
      expected_revision: view.data[`${section}_revision`] });
    toast('Memory saved.', { kind: 'success' });
  } catch (err) {
    if (err.status === 409) {
      const reload = await confirmDialog({ title: 'Memory changed meanwhile',
        message: 'The agent or another tab changed it since you opened it. Reload it (your edit is lost) or keep editing and copy your text first.',
        confirmLabel: 'Reload' });
      if (!reload) return;
    } else {
      showError(err, 'Could not save the memory');
      return;
    }
  }
  load(view);
}

async function restore(view, section, revision) {
  try {
    await post('/api/memory/undo', { section, project_id: view.projectId || null, revision });
    toast(revision === null ? 'Last change undone.' : `Revision ${revision} restored.`, { kind: 'success' });
  } catch (err) {
    showError(err, 'Could not restore');
  }
  load(view);
}

async function showHistory(view, section, list) {
  list.replaceChildren(h('li.muted', { text: 'Loading…' }));
  let revisions;
  try {
    revisions = (await get('/api/memory/history', { section, project_id: view.projectId || undefined, limit: 50 })).revisions;
  } catch (err) {
    list.replaceChildren(h('li.field-error', { text: err.message }));
    return;
  }
  const current = view.data[`${section}_revision`];
  list.replaceChildren(...(revisions.length ? revisions.map((r) => h('li.memory-revision', { dataset: { revision: r.revision } },
    h('div.memory-revision-head', null,
      h('strong', { text: `#${r.revision}` }),
      h('span', { text: ` ${SOURCES[r.source] || r.source} · ${fullTime(r.created_at)}` }),
      r.revision === current ? h('span.tag', { text: 'current' })
        : h('button.btn.btn-sm', { type: 'button', text: 'Restore', 'aria-label': `Restore revision ${r.revision}`,
          onclick: () => restore(view, section, r.revision) })),
    r.note ? h('div.memory-revision-note', { text: r.note }) : null,
    h('pre.memory-revision-text', { text: r.content || '(empty)' }))) : [h('li.muted', { text: 'No changes yet.' })]));
}
