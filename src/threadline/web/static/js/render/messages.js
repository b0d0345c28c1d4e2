// Stored messages -> DOM: user bubbles, assistant turns with their tool cards, btw and background
// cards, and the "< 2/3 >" switcher on a message that has other versions. The turn being streamed is
// live.js's LiveTurn.
import { h } from '../dom.js';
import { icon } from '../icons.js';
import { clockTime, fullTime, compactNumber } from '../format.js';
import { markdownEl } from './markdown.js';
import { toolCard, parseArgs } from './tools.js';
import { clarifyRecord } from './clarify.js';
import { planCard, updatePlanCard } from './plan.js';

/** Plain text of a message's content (a string, or a list of parts). */
export function contentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (typeof p === 'string' ? p : p?.text || '')).filter(Boolean).join('\n\n');
  }
  return content ? String(content) : '';
}

function isErrorRow(m) { return m._error || m.status === 'error'; }

/**
 * renderMessages(messages, {offset, showThinking, showUsage, usage, busy}) -> DocumentFragment
 * User rows become bubbles; the assistant and tool rows up to the next user row become one
 * assistant turn (thinking, text, tool cards with their results); btw pairs become side bubbles.
 * A turn knows the user message it answers, for "Regenerate".
 */
export function renderMessages(messages, opts = {}) {
  const frag = document.createDocumentFragment();
  const offset = opts.offset || 0;
  const matched = new Set();   // indexes of tool rows shown inside their call's card

  let turn = null;
  let asked = null;            // the user message the next turn answers
  const turns = [];
  const consumed = new Set();
  const startTurn = () => { turn = new TurnView(opts, asked); frag.append(turn.el); turns.push(turn); };
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const index = offset + i;
    if (m.side === 'btw') {
      turn = null;
      if (consumed.has(i)) continue;
      if (m.role === 'user') {
        let j = messages.findIndex((x, k) => k > i && !consumed.has(k) && x.side === 'btw' && x.role !== 'user'
          && (m.btw_id ? x.btw_id === m.btw_id : true));
        const answer = j >= 0 ? messages[j] : null;
        if (answer) consumed.add(j);
        frag.append(withVersions(btwBubble(contentText(m.content), answer, { timestamp: m.timestamp }), m, answer));
      } else {
        frag.append(withVersions(btwBubble('', m, { timestamp: m.timestamp }), m));
      }
      continue;
    }
    if (m.background) {
      turn = null;
      frag.append(withVersions(backgroundResult(m), m));
      continue;
    }
    if (m.summary) {
      turn = null;
      frag.append(withVersions(summaryCard(m), m));
      continue;
    }
    if (m.role === 'user') {
      turn = null;
      if (m.in_context !== false && !m.steer) asked = m;  // a steered message belongs to the running answer
      frag.append(userBubble(m, Number.isInteger(m.seq) ? m.seq : index));
      continue;
    }
    if (m.role === 'system') {
      turn = null;
      frag.append(withVersions(h('div.note', null, h('span', { text: contentText(m.content) })), m));
      continue;
    }
    if (m.role === 'tool') {
      if (matched.has(i)) continue;
      if (!turn) startTurn();
      turn.orphanResult(m);
      continue;
    }
    // assistant
    if (!turn) startTurn();
    turn.addAssistant(m, callResults(messages, i, matched), index);
  }
  turns.forEach((t, i) => t.fillActions(opts, i === turns.length - 1));
  return frag;
}

/**
 * "< 2/3 >": the versions of message `m` (`sibling_ids`), or null when it has none. The buttons carry
 * the id of the version they show (`data-action=version`, `data-target`).
 */
export function versionSwitch(m) {
  if (!(m?.sibling_count > 1) || !Array.isArray(m.sibling_ids)) return null;
  const i = m.sibling_index;
  const n = m.sibling_count;
  const button = (dir, label, target) => h('button.msg-action.version-step', {
    type: 'button', 'aria-label': label, title: label, disabled: target === undefined,
    dataset: { action: 'version', target: target === undefined ? '' : String(target) },
  }, icon(dir, { size: 14 }));
  return h('div.versions', { role: 'group', 'aria-label': `Version ${i + 1} of ${n}`, dataset: { id: String(m.id) } },
    button('chevron-left', 'Previous version', m.sibling_ids[i - 1]),
    h('span.versions-count', { text: `${i + 1}/${n}` }),
    button('chevron-right', 'Next version', m.sibling_ids[i + 1]));
}

/** Puts the switcher of a message that is not a bubble or a turn (btw, background, note) below it. */
function withVersions(el, ...messages) {
  const found = messages.map(versionSwitch).filter(Boolean);
  if (found.length) el.append(h('div.msg-versions', null, found));
  return el;
}

/**
 * The results of the calls that assistant message `i` made: the tool rows right after it (side
 * rows aside) with those call ids. Ids are unique only within one model turn: providers reuse
 * `call_1` in every turn, so a result is never looked up across the whole chat.
 */
