// Tool cards (a call, its arguments and result) and approval cards.
import { h } from '../dom.js';
import { icon } from '../icons.js';

const RESULT_PREVIEW = 4000;
const KEY_ARGS = ['command', 'cmd', 'path', 'file', 'filename', 'pattern', 'query', 'url', 'name'];

export function parseArgs(args) {
  if (args && typeof args === 'object') return args;
  if (typeof args === 'string') {
    try { const parsed = JSON.parse(args); return parsed && typeof parsed === 'object' ? parsed : { value: args }; } catch { return args ? { value: args } : {}; }
  }
  return {};
}

export function argSummary(args, preview) {
  const parsed = parseArgs(args);
  for (const key of KEY_ARGS) {
    if (typeof parsed[key] === 'string' && parsed[key]) return oneLine(parsed[key]);
  }
  const first = Object.values(parsed).find((v) => typeof v === 'string' && v);
  if (first) return oneLine(first);
  return preview ? oneLine(String(preview)) : '';
}

function oneLine(s) {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

function toolIcon(name) {
  if (/shell|command|exec|bash|terminal/i.test(name)) return 'terminal';
  if (/file|read|write|edit|list|dir/i.test(name)) return 'file';
  if (/search|grep|find/i.test(name)) return 'search';
  return 'tool';
}

function formatDuration(seconds) {
  if (seconds === undefined || seconds === null) return '';
  const s = Number(seconds);
  if (!Number.isFinite(s)) return '';
  return s < 1 ? `${Math.max(1, Math.round(s * 1000))} ms` : `${s.toFixed(s < 10 ? 1 : 0)} s`;
}

// A call that did not run for want of consent is not an error: it is shown in a neutral style.
const REFUSED = { denied: 'Denied', timed_out: 'Timed out' };

/** toolCard({id, name, args, preview, result, duration, is_error, approval, running}) */
export function toolCard(call) {
  const statusEl = h('span.tool-status');
  const body = h('div.tool-body', { hidden: true });
  const head = h('button.tool-head', { type: 'button', 'aria-expanded': 'false' },
    h('span.tool-icon', null, icon(toolIcon(call.name || ''), { size: 15 })),
    h('span.tool-name', { text: call.name || 'tool' }),
    h('span.tool-arg', { text: argSummary(call.args, call.preview) }),
    statusEl,
    h('span.tool-caret', null, icon('chevron-right', { size: 14 })));
  const card = h('div.tool-card', { dataset: { toolCallId: call.id || '' } }, head, body);
  head.addEventListener('click', () => {
    const open = head.getAttribute('aria-expanded') !== 'true';
    head.setAttribute('aria-expanded', String(open));
    card.classList.toggle('open', open);
    if (open) fillBody(card);
    body.hidden = !open;
  });
  card._call = { ...call };
  updateToolCard(card, call);
  return card;
}

export function updateToolCard(card, data) {
  Object.assign(card._call, Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined)));
  const call = card._call;
  const status = card.querySelector('.tool-status');
  status.replaceChildren();
  const refused = REFUSED[call.approval] || null;
  card.classList.toggle('running', !!call.running);
  card.classList.toggle('error', !!call.is_error && !refused);
  card.classList.toggle('refused', !!refused);
  if (call.running) {
    status.append(h('span.spinner', { 'aria-hidden': 'true' }), h('span.visually-hidden', { text: 'Running' }));
  } else if (refused) {
    status.append(h('span.tool-badge.neutral', { text: refused }));
  } else if (call.is_error) {
    status.append(h('span.tool-badge.error', { text: 'Error' }));
  } else if (call.duration !== undefined && call.duration !== null) {
    status.append(h('span.tool-time', { text: formatDuration(call.duration) }));
  }
  const arg = card.querySelector('.tool-arg');
  const summary = argSummary(call.args, call.preview);
  if (summary) arg.textContent = summary;
  if (card.classList.contains('open')) fillBody(card);
}

