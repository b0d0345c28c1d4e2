// The agent's plan (the `plan` event of an ACP agent): its entries and their status, one card per
// turn, replaced whole at each update.
import { h } from '../dom.js';
import { icon } from '../icons.js';

const STATUS = { completed: 'Done', in_progress: 'In progress', pending: 'To do' };

export function planCard() {
  const list = h('ol.plan-list');
  const progress = h('span.plan-progress');
  const card = h('div.plan-card', { role: 'group', 'aria-label': 'Plan' },
    h('div.plan-head', null, icon('check', { size: 14 }), h('span.plan-title', { text: 'Plan' }), progress), list);
  card._list = list;
  card._progress = progress;
  return card;
}

/** entries: [{content, priority, status}] */
export function updatePlanCard(card, entries) {
  const done = entries.filter((e) => e.status === 'completed').length;
  card._progress.textContent = `${done}/${entries.length}`;
  card._list.replaceChildren(...entries.map((e) => {
    const status = STATUS[e.status] ? e.status : 'pending';
    return h('li.plan-entry', { dataset: { status, priority: e.priority || 'medium' } },
      h('span.plan-mark', { 'aria-label': STATUS[status], title: STATUS[status] }, status === 'completed' ? icon('check', { size: 12 }) : null),
      h('span.plan-text', { text: e.content || '' }),
      e.priority === 'high' ? h('span.tag', { text: 'high' }) : null);
  }));
}
