// The Tasks page: scheduled tasks (a prompt the agent runs on a schedule) with their next firing and
// last result; run now, pause, resume, edit, delete, open the task's chat, its recent firings; the
// form that makes or edits one; and every notice, read or not. Refreshed every 5 s while open.
import { get, post } from './api.js';
import { state } from './state.js';
import { EV, on, emit } from './events.js';
import { h, $ } from './dom.js';
import { modal, toast, showError, confirmDialog } from './dialogs.js';
import { field, selectEl } from './forms.js';
import { catalog } from './models.js';
import { openSession, currentId } from './session.js';
import { agoText, fullTime } from './format.js';

const REFRESH_MS = 5000;
const STATES = { scheduled: 'tag-ok', paused: 'tag-warn', completed: '' };
const RESULTS = { succeeded: 'tag-ok', running: 'tag-warn', missed: 'tag-warn' };
const EXAMPLES = '“every 30m”, “0 9 * * 1-5” (weekdays at 9), “@daily”, “2026-05-04T09:00”, “in 2h”';
const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

export function initTasks() {
  $('#tasks-open').addEventListener('click', () => openTasks());
  on(EV.OPEN_PAGE, (page) => { if (page === 'tasks') openTasks(); });
}

function openTasks() {
  const view = { open: new Set(), timer: null };
  view.list = h('div.task-list', { 'aria-live': 'polite' }, h('p.muted', { text: 'Loading…' }));
  view.form = h('div.task-form-slot');
  view.notices = h('div.task-notices');
  const body = h('div.page.tasks-page', null,
    h('div.page-bar', null,
      h('p.field-help', { text: 'Each firing is a run in the task’s own chat (or the chat it posts into); you get a notice when it ends.' }),
      h('button.btn.btn-primary.btn-sm', { type: 'button', text: 'New task', onclick: () => showForm(view, null) })),
    view.form, view.list, view.notices);
  modal({ title: 'Tasks', body, wide: true, className: 'modal-page', onClose: () => clearTimeout(view.timer) });
  refresh(view);
}

async function refresh(view) {
  clearTimeout(view.timer);
  let jobs;
  try {
    jobs = (await get('/api/crons')).jobs;
  } catch (err) {
    view.list.replaceChildren(h('p.field-error', { text: err.message }));
    return;
  }
  view.jobs = jobs;
  view.list.replaceChildren(...(jobs.length ? jobs.map((j) => taskRow(view, j))
    : [h('p.muted', { text: 'No tasks yet.' })]));
  renderNotices(view);
  if (view.list.isConnected) view.timer = setTimeout(() => refresh(view), REFRESH_MS);
}

const epoch = (iso) => (iso ? Date.parse(iso) / 1000 : null);

function when(iso) {
  const t = epoch(iso);
  if (!t) return '';
  const diff = t - Date.now() / 1000;
  if (diff <= 0) return 'due now';
  if (diff < 60) return `in ${Math.ceil(diff)} s`;
  if (diff < 3600) return `in ${Math.round(diff / 60)} min`;
  if (diff < 86400) return `in ${Math.round(diff / 3600)} h`;
  return new Date(t * 1000).toLocaleString();
}

