// The one owner of the page's state. The server is the truth: this holds what was last fetched and
// what the user is looking at. Modules read `state` freely and change it through the functions here
// when others must hear of the change; what a module keeps to itself is only DOM mechanics (element
// references, scroll positions, the virtual list's geometry) or a panel's own form input.
import { EV, emit } from './events.js';

export const state = {
  settings: {},
  models: { providers: [], default_model: null },
  projects: [],
  runtimes: [],         // the built-in agent and the configured ACP agents
  personas: [],         // the named prompts with their model, parameters and tools (/api/personalities)
  tools: [],            // the tool names a persona may pick from
  session: null,        // the open session (with messages), or a draft
  run: null,            // the run the open chat follows: {streamId, sessionId, turn, stream}
  starting: false,      // a chat/start request of the open chat is in flight
  busy: false,          // starting || run: the composer queues instead of sending
  usage: null,          // token usage of the open chat's last turn
  list: {               // the sidebar's list: pages of rows and which view they belong to
    rows: [],
    cursor: null,
    loading: false,
    generation: 0,      // bumped by every full reload; an answer for an older one is dropped
    archived: false,
    projectId: null,
  },
};

function syncBusy() {
  const busy = state.starting || !!state.run;
  if (busy === state.busy) return;
  state.busy = busy;
  emit(EV.BUSY, busy);
}

/** Sets (or clears, with null) the run the open chat follows. */
export function setRun(run) {
  state.run = run;
  syncBusy();
}

export function setPersonas(personas, tools) {
  state.personas = personas;
  state.tools = tools;
  emit(EV.PERSONAS, personas);
}

export function setStarting(starting) {
  state.starting = starting;
  syncBusy();
}

const PREFIX = 'threadline.';
export const local = {
  get(key, fallback = null) {
    try {
      const raw = localStorage.getItem(PREFIX + key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch { return fallback; }
  },
  set(key, value) {
    try { localStorage.setItem(PREFIX + key, JSON.stringify(value)); } catch { /* private mode */ }
  },
};
