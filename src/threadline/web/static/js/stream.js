// SSE for one run. EventSource resends Last-Event-ID (`<stream_id>:<seq>`) when it reconnects by
// itself; if the browser gives up (readyState CLOSED) we reopen with `after_seq` while the server
// still reports the stream active. Events at or below the last seen seq are dropped, so a replay
// never shows anything twice.
import { apiUrl, get } from './api.js';

export const STREAM_EVENTS = [
  'token', 'reasoning', 'plan', 'tool', 'tool_complete', 'approval', 'clarify', 'steer', 'pending_steer_leftover',
  'done', 'title', 'stream_end', 'apperror', 'cancel', 'warning', 'compressing', 'compressed', 'context_status',
];
const TERMINAL = new Set(['stream_end', 'apperror', 'cancel']);

/**
 * openStream(streamId, {onEvent(name, data, seq), onEnd(reason), onLost(), closeOn: Set})
 * Returns {close()}. `onEnd` runs once, after a terminal event (or one named in closeOn).
 */
export function openStream(streamId, { onEvent, onEnd, onLost, closeOn = new Set() } = {}) {
  let source = null;
  let lastSeq = -1;
  let closed = false;
  let retries = 0;

  function connect(afterSeq) {
    const query = { stream_id: streamId };
    if (afterSeq >= 0) query.after_seq = afterSeq;
    source = new EventSource(apiUrl('/api/chat/stream', query));
    for (const name of STREAM_EVENTS) source.addEventListener(name, (e) => handle(name, e));
    source.addEventListener('open', () => { retries = 0; });
    source.addEventListener('error', onError);
  }

  function handle(name, event) {
    if (closed) return;
    const seq = parseSeq(event.lastEventId);
    if (seq !== null) {
      if (seq <= lastSeq) return;
      lastSeq = seq;
    }
    let data = {};
    try { data = event.data ? JSON.parse(event.data) : {}; } catch { data = { text: event.data }; }
    onEvent?.(name, data, seq);
    if (TERMINAL.has(name) || closeOn.has(name)) finish(name);
  }

  async function onError() {
    if (closed || source.readyState !== EventSource.CLOSED) return; // the browser is retrying
    source.close();
    if (retries++ > 8) { finish('lost'); onLost?.(); return; }
    try {
      const status = await get('/api/chat/stream/status', { stream_id: streamId });
      if (closed) return;
      if (status.active || status.replay_available) {
        setTimeout(() => { if (!closed) connect(lastSeq); }, Math.min(500 * retries, 4000));
        return;
      }
    } catch { /* fall through: treat as lost */ }
    if (!closed) { finish('lost'); onLost?.(); }
  }

  function finish(reason) {
    if (closed) return;
    closed = true;
    source?.close();
    onEnd?.(reason);
  }

  connect(-1);
  return {
    close() { closed = true; source?.close(); },
    get lastSeq() { return lastSeq; },
  };
}

function parseSeq(id) {
  if (!id) return null;
  const idx = id.lastIndexOf(':');
  const n = Number(idx >= 0 ? id.slice(idx + 1) : id);
  return Number.isFinite(n) ? n : null;
}