function taskRow(view, j) {
  const last = j.last_result;
  const outputs = h('details.task-outputs', { open: view.open.has(j.job_id) || null,
    ontoggle: (e) => { if (e.target.open) { view.open.add(j.job_id); showOutputs(j, list); } else view.open.delete(j.job_id); } },
  h('summary', { text: 'Recent firings' }));
  const list = h('ol.task-output-list');
  outputs.append(list);
  if (view.open.has(j.job_id)) showOutputs(j, list);
  return h('div.task-row', { dataset: { job: j.job_id, state: j.state } },
    h('div.task-head', null,
      h('div.task-main', null,
        h('div.task-name', null, h('span', { text: j.name }), h(`span.tag${STATES[j.state] ? '.' + STATES[j.state] : ''}`, { text: j.state })),
        h('div.task-meta', null,
          h('span', { text: `${j.schedule_display} · ${j.timezone}` }),
          j.next_run_at ? h('span.task-next', { text: `Next: ${when(j.next_run_at)}`, title: fullTime(epoch(j.next_run_at)) }) : null)),
      h('div.task-actions', null,
        h('button.btn.btn-sm', { type: 'button', text: 'Run now', 'aria-label': `Run ${j.name} now`, onclick: () => act(view, '/api/crons/run', j, 'Started.') }),
        j.state === 'paused'
          ? h('button.btn.btn-sm', { type: 'button', text: 'Resume', 'aria-label': `Resume ${j.name}`, onclick: () => act(view, '/api/crons/resume', j, 'Resumed.') })
          : j.state === 'scheduled'
            ? h('button.btn.btn-sm', { type: 'button', text: 'Pause', 'aria-label': `Pause ${j.name}`, onclick: () => act(view, '/api/crons/pause', j, 'Paused.') })
            : null,
        h('button.btn.btn-sm', { type: 'button', text: 'Edit', 'aria-label': `Edit ${j.name}`, onclick: () => showForm(view, j) }),
        j.session_id ? h('button.btn.btn-sm', { type: 'button', text: 'Open chat', 'aria-label': `Open the chat of ${j.name}`,
          onclick: () => openSession(j.session_id) }) : null,
        h('button.btn.btn-sm.btn-danger-ghost', { type: 'button', text: 'Delete', 'aria-label': `Delete ${j.name}`, onclick: () => remove(view, j) }))),
    h('p.task-prompt', { text: j.prompt }),
    last ? h('div.task-last', null,
      h(`span.tag${RESULTS[last.status] ? '.' + RESULTS[last.status] : '.tag-error'}`, { text: last.status }),
      h('span.muted', { text: ` ${agoText(epoch(last.finished_at))} ` }),
      h('span.task-preview', { text: last.preview })) : null,
    outputs);
}

async function showOutputs(j, list) {
  try {
    const { outputs } = await get('/api/crons/output', { job_id: j.job_id, limit: 10 });
    list.replaceChildren(...(outputs.length ? outputs.map((o) => h('li.task-output', null,
      h('div.task-output-head', null,
        h(`span.tag${RESULTS[o.status] ? '.' + RESULTS[o.status] : '.tag-error'}`, { text: o.status }),
        h('span', { text: ` ${o.trigger === 'manual' ? 'run now' : 'scheduled'} · ${fullTime(epoch(o.started_at || o.due_at))}` })),
      h('pre.task-output-text', { text: o.status === 'succeeded' ? (o.answer || '') : (o.error || 'running…') })))
      : [h('li.muted', { text: 'Not fired yet.' })]));
  } catch (err) {
    list.replaceChildren(h('li.field-error', { text: err.message }));
  }
}

async function act(view, path, j, done) {
  try {
    await post(path, { job_id: j.job_id });
    toast(`${j.name}: ${done}`, { kind: 'success' });
  } catch (err) {
    showError(err, j.name);
  }
  emit(EV.NOTICES_CHANGED);
  refresh(view);
}

async function remove(view, j) {
  const own = j.own_session ? ' and its chat' : '';
  const ok = await confirmDialog({ title: `Delete the task “${j.name}”?`, message: `Its schedule, its firings${own} are deleted.`,
    confirmLabel: 'Delete task', danger: true });
  if (!ok) return;
  await act(view, '/api/crons/delete', j, 'deleted.');
}

