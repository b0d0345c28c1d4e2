// Panels: the sidebar and workspace panel are columns on a wide screen and slide-overs (with a
// backdrop) on a narrow one. Also the global keyboard shortcuts.
import { $, isMac } from './dom.js';
import { state, local } from './state.js';
import { EV, emit } from './events.js';

const NARROW = '(max-width: 820px)';
const MEDIUM = '(max-width: 1180px)';
let app; let backdrop;

export function initLayout() {
  app = $('#app');
  backdrop = $('#backdrop');
  if (local.get('sidebar_hidden', false)) app.classList.add('sidebar-hidden');
  $('#sidebar-collapse').addEventListener('click', () => toggleSidebar());
  $('#sidebar-open').addEventListener('click', () => toggleSidebar());
  backdrop.addEventListener('click', () => closeSlideOvers());
  window.matchMedia(NARROW).addEventListener('change', () => closeSlideOvers());
  $('#new-chat-kbd').textContent = isMac() ? '⌘K' : 'Ctrl K';
  $('#new-chat').title = `New chat (${isMac() ? '⌘K' : 'Ctrl+K'})`;
}

export function isNarrow() {
  return window.matchMedia(NARROW).matches;
}

export function toggleSidebar(force) {
  if (isNarrow()) {
    const open = force ?? !app.classList.contains('sidebar-open');
    app.classList.toggle('sidebar-open', open);
    if (open) app.classList.remove('workspace-open-narrow');
    syncBackdrop();
    if (open) $('#search-input').focus({ preventScroll: true });
    return;
  }
  const hidden = force === undefined ? !app.classList.contains('sidebar-hidden') : !force;
  app.classList.toggle('sidebar-hidden', hidden);
  local.set('sidebar_hidden', hidden);
}

/** Opens or closes the workspace panel; returns whether it is open. */
export function setWorkspaceOpen(open) {
  const panel = $('#workspace');
  panel.hidden = !open;
  app.classList.toggle('workspace-open', open);
  $('#workspace-toggle').setAttribute('aria-pressed', String(open));
  if (isNarrow() || window.matchMedia(MEDIUM).matches) {
    app.classList.toggle('workspace-overlay', open);
    if (open) app.classList.remove('sidebar-open');
  } else {
    app.classList.remove('workspace-overlay');
  }
  syncBackdrop();
  return open;
}

export function closeSlideOvers() {
  if (!app) return;
  app.classList.remove('sidebar-open');
  if (app.classList.contains('workspace-overlay')) emit(EV.WORKSPACE_CLOSE);
  syncBackdrop();
}

function syncBackdrop() {
  backdrop.hidden = !(app.classList.contains('sidebar-open') || app.classList.contains('workspace-overlay'));
}

/**
 * Global shortcuts. `actions` = {newChat, search, stop}. Esc closes a slide-over, else stops the
 * running reply, wherever the focus is, unless something took the key first (a menu, the slash
 * popup, a field's own Esc), a dialog is open, or an input method is composing text.
 */
export function initShortcuts(actions) {
  document.addEventListener('keydown', (e) => {
    const mod = e.metaKey || e.ctrlKey;
    if (document.querySelector('dialog[open]')) return;
    if (mod && !e.shiftKey && e.key.toLowerCase() === 'k') { e.preventDefault(); actions.newChat(); }
    else if (mod && e.shiftKey && e.key.toLowerCase() === 'f') { e.preventDefault(); toggleSidebar(true); actions.search(); }
    else if (mod && !e.shiftKey && e.key.toLowerCase() === 'b') { e.preventDefault(); toggleSidebar(); }
    else if (e.key === 'Escape' && !e.defaultPrevented && !e.isComposing && e.keyCode !== 229) {
      if (document.querySelector('.menu')) return;
      if (app.classList.contains('sidebar-open') || app.classList.contains('workspace-overlay')) closeSlideOvers();
      else if (state.busy) { e.preventDefault(); actions.stop(); }
    }
  });
}
