// The actions on one session, shared by the sidebar row's menu and the chat header's: rename (in
// the row, or through a dialog), pin, move to a project, archive, duplicate, export, delete.
import { post, apiUrl } from './api.js';
import { state } from './state.js';
import { EV, emit } from './events.js';
import { h } from './dom.js';
import { openMenu, confirmDialog, toast, showError } from './dialogs.js';
import { displayTitle } from './format.js';
import { openSession, currentId, patchSession } from './session.js';
import { chooseProjectMenu } from './projects.js';
import { patchRow, removeRow, rowById, upsert } from './list.js';

/** The row's menu, at the row's ⋯ button or where the context menu was asked for. */
export function openRowMenu(wrap, { anchor = null, x = null, y = null }) {
  const r = rowById(wrap.dataset.id);
  if (!r) return;
  const at = { anchor: anchor || wrap, x, y };
  openMenu(at.anchor, sessionMenuItems(r, { onRename: () => startRename(wrap), at }), { align: 'end', x, y });
}

/**
 * The actions on one session. `at` ({anchor, x, y}) is where the menu was opened, so a follow-up
 * menu ("Move to project…") opens in the same place.
 */
export function sessionMenuItems(r, { onRename, at }) {
  const download = (format) => {
    const a = h('a', { href: apiUrl('/api/session/export', { session_id: r.session_id, format }), download: '' });
    document.body.append(a);
    a.click();
    a.remove();
  };
  return [
    { label: 'Rename', icon: 'edit', hint: 'F2', onSelect: onRename },
    { label: r.pinned ? 'Unpin' : 'Pin', icon: 'pin', onSelect: () => setFlag(r, 'pin', { pinned: !r.pinned }) },
    { label: 'Move to project…', icon: 'hash', onSelect: () => chooseProjectMenu(r, (projectId) => moveSession(r, projectId), at) },
    { label: r.archived ? 'Restore from archive' : 'Archive', icon: 'archive', onSelect: () => setFlag(r, 'archive', { archived: !r.archived }) },
    { label: 'Duplicate', icon: 'copy', onSelect: () => duplicate(r) },
    'separator',
    { label: 'Export as Markdown', icon: 'download', onSelect: () => download('md') },
    { label: 'Export as JSON', icon: 'download', onSelect: () => download('json') },
    'separator',
    { label: 'Delete…', icon: 'trash', danger: true, hint: 'Del', onSelect: () => deleteSession(r) },
  ];
}

async function setFlag(r, endpoint, body) {
  try {
    const data = await post(`/api/session/${endpoint}`, { session_id: r.session_id, ...body });
    const updated = { ...r, ...body, ...(data.session || {}) };
    upsert(updated);
    if (r.session_id === currentId()) patchSession(body);
    if (endpoint === 'archive') {
      toast(body.archived ? 'Chat archived.' : 'Chat restored.', {
        action: { label: 'Undo', onSelect: () => setFlag(updated, 'archive', { archived: !body.archived }) },
      });
    }
  } catch (err) {
    showError(err);
  }
}

async function moveSession(r, projectId) {
  try {
    const data = await post('/api/session/move', { session_id: r.session_id, project_id: projectId });
    upsert({ ...r, project_id: projectId, ...(data.session || {}) });
    if (r.session_id === currentId()) patchSession({ project_id: projectId });
  } catch (err) {
    showError(err, 'Could not move the chat');
  }
}

async function duplicate(r) {
  try {
    const data = await post('/api/session/duplicate', { session_id: r.session_id });
    if (data.session) {
      upsert(data.session);
      await openSession(data.session.session_id);
    }
  } catch (err) {
    showError(err, 'Could not duplicate');
  }
}

export async function deleteSession(r) {
  const ok = await confirmDialog({
    title: 'Delete this chat?',
    message: `“${displayTitle(r)}” and its messages will be deleted for good.`,
    confirmLabel: 'Delete', danger: true,
  });
  if (!ok) return;
  try {
    await post('/api/session/delete', { session_id: r.session_id });
    removeRow(r.session_id);
    emit(EV.SESSION_DELETED, r.session_id);
    toast('Chat deleted.');
  } catch (err) {
    showError(err, 'Could not delete');
  }
}

/** Renames in the row itself: Enter or leaving the field saves, Esc cancels. */
export function startRename(wrap) {
  const r = rowById(wrap?.dataset.id);
  if (!r || wrap.classList.contains('renaming')) return;
  const titleEl = wrap.querySelector('.srow-title');
  const input = h('input.srow-input', { type: 'text', value: r.title === 'Untitled' ? '' : r.title, 'aria-label': 'Chat title', maxlength: '80' });
  wrap.classList.add('renaming');
  titleEl.replaceWith(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    wrap.classList.remove('renaming');
    const title = input.value.trim();
    const changed = save && title && title !== r.title;
    if (changed) titleEl.textContent = title;
    input.replaceWith(titleEl);
    if (changed) await renameSession(r.session_id, title);
    emit(EV.LIST_UPDATED, {});
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); finish(true); }
    if (e.key === 'Escape') { e.preventDefault(); finish(false); }
    e.stopPropagation();
  });
  input.addEventListener('blur', () => finish(true));
  input.addEventListener('click', (e) => e.preventDefault());
}

export async function renameSession(sessionId, title) {
  try {
    const data = await post('/api/session/rename', { session_id: sessionId, title });
    const newTitle = data.session?.title || title;
    const listed = patchRow(sessionId, { title: newTitle });
    if (sessionId === currentId()) {
      patchSession({ title: newTitle });
      if (!listed) upsert({ ...state.session, title: newTitle });
    }
  } catch (err) {
    showError(err, 'Could not rename');
  }
}
