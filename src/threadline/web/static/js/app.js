// Threadline's front end: everything the page wires up, in order, then the first loads.
import { hydrateIcons } from './icons.js';
import { initLayout, initShortcuts } from './layout.js';
import { initRouting, route, newChat } from './session.js';
import { initSidebar } from './sidebar.js';
import { initSearch, focusSearch } from './search.js';
import { initProjects, loadProjects } from './projects.js';
import { reload as loadSessions } from './list.js';
import { initListFeed } from './listfeed.js';
import { initHeader } from './header.js';
import { initTranscript } from './transcript.js';
import { initChat, stop } from './chat.js';
import { initSteer } from './steer.js';
import { initMessageActions } from './message-actions.js';
import { initComposer } from './composer.js';
import { initSide } from './side.js';
import { initWorkspace } from './workspace.js';
import { initRuntimes, loadRuntimes } from './runtimes.js';
import { initSettings, applyCachedTheme, loadSettings } from './settings.js';
import { initMemory } from './memory.js';
import { initSkills } from './skills.js';
import { initTasks } from './tasks.js';
import { initNotices, refreshNotices } from './notices.js';
import { initPersonas } from './personas.js';
import { maybeFirstRun } from './providers.js';
import { loadModels } from './models.js';
import { showError } from './dialogs.js';
import { loadCommands } from './commands.js';

applyCachedTheme();

async function main() {
  hydrateIcons();
  initLayout();
  initRouting();
  initSidebar();
  initListFeed();
  initSearch();
  initProjects();
  initHeader();
  initTranscript();
  initChat();
  initSteer();
  initMessageActions();
  initComposer();
  initSide();
  initWorkspace();
  initRuntimes();
  initSettings();
  initMemory();
  initSkills();
  initTasks();
  initNotices();
  initPersonas();
  initShortcuts({ newChat: () => newChat(), search: () => focusSearch(), stop: () => stop() });

  await Promise.all([loadSettings(), loadModels(), loadRuntimes(), loadProjects(), route(), loadSessions(), refreshNotices(), loadCommands()]);
  document.body.classList.add('ready');
  maybeFirstRun();
}

main().catch((err) => {
  console.warn('Threadline failed to start', err);
  showError(err, 'Threadline could not start');
});