function fillBody(card) {
  const call = card._call;
  const body = card.querySelector('.tool-body');
  const parsed = parseArgs(call.args);
  const sections = [];
  if (Object.keys(parsed).length) {
    const command = typeof parsed.command === 'string' && Object.keys(parsed).length === 1 ? parsed.command : null;
    sections.push(h('div.tool-section', null,
      h('div.tool-label', { text: command ? 'Command' : 'Arguments' }),
      h('pre.tool-pre', { text: command ?? JSON.stringify(parsed, null, 2) })));
  }
  const result = call.result ?? (call.running ? null : call.preview);
  if (result !== null && result !== undefined && result !== '') {
    const text = typeof result === 'string' ? result : JSON.stringify(result, null, 2);
    const pre = h('pre.tool-pre', { text: text.length > RESULT_PREVIEW ? text.slice(0, RESULT_PREVIEW) : text });
    const label = REFUSED[call.approval] ? 'Not run' : call.is_error ? 'Error' : 'Result';
    const section = h('div.tool-section', null, h('div.tool-label', { text: label }), pre);
    if (text.length > RESULT_PREVIEW) {
      section.append(h('button.link-btn', {
        type: 'button', text: `Show all ${text.length.toLocaleString()} characters`,
        onclick: (e) => { pre.textContent = text; e.currentTarget.remove(); },
      }));
    }
    sections.push(section);
  } else if (call.running) {
    sections.push(h('div.tool-section.muted', { text: 'Running…' }));
  }
  body.replaceChildren(...sections);
}

const CHOICES = [
  { choice: 'once', label: 'Allow once', primary: true },
  { choice: 'session', label: 'Allow for this chat' },
  { choice: 'always', label: 'Always allow' },
  { choice: 'deny', label: 'Deny', danger: true },
];
const RESOLVED = { once: 'Allowed once', session: 'Allowed for this chat', always: 'Always allowed', deny: 'Denied', denied: 'Denied', timed_out: 'Timed out: not run', answered: 'Answered', expired: 'No longer pending' };

/** approvalCard({approval_id, command, description, tool, covers, covers_text}, onChoice(choice) -> Promise).
 * ``covers`` is what "Always" would store (null: it cannot be stored, and those buttons allow once). */
export function approvalCard(approval, onChoice) {
  const actions = h('div.approval-actions');
  const card = h('div.approval-card', { role: 'group', 'aria-label': 'Approval required', dataset: { approvalId: approval.approval_id || '' } },
    h('div.approval-head', null, icon('shield', { size: 16 }),
      h('span.approval-title', { text: 'Approval needed' }),
      approval.tool ? h('span.approval-tool', { text: approval.tool }) : null),
    approval.description && approval.description.trim() !== (approval.command || '').trim() ? h('p.approval-desc', { text: approval.description }) : null,
    approval.command ? h('pre.approval-cmd', { text: approval.command }) : null,
    approval.covers_text ? h(`p.approval-covers${approval.covers ? '' : '.once-only'}`, { text: approval.covers_text }) : null,
    actions);
  for (const c of CHOICES) {
    actions.append(h(`button.btn.btn-sm${c.primary ? '.btn-primary' : ''}${c.danger ? '.btn-danger-ghost' : ''}`, {
      type: 'button', text: c.label, dataset: { choice: c.choice },
      onclick: async () => {
        for (const b of actions.querySelectorAll('button')) b.disabled = true;
        // Kept on the card first: the run's next event may resolve the card before the answer's reply.
        card.dataset.chosen = approval.covers === null && c.choice !== 'deny' ? 'once' : c.choice;
        try {
          await onChoice(c.choice);
          resolveApproval(card, card.dataset.chosen);
        } catch {
          delete card.dataset.chosen;
          for (const b of actions.querySelectorAll('button')) b.disabled = false;
        }
      },
    }));
  }
  return card;
}

/** Marks a card answered: with ``choice``, or, when the stream reports an answer or the run's end
 * before the reply to this card's own answer came, with the choice made on it. */
export function resolveApproval(card, choice = 'answered') {
  if (card.classList.contains('resolved')) return;
  if ((choice === 'answered' || choice === 'expired') && card.dataset.chosen) choice = card.dataset.chosen;
  card.classList.add('resolved', ['deny', 'denied', 'timed_out'].includes(choice) ? 'denied' : 'allowed');
  const actions = card.querySelector('.approval-actions');
  const refused = card.classList.contains('denied');
  actions.replaceChildren(h('span.approval-result', null, icon(refused ? 'x' : 'check', { size: 14 }), h('span', { text: RESOLVED[choice] || RESOLVED.answered })));
}
