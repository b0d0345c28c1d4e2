// The assistant turn being streamed: segments follow the run's events (thinking, text, tool cards,
// approval and question cards, steered messages, text...), drawn at most every 60 ms while tokens arrive.
import { h } from '../dom.js';
import { icon } from '../icons.js';
import { DOM_EV } from '../events.js';
import { setMarkdown } from './markdown.js';
import { toolCard, updateToolCard, approvalCard, resolveApproval } from './tools.js';
import { planCard, updatePlanCard } from './plan.js';
import { thinkingCard, errorRow } from './messages.js';
import { clarifyCard, resolveClarify } from './clarify.js';

const CLARIFY = 'clarify';  // the tool whose call is drawn as a question card, not a tool card

/** The assistant turn being streamed. Segments follow the events: thinking, text, tools, text... */
export class LiveTurn {
  constructor({ showThinking = true, onApprove, onAnswer } = {}) {
    this.showThinking = showThinking;
    this.onApprove = onApprove;
    this.onAnswer = onAnswer;
    this.questions = [];    // clarify cards not yet resolved
    this.steering = [];     // steer notes sent from here and not yet taken by the run
    this.body = h('div.msg-body');
    this.indicator = h('div.typing', { 'aria-label': 'Working' }, h('span'), h('span'), h('span'));
    this.body.append(this.indicator);
    this.el = h('div.msg.msg-assistant.live', null, h('div.avatar', { 'aria-hidden': 'true' }, icon('logo', { size: 16 })), h('div.msg-main', null, this.body));
    this.textEl = null;
    this.text = '';
    this.thinking = null;
    this.thinkingStarted = 0;
    this.cards = new Map();
    this.planEl = null;
    this.approvals = [];
    this.frame = null;
    this.lastRender = 0;
    this.hadError = null;
  }

  token(text) {
    if (!text) return;
    this.settleBefore();
    if (!this.textEl) {
      this.textEl = h('div.md.streaming');
      this.text = '';
      this.body.append(this.textEl);
      this.placeIndicator();
    }
    this.text += text;
    this.scheduleRender();
  }

  reasoning(text) {
    if (!text || !this.showThinking) return;
    this.hideIndicator();
    if (!this.thinking) {
      this.flushText(true);
      this.thinking = thinkingCard('', { live: true, open: true });
      this.thinkingStarted = performance.now();
      this.body.append(this.thinking);
      this.placeIndicator();
    }
    this.thinking._body.textContent += text;
  }

  tool(data) {
    this.settleBefore();
    this.flushText(true);
    if (data.name === CLARIFY) { this.placeIndicator(); return; }   // its question card follows
    // A call id is reused by some providers in each model turn: a finished card with the same id
    // belongs to an earlier call, so this one gets its own.
    const id = data.tool_call_id || `${data.name}-${this.cards.size}`;
    let card = this.cards.get(id);
    if (!card || !card._call.running) {
      card = toolCard({ id, name: data.name, args: data.args, preview: data.preview, running: true });
      this.cards.set(id, card);
      this.body.append(card);
    }
    this.placeIndicator();
  }

  toolComplete(data) {
    this.resolveApprovals(data.approval || 'answered');
    if (data.name === CLARIFY && this.questions.length) {
      this.resolveQuestions(data.result ?? data.preview ?? '', 'answered');
      this.placeIndicator();
      return;
    }
    let card = data.tool_call_id ? this.cards.get(data.tool_call_id) : null;
    if (!card) card = [...this.cards.values()].reverse().find((c) => c._call.running && c._call.name === data.name);
    if (!card) {
      card = toolCard({ id: data.tool_call_id, name: data.name, args: data.args });
      this.cards.set(data.tool_call_id || `${data.name}-${this.cards.size}`, card);
      this.body.append(card);
    }
    updateToolCard(card, {
      running: false, args: data.args, preview: data.preview, duration: data.duration,
      is_error: !!data.is_error, approval: data.approval, result: data.result ?? data.preview,
    });
    this.placeIndicator();
  }

  /** An agent's plan: one card per turn, replaced whole at each update. */
  plan(data) {
    if (!this.planEl) { this.flushText(true); this.planEl = planCard(); this.body.append(this.planEl); }
    updatePlanCard(this.planEl, data.entries || []);
    this.placeIndicator();
  }