async function showForm(view, j) {
  let skills = [];
  try {
    skills = (await get('/api/skills')).skills.filter((s) => !s.error);
  } catch {
    // the form works without skills
  }
  const name = h('input.input', { type: 'text', value: j?.name || '', placeholder: 'Morning briefing', 'aria-label': 'Task name' });
  const prompt = h('textarea.input', { rows: 4, 'aria-label': 'Prompt', placeholder: 'Summarize the open issues…' });
  prompt.value = j?.prompt || '';
  const schedule = h('input.input.mono', { type: 'text', value: j?.schedule_display || '', placeholder: 'every 30m', 'aria-label': 'Schedule' });
  const zone = h('input.input', { type: 'text', value: j?.timezone || browserZone(), 'aria-label': 'Time zone' });
  let model = j?.model || '';
  const models = selectEl('Model', [['', 'The default model'], ...catalog().map((m) => [m.ref, m.ref])], model, (v) => { model = v; });
  const chosen = new Set(j?.skills || []);
  const skillBoxes = skills.length ? h('div.task-skills', null, skills.map((s) => h('label.check', null,
    h('input', { type: 'checkbox', checked: chosen.has(s.name) || null, onchange: (e) => (e.target.checked ? chosen.add(s.name) : chosen.delete(s.name)) }),
    h('span', { text: s.name })))) : h('p.muted', { text: 'No skills to give it.' });
  let target = '';
  const open = currentId() && state.session?.kind === 'chat' && !state.session.is_draft ? state.session : null;
  const targets = selectEl('Post into', [['', 'Its own chat (hidden from the list)'], ...(open ? [[open.session_id, `This chat: ${open.title}`]] : [])], '', (v) => { target = v; });
  const problem = h('p.field-error', { role: 'alert' });
  const save = h('button.btn.btn-primary', { type: 'button', text: j ? 'Save changes' : 'Create task', onclick: async () => {
    problem.textContent = '';
    const body = { name: name.value.trim() || null, prompt: prompt.value, schedule: schedule.value.trim(), timezone: zone.value.trim(),
      model: model || null, skills: [...chosen] };
    try {
      if (j) {
        if (body.schedule === j.schedule_display && body.timezone === j.timezone) { delete body.schedule; delete body.timezone; }
        await post('/api/crons/update', { job_id: j.job_id, ...body });
      } else {
        await post('/api/crons/create', { ...body, session_id: target || null });
      }
      toast(j ? 'Task saved.' : 'Task created.', { kind: 'success' });
      view.form.replaceChildren();
      refresh(view);
    } catch (err) {
      problem.textContent = err.message;
    }
  } });
  view.form.replaceChildren(h('div.task-form', null,
    h('h3.section-title', { text: j ? `Edit “${j.name}”` : 'New task' }),
    field('Name', name), field('Prompt', prompt, 'What the agent does at each firing.'),
    h('div.row-gap', null, field('Schedule', schedule, EXAMPLES), field('Time zone', zone)),
    field('Model', models), field('Skills', skillBoxes, 'Their instructions are given to each firing.'),
    j ? null : field('Post into', targets),
    problem, h('div.row-gap', null, save, h('button.btn', { type: 'button', text: 'Cancel', onclick: () => view.form.replaceChildren() }))));
  (j ? prompt : name).focus();
}

async function renderNotices(view) {
  let data;
  try {
    data = await get('/api/notices', { limit: 20 });
  } catch {
    return;
  }
  view.notices.replaceChildren(h('h3.section-title', { text: `Notices${data.unread ? ` (${data.unread} unread)` : ''}` }),
    data.notices.length ? h('ul.task-notice-list', null, data.notices.map((n) => h(`li.task-notice${n.read ? '' : '.unread'}`, null,
      h('span.task-notice-title', { text: n.title }), h('span.muted', { text: ` ${agoText(n.created_at)}` }),
      n.body ? h('div.task-notice-body', { text: n.body }) : null)))
      : h('p.muted', { text: 'Nothing yet.' }),
    data.unread ? h('button.btn.btn-sm', { type: 'button', text: 'Mark all read', onclick: async () => {
      await post('/api/notices/read', {}).catch((err) => showError(err));
      emit(EV.NOTICES_CHANGED);
      renderNotices(view);
    } }) : null);
}
