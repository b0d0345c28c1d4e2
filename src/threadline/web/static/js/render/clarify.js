// The agent's questions (clarify): a card with the question, a button per offered choice and a free
// answer; once answered (or given up) it says what happened. Stored questions are drawn resolved.
import { h } from '../dom.js';
import { icon } from '../icons.js';

// The tool's result when nobody answered in time (agent/tools/clarify.py NO_ANSWER).
const NO_ANSWER = /^No answer: the user did not reply in time/;

/** clarifyCard({clarify_id, question, choices_offered}, onAnswer(text) -> Promise). Without
 * `onAnswer` the card is only a record (a stored question). */
export function clarifyCard(question, onAnswer = null) {
  const choices = Array.isArray(question.choices_offered) ? question.choices_offered : [];
  const actions = h('div.clarify-actions');
  const card = h('div.clarify-card', { role: 'group', 'aria-label': 'Question from the agent', dataset: { clarifyId: question.clarify_id || '' } },
    h('div.clarify-head', null, icon('message', { size: 16 }), h('span.clarify-title', { text: 'The agent asks' })),
    h('p.clarify-question', { text: question.question || '' }),
    actions);
  if (!onAnswer) return card;
  const answer = async (text) => {
    const value = text.trim();
    if (!value) return;
    for (const el of actions.querySelectorAll('button, input')) el.disabled = true;
    try {
      await onAnswer(value);
      resolveClarify(card, value);
    } catch {
      for (const el of actions.querySelectorAll('button, input')) el.disabled = false;
    }
  };
  if (choices.length) {
    actions.append(h('div.clarify-choices', null, choices.map((choice) => h('button.btn.btn-sm', {
      type: 'button', text: choice, dataset: { choice }, onclick: () => answer(choice),
    }))));
  }
  const input = h('input.input.clarify-input', { type: 'text', maxlength: '20000', 'aria-label': 'Your answer',
    placeholder: choices.length ? 'Or answer in your own words…' : 'Your answer…' });
  const submit = h('button.btn.btn-sm.btn-primary', { type: 'submit', text: 'Answer', disabled: true });
  input.addEventListener('input', () => { submit.disabled = !input.value.trim(); });
  actions.append(h('form.clarify-form', { onsubmit: (e) => { e.preventDefault(); answer(input.value); } }, input, submit));
  return card;
}

/** Marks a card answered with `text`; `how` is 'answered' (with the text), 'expired' or 'elsewhere'. */
export function resolveClarify(card, text, how = 'answered') {
  if (card.classList.contains('resolved')) return;
  const unanswered = how !== 'answered' || NO_ANSWER.test(text || '');
  card.classList.add('resolved', unanswered ? 'unanswered' : 'answered');
  const label = how === 'expired' ? 'No longer waiting for an answer'
    : how === 'elsewhere' ? 'Answered'
      : unanswered ? 'No answer in time: the agent used its own judgement' : 'Answered:';
  card.querySelector('.clarify-actions').replaceChildren(h('div.clarify-result', null,
    icon(unanswered ? 'clock' : 'check', { size: 14 }), h('span', { text: label }),
    how === 'answered' && !unanswered ? h('span.clarify-answer', { text }) : null));
}

/** A stored question and its answer (the clarify tool call and its result). */
export function clarifyRecord(args, result) {
  const card = clarifyCard({ question: args?.question, choices_offered: args?.choices });
  resolveClarify(card, result ?? '', result === undefined ? 'expired' : 'answered');
  return card;
}
