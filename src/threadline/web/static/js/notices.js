// Notices: what happened while the user was elsewhere (a scheduled task finished, failed or was
// missed). The unread ones are listed at the top of the sidebar, their count is the Tasks button's
// badge. Read again every 20 s, when a run ends, when the page comes back into view and when the
// Tasks page changes something; opening a notice's chat marks that chat's notices read.
import { get, post } from './api.js';
import { h, $ } from './dom.js';
import { EV, on, emit } from './events.js';
import { icon } from './icons.js';
import { agoText } from './format.js';
import { openSession } from './session.js';
import { showError } from './dialogs.js';

const POLL_MS = 20000;
const SHOWN = 4;
let timer = null;
let unreadSessions = new Set();

export function initNotices() {
  on(EV.RUN_ENDED, () => refreshNotices());
  on(EV.NOTICES_CHANGED, () => refreshNotices());
  on(EV.SESSION_OPENED, (s) => { if (s && unreadSessions.has(s.session_id)) markRead({ session_id: s.session_id }); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshNotices(); });
}

export async function refreshNotices() {
  clearTimeout(timer);
  try {
    render(await get('/api/notices', { unread: 1, limit: 50 }));
  } catch {
    // offline or signed out: the next poll tries again
  }
  timer = setTimeout(refreshNotices, POLL_MS);
}

function render({ notices = [], unread = 0 }) {
  unreadSessions = new Set(notices.map((n) => n.session_id).filter(Boolean));
  const badge = $('#tasks-badge');
  badge.hidden = !unread;
  badge.textContent = unread > 99 ? '99+' : String(unread);
  $('#tasks-open').setAttribute('aria-label', unread ? `Tasks, ${unread} unread notice${unread === 1 ? '' : 's'}` : 'Tasks');
  const box = $('#notices');
  box.hidden = !notices.length;
  const more = unread - Math.min(notices.length, SHOWN);
  const links = h('div.notices-links', null,
    more > 0 ? h('button.link-btn', { type: 'button', text: `${more} more`, onclick: () => emit(EV.OPEN_PAGE, 'tasks') }) : null,
    h('button.link-btn', { type: 'button', text: 'Mark all read', onclick: () => markRead({}) }));
  box.replaceChildren(...notices.slice(0, SHOWN).map(noticeRow), links);
}

function noticeRow(n) {
  const kind = n.kind.endsWith('succeeded') ? 'ok' : n.kind.endsWith('missed') ? 'warn' : 'error';
  return h(`div.notice.notice-${kind}`, { role: 'listitem', dataset: { notice: n.notice_id } },
    h('button.notice-main', { type: 'button', title: n.session_id ? 'Open its chat' : n.title, onclick: () => openNotice(n) },
      h('span.notice-title', null, h('span.notice-dot'), h('span', { text: n.title }),
        h('span.notice-time', { text: agoText(n.created_at) })),
      n.body ? h('span.notice-body', { text: n.body }) : null),
    h('button.icon-btn.notice-dismiss', { type: 'button', 'aria-label': `Dismiss “${n.title}”`, title: 'Mark read',
      onclick: () => markRead({ notice_id: n.notice_id }) }, icon('x', { size: 14 })));
}

async function openNotice(n) {
  if (n.session_id) {
    await openSession(n.session_id);  // marks the chat's notices read (SESSION_OPENED)
  } else {
    await markRead({ notice_id: n.notice_id });
  }
}

async function markRead(which) {
  try {
    await post('/api/notices/read', which);
  } catch (err) {
    showError(err, 'Could not mark the notice read');
  }
  refreshNotices();
}
