// What the composer does with a message while a run is live: queue it for the next turn (the
// default), steer the running answer with it (taken at the run's next step), or interrupt (queue
// it, then stop the run). Text the run accepted but could not take comes back
// (`pending_steer_leftover`) and is queued, by the tab that sent it only: this tab's sent steer
// texts are kept in sessionStorage, so a reload still knows them and another tab never queues them.
import { post } from './api.js';
import { state } from './state.js';
import { EV, on } from './events.js';
import { toast, showError } from './dialogs.js';
import { send, enqueue, stop } from './chat.js';
import { currentId } from './session.js';

const SENT_KEY = 'threadline.steered';   // sessionStorage: [{runId, text}]
const FALLBACKS = {
  agent_lacks_steer: 'This agent cannot take a message mid-answer; it is queued for the next turn.',
  stream_dead: 'The answer is finishing; the message is queued for the next turn.',
  steer_error: 'Could not reach the answer; the message is queued for the next turn.',
};

export function initSteer() {
  on(EV.STEER_LEFTOVER, ({ streamId, text }) => {
    if (takeSent(streamId, text)) enqueue(text);
  });
}

/** Sends `text` into the live run; with none, it is sent as a message. Resolves to true when handled. */
export async function steer(text) {
  const message = text.trim();
  if (!message) return false;
  if (!state.busy || !state.run) return send(message);
  const run = state.run;
  let data;
  try {
    data = await post('/api/chat/steer', { session_id: currentId(), text: message });
  } catch (err) {
    showError(err, 'Could not steer the answer');
    return false;
  }
  if (data.accepted) {
    remember(data.stream_id || run.streamId, message);
    if (state.run === run) run.turn.steerPending(message);
    return true;
  }
  if (data.fallback === 'not_running') return send(message);
  toast(FALLBACKS[data.fallback] || 'The message is queued for the next turn.');
  return enqueue(message);
}

/** Queues `text` and stops the live run, so the text runs next; with no run it is sent. */
export async function interrupt(text) {
  const message = text.trim();
  if (!message) return false;
  if (!state.busy) return send(message);
  const ok = await enqueue(message);
  if (ok) await stop();
  return ok;
}

function sent() {
  try { return JSON.parse(sessionStorage.getItem(SENT_KEY) || '[]'); } catch { return []; }
}

function save(items) {
  try { sessionStorage.setItem(SENT_KEY, JSON.stringify(items.slice(-50))); } catch { /* private mode */ }
}

function remember(runId, text) {
  save([...sent(), { runId, text }]);
}

/** True (and forgotten) when this tab sent `text` to the run `runId`. */
function takeSent(runId, text) {
  const items = sent();
  const i = items.findIndex((s) => s.runId === runId && s.text === text);
  if (i < 0) return false;
  items.splice(i, 1);
  save(items);
  return true;
}
