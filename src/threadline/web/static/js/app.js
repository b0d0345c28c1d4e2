// Threadline's front end: everything the page wires up, in order.
import { hydrateIcons } from './icons.js';
import { initLayout, initShortcuts } from './layout.js';
import { initRouting, route, newChat } from './session.js';
import { initSidebar, reload as loadSessions, focusSearch } from './sidebar.js';
import { loadProjects } from './projects.js';
import { initHeader } from './header.js';
import { initChat } from './chat.js';
import { initComposer } from './composer.js';
import { initSide } from './side.js';
import { initWorkspace } from './workspace.js';
import { initSettings, applyCachedTheme, loadSettings, loadModels, maybeFirstRun } from './settings.js';
import { showError } from './dialogs.js';

applyCachedTheme();

async function main() {
  hydrateIcons();
  initLayout();
  initRouting();
  initSidebar();
  initHeader();
  initChat();
  initComposer();
  initSide();
  initWorkspace();
  initSettings();
  initShortcuts({ newChat: () => newChat(), search: () => focusSearch() });

  await Promise.all([loadSettings(), loadModels(), loadProjects(), route(), loadSessions()]);
  document.body.classList.add('ready');
  maybeFirstRun();
}

main().catch((err) => {
  console.warn('Threadline failed to start', err);
  showError(err, 'Threadline could not start');
});