function callResults(messages, i, matched) {
  const wanted = new Set((messages[i].tool_calls || []).map((c) => c.id).filter(Boolean));
  const results = new Map();
  for (let j = i + 1; j < messages.length && wanted.size; j++) {
    const m = messages[j];
    if (m.side || m.background) continue;
    if (m.role !== 'tool') break;
    if (!wanted.has(m.tool_call_id)) continue;
    wanted.delete(m.tool_call_id);
    results.set(m.tool_call_id, m);
    matched.add(j);
  }
  return results;
}

/** A context summary (compaction or /compress): what the model is sent instead of the messages above
 * it, which stay here. Collapsed; opening it shows the summary. */
function summaryCard(m) {
  const count = m.summary?.count || 0;
  const text = contentText(m.content).replace(/^\[Summary of [^\]]*\]\n\n/, '');
  return h('details.summary-card', { dataset: { id: String(m.id ?? ''), seq: String(m.seq ?? '') } },
    h('summary', { title: 'The messages above stay here and in search; the model gets this summary instead of them' },
      icon('archive', { size: 14 }),
      h('span', { text: `Context compacted: the model now gets a summary of the ${count} earlier messages` })),
    markdownEl(text));
}

/** A user message; a stored one (with an id) can be edited into a new version and shows its versions. */
export function userBubble(m, index) {
  const text = contentText(m.content);
  const attachments = Array.isArray(m.attachments) ? m.attachments : [];
  const stored = Number.isInteger(m.id);
  const el = h(`div.msg.msg-user${m.steer ? '.steered' : ''}`, { dataset: { index: String(index ?? ''), seq: String(m.seq ?? ''), id: stored ? String(m.id) : '' } },
    h('div.bubble', null,
      m.steer ? h('div.steer-label', { text: 'Steered mid-answer', title: 'Sent while the agent was working, and added to that answer' }) : null,
      h('div.user-text', { text: text.replace(/\n\n\[Attached files: [^\]]*\]$/, '') }),
      attachments.length ? h('div.msg-attachments', null, attachments.map((a) => h('span.file-chip', null, icon('file', { size: 14 }), h('span', { text: String(a) })))) : null),
    h('div.msg-actions', null,
      versionSwitch(m),
      m.timestamp ? h('time.msg-time', { text: clockTime(m.timestamp), title: fullTime(m.timestamp) }) : null,
      actionButton('copy', 'Copy message', 'copy'),
      stored && m.in_context !== false ? actionButton('edit', 'Edit and resend', 'edit') : null));
  el._text = text;
  return el;
}

function actionButton(iconName, label, action) {
  return h('button.msg-action', { type: 'button', 'aria-label': label, title: label, dataset: { action } }, icon(iconName, { size: 15 }));
}

export function thinkingCard(text, { live = false, open = false } = {}) {
  const body = h('div.thinking-body', { text: text || '' });
  const summary = h('summary', null, icon('sparkle', { size: 14 }), h('span.thinking-label', { text: live ? 'Thinking…' : 'Thoughts' }), icon('chevron-right', { size: 13 }));
  const details = h('details.thinking', { open: open || null }, summary, body);
  if (live) details.classList.add('live');
  details._body = body;
  return details;
}

function statusBadge(m) {
  if (m.status === 'interrupted') return h('span.msg-badge.warn', { title: 'The server stopped during this reply', text: 'Interrupted' });
  if (m.status === 'cancelled') return h('span.msg-badge', { text: 'Stopped' });
  if (m._partial || m.status === 'partial') return h('span.msg-badge', { title: 'This reply was stopped before it finished', text: 'Stopped' });
  return null;
}

export function errorRow(message, hint) {
  return h('div.error-row', { role: 'alert' },
    icon('alert', { size: 16 }),
    h('div', null, markdownEl(message || 'Something went wrong.'), hint ? h('p.error-hint', { text: hint }) : null));
}

/** One assistant turn of the stored transcript; `asked` is the user message it answers. */
class TurnView {
  constructor(opts, asked) {
    this.opts = opts;
    this.asked = asked;
    this.body = h('div.msg-body');
    this.actions = h('div.msg-actions');
    this.el = h('div.msg.msg-assistant', null, h('div.avatar', { 'aria-hidden': 'true' }, icon('logo', { size: 16 })), h('div.msg-main', null, this.body, this.actions));
    this.texts = [];
    this.timestamp = null;
    this.lastIndex = null;
    this.planEl = null;  // an agent's plan: one card per turn, showing the latest version stored
    this.rows = 0;
    this.versions = null;   // the switcher of the turn's first row, shown with the actions
  }

  /** The first row's versions go with the turn's actions; a later row's stand where it starts. */
  noteVersions(m) {
    const switcher = versionSwitch(m);
    if (this.rows++ === 0) this.versions = switcher;
    else if (switcher) this.body.append(h('div.msg-versions.inline', null, switcher));
  }

