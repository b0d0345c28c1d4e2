// Settings › Approvals: what runs without asking ("Always", and this chat's), each with Revoke.
import { get, post } from './api.js';
import { state } from './state.js';
import { h } from './dom.js';
import { showError, toast } from './dialogs.js';

const SCOPES = { always: 'Always', session: 'This chat' };

/** The panel's content; it loads the list itself. */
export function approvalsPanel() {
  const box = h('div.approvals-settings', null, h('p.muted', { text: 'Loading…' }));
  renderApprovals(box);
  return box;
}

async function renderApprovals(box) {
  const s = state.session;
  const sessionId = s && !s.is_draft ? s.session_id : null;
  let approvals;
  try {
    approvals = (await get('/api/approvals', { session_id: sessionId })).approvals || [];
  } catch (err) {
    box.replaceChildren(h('p.field-error', { text: err.message }));
    return;
  }
  const help = h('p.field-help', {
    text: 'A command runs without asking only when every program in it is approved here, and it has no '
      + 'substitution, wrapper (env, xargs, sh -c…) or redirection outside the workspace. Approving a '
      + 'program allows it with any arguments.',
  });
  const list = approvals.length
    ? h('ul.approval-list', { 'aria-label': 'Approved programs and tools' }, approvals.map((a) => approvalRow(a, box)))
    : h('p.muted.approval-empty', { text: 'Nothing is approved for later: every command asks first.' });
  box.replaceChildren(help, list);
}

function approvalRow(a, box) {
  const revoke = h('button.btn.btn-sm.btn-danger-ghost', {
    type: 'button', text: 'Revoke', 'aria-label': `Revoke ${a.pattern} (${SCOPES[a.scope] || a.scope})`,
    onclick: async () => {
      revoke.disabled = true;
      try {
        await post('/api/approvals/revoke', { tool: a.tool, pattern: a.pattern, session_id: a.session_id ?? undefined });
        toast(`${a.pattern} will ask again.`);
      } catch (err) {
        showError(err, 'Could not revoke the approval');
      }
      renderApprovals(box);
    },
  });
  return h('li.approval-row', { dataset: { scope: a.scope, pattern: a.pattern } },
    h('code.approval-pattern', { text: a.pattern === '*' ? `every ${a.tool} call` : a.pattern }),
    h('span.approval-meta', { text: `${a.tool} · ${SCOPES[a.scope] || a.scope}` }),
    revoke);
}
