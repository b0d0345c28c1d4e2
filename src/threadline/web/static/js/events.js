// Every event the modules send each other, declared once, and the bus that carries them. A name
// that is not declared here throws, so a typo fails at once instead of going nowhere.

/** App events on the bus (`on` / `emit`); the detail each one carries is given beside it. */
export const EV = Object.freeze({
  // the open session
  SESSION_OPENED: 'session:opened',       // session: another session (or a new draft) is shown
  SESSION_REUSED: 'session:reused',       // session: "New chat" kept the open, empty one
  SESSION_RELOADED: 'session:reloaded',   // session: the open session was re-read from the server
  SESSION_META: 'session:meta',           // session: fields of the open session changed locally
  SESSION_DELETED: 'session:deleted',     // session id
  // the session list
  LIST_RELOAD: 'sessions:changed',        // -: re-read the list's first page from scratch
  LIST_UPDATED: 'sessions:rerender',      // {reset?}: rows or what they show changed; redraw
  LIST_TOUCH: 'sessions:touch',           // session (+ _firstText): a turn started in it
  LIST_TITLE: 'sessions:title',           // {session_id, title}: a title arrived from a run
  // runs of the open session
  BUSY: 'busy',                           // boolean: a run is starting or live in the open chat
  RUN_ENDED: 'run:ended',                 // {sessionId, reason}
  QUEUE: 'queue',                         // [{id, message, created_at}]: the server-side queue
  STEER_LEFTOVER: 'steer:leftover',       // {streamId, text}: steer text the run gave back
  // data loaded from the server
  SETTINGS: 'settings',                   // state.settings
  MODELS: 'models',                       // state.models
  PROJECTS: 'projects',                   // state.projects
  RUNTIMES: 'runtimes',                   // state.runtimes: the built-in agent and the ACP agents
  PERSONAS: 'personas',                   // state.personas (and state.tools, the names they pick from)
  // requests to other modules
  OPEN_SETTINGS: 'settings:open',         // section name
  OPEN_PAGE: 'page:open',                 // 'memory' | 'skills' | 'tasks': open that page
  NOTICES_CHANGED: 'notices:changed',     // -: notices may have changed; read them again
  OPEN_SETUP: 'setup:open',               // -: first-run provider setup
  PICK_MODEL: 'model:pick',               // -: open the model picker
  COMPOSER_FOCUS: 'composer:focus',       // -
  COMPOSER_FILL: 'composer:fill',         // text
  SHOW_VERSION: 'version:show',           // message id: show the version of the open chat it is in
  WORKSPACE_CHANGED: 'workspace:changed', // -: files may have changed (tool ran, upload)
  WORKSPACE_ROOT: 'workspace:root',       // path: the open session's workspace changed
  WORKSPACE_CLOSE: 'workspace:close',     // -
});

/** DOM events (CustomEvent, bubbling) dispatched on elements. */
export const DOM_EV = Object.freeze({
  RENDERED: 'threadline:rendered',        // a live turn drew new output; the transcript follows it
});

const NAMES = new Set(Object.values(EV));
const listeners = new Map();

function check(event) {
  if (!NAMES.has(event)) throw new Error(`undeclared event: ${event}`);
}

/** Subscribes `fn` to `event`; returns the function that unsubscribes it. */
export function on(event, fn) {
  check(event);
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
  return () => listeners.get(event).delete(fn);
}

export function emit(event, detail) {
  check(event);
  for (const fn of listeners.get(event) || []) {
    try { fn(detail); } catch (err) { console.warn(`listener for ${event} failed`, err); }
  }
}