  addAssistant(m, results, index) {
    this.noteVersions(m);
    this.lastIndex = index;
    if (m.timestamp) this.timestamp = m.timestamp;
    if (isErrorRow(m)) {
      if (m.marker === 'cancel' || m.status === 'cancelled' || /^\*?task cancelled\.?\*?$/i.test(contentText(m.content).trim())) {
        if (!this.stopped) this.body.append(h('div.msg-status', null, h('span.msg-badge', { text: 'Stopped' })));
        this.stopped = true;
      } else {
        this.body.append(errorRow(contentText(m.content), m.hint));
      }
      return;
    }
    if (m.plan) {
      if (!this.planEl) { this.planEl = planCard(); this.body.append(this.planEl); }
      updatePlanCard(this.planEl, m.plan.entries || []);
    }
    if (m.reasoning && this.opts.showThinking !== false) this.body.append(thinkingCard(m.reasoning));
    const text = contentText(m.content);
    if (text.trim()) {
      this.texts.push(text);
      this.body.append(markdownEl(text));
    }
    for (const call of m.tool_calls || []) {
      const fn = call.function || {};
      const result = results.get(call.id);
      const failed = result && (result._error || result.status === 'error' || result.is_error);
      if ((call.name || fn.name) === 'clarify' && !failed) {   // a question to the user and the answer
        this.body.append(clarifyRecord(parseArgs(call.arguments ?? fn.arguments), result ? contentText(result.content) : undefined));
        continue;
      }
      const card = toolCard({
        id: call.id, name: call.name || fn.name, args: call.arguments ?? fn.arguments,
        result: result ? contentText(result.content) : undefined,
        is_error: result ? !!(result._error || result.status === 'error' || result.is_error) : false,
        approval: result?.approval,
        duration: result?.duration,
      });
      this.body.append(card);
    }
    const badge = statusBadge(m);
    if (badge) {
      this.body.append(h('div.msg-status', null, badge));
      if (badge.textContent === 'Stopped') this.stopped = true;
    }
  }

  orphanResult(m) {
    this.noteVersions(m);
    this.body.append(toolCard({ id: m.tool_call_id, name: m.name || 'tool', result: contentText(m.content) }));
  }

  fillActions(opts, isLast = false) {
    const a = this.actions;
    if (isLast) this.el.classList.add('last-turn');
    if (this.versions) a.append(this.versions);
    if (this.timestamp) a.append(h('time.msg-time', { text: clockTime(this.timestamp), title: fullTime(this.timestamp) }));
    if (this.texts.length) a.append(actionButton('copy', 'Copy reply', 'copy-turn'));
    if (!opts.busy && Number.isInteger(this.asked?.id)) {
      const regenerate = actionButton('retry', 'Regenerate', 'regenerate');
      regenerate.dataset.asked = String(this.asked.id);
      a.append(regenerate);
    }
    if (isLast && opts.showUsage && opts.usage) a.append(usageText(opts.usage));
    this.el._text = this.texts.join('\n\n');
  }
}

function usageText(usage) {
  const input = usage.input_tokens ?? usage.prompt_tokens;
  const output = usage.output_tokens ?? usage.completion_tokens;
  if (input === undefined && output === undefined) return null;
  return h('span.msg-usage', { title: 'Tokens for this turn', text: `${compactNumber(input)} in · ${compactNumber(output)} out` });
}

export function btwBubble(question, answer, { timestamp, live = false } = {}) {
  const answerEl = h('div.btw-answer');
  if (answer) {
    if (isErrorRow(answer)) answerEl.append(errorRow(contentText(answer.content)));
    else answerEl.append(markdownEl(contentText(answer.content)));
  }
  const el = h('div.msg.msg-btw', null,
    h('div.btw-card', null,
      h('div.btw-head', null, h('span.btw-tag', { text: 'btw' }), h('span.btw-question', { text: question }),
        timestamp ? h('time.msg-time', { text: clockTime(timestamp), title: fullTime(timestamp) }) : null),
      answerEl,
      h('div.btw-foot', { text: 'Side question · not part of the conversation' })));
  if (live) el.classList.add('live');
  el._answer = answerEl;
  return el;
}

export function backgroundResult(m) {
  const prompt = m.background?.prompt || '';
  // The stored text starts with a "**Background:** <prompt>" line for the model; the card shows it.
  const text = contentText(m.content).replace(/^\*\*Background:\*\*[^\n]*\n+/, '');
  const el = h('div.msg.msg-bg', null,
    h('div.bg-card', null,
      h('div.bg-head', null, icon('clock', { size: 15 }), h('span.bg-label', { text: 'Background task' }),
        h('span.bg-prompt', { text: prompt, title: prompt }),
        m.background?.session_id ? h('a.bg-open', { href: `/s/${m.background.session_id}`, dataset: { action: 'open-session', id: m.background.session_id }, text: 'Transcript' }) : null,
        m.timestamp ? h('time.msg-time', { text: clockTime(m.timestamp), title: fullTime(m.timestamp) }) : null),
      isErrorRow(m) ? errorRow(text) : markdownEl(text),
      statusBadge(m)));
  el._text = text;
  return el;
}