  approval(data) {
    this.hideIndicator();
    this.flushText(true);
    if (data.approval_id && this.approvals.some((c) => c.dataset.approvalId === data.approval_id)) return;
    const card = approvalCard(data, (choice) => this.onApprove?.(data, choice));
    this.approvals.push(card);
    this.body.append(card);
  }

  clarify(data) {
    this.hideIndicator();
    this.flushText(true);
    if (data.clarify_id && this.body.querySelector(`.clarify-card[data-clarify-id="${CSS.escape(data.clarify_id)}"]`)) return;
    const card = clarifyCard(data, (text) => this.onAnswer?.(data, text));
    this.questions.push(card);
    this.body.append(card);
  }

  resolveQuestions(text, how) {
    for (const card of this.questions) resolveClarify(card, text, how);
    this.questions = [];
  }

  /** Text sent to steer this run, until the run takes it (`steer`) or gives it back. */
  steerPending(text) {
    const note = steerNote(text, true);
    this.steering.push(note);
    this.body.append(note);
    this.placeIndicator();
  }

  steer(data) {
    this.settleBefore();
    this.flushText(true);
    const i = this.steering.findIndex((n) => n._text === data.text);
    const note = i >= 0 ? this.steering.splice(i, 1)[0] : steerNote(data.text, false);
    note.classList.remove('pending');
    note.querySelector('.steer-label').textContent = 'Steered';
    this.body.append(note);   // where the run took it
    this.placeIndicator();
  }

  /** The run gave steer text back (it came too late): its note goes, the text is queued instead. */
  leftover(text) {
    const i = this.steering.findIndex((n) => n._text === text);
    if (i >= 0) this.steering.splice(i, 1)[0].remove();
  }

  /** A line about the run (an attachment the model cannot take, compaction...). */
  notice(text) {
    this.flushText(true);
    this.body.append(h('div.note.note-inline.run-notice', null, h('span', { text })));
    this.placeIndicator();
  }

  error(data) {
    this.finishThinking();
    this.flushText(true);
    this.hideIndicator();
    this.hadError = data;
    this.body.append(errorRow(data.message || data.error || 'The run failed.', data.hint));
  }

  cancelled() {
    this.finishThinking();
    this.flushText(true);
    this.hideIndicator();
    this.body.append(h('div.note.note-inline', null, h('span', { text: 'Stopped' })));
  }

  finalize() {
    cancelAnimationFrame(this.frame);
    this.flushText(true);
    this.finishThinking();
    this.hideIndicator();
    this.resolveApprovals('expired');
    this.resolveQuestions('', 'expired');
    this.el.classList.remove('live');
  }

  settleBefore() {
    this.resolveApprovals();
    this.finishThinking();
    this.hideIndicator();
  }

  resolveApprovals(how = 'answered') {
    for (const card of this.approvals) resolveApproval(card, how);
    this.approvals = [];
  }

  finishThinking() {
    if (!this.thinking) return;
    const seconds = Math.max(1, Math.round((performance.now() - this.thinkingStarted) / 1000));
    this.thinking.classList.remove('live');
    this.thinking.open = false;
    this.thinking.querySelector('.thinking-label').textContent = `Thought for ${seconds}s`;
    this.thinking = null;
  }

  scheduleRender() {
    if (this.frame) return;
    const wait = Math.max(0, 60 - (performance.now() - this.lastRender));
    this.frame = requestAnimationFrame(() => {
      setTimeout(() => {
        this.frame = null;
        this.lastRender = performance.now();
        if (this.textEl) setMarkdown(this.textEl, this.text, { settled: false });
        this.el.dispatchEvent(new CustomEvent(DOM_EV.RENDERED, { bubbles: true }));
      }, wait);
    });
  }

  flushText(settle) {
    if (!this.textEl) return;
    cancelAnimationFrame(this.frame);
    this.frame = null;
    setMarkdown(this.textEl, this.text, { settled: settle });
    this.textEl.classList.remove('streaming');
    if (settle) { this.textEl = null; this.text = ''; }
  }

  placeIndicator() {
    this.body.append(this.indicator);
    this.indicator.hidden = false;
    if (this.textEl) this.indicator.hidden = true;
  }

  hideIndicator() { this.indicator.hidden = true; }
}

function steerNote(text, pending) {
  const note = h(`div.steer-note${pending ? '.pending' : ''}`, null,
    h('span.steer-label', { text: pending ? 'Steering at the next step' : 'Steered' }),
    h('span.steer-text', { text }));
  note._text = text;
  return note;
}
