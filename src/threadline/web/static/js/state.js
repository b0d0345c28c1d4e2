// View state shared by the modules, and a tiny event bus. The server is the truth: this holds only
// what was last fetched and what the user is looking at.

export const state = {
  settings: {},
  models: { providers: [], default_model: null },
  projects: [],
  session: null,        // the open session (with messages), or a draft
  busy: false,          // the open session has a live run
  streamId: null,       // the live run's stream id
};

const listeners = new Map();

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
  return () => listeners.get(event).delete(fn);
}

export function emit(event, detail) {
  for (const fn of listeners.get(event) || []) {
    try { fn(detail); } catch (err) { console.warn(`listener for ${event} failed`, err); }
  }
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
