// Dates, sizes, names: formatting shared by the views.

const DAY = 86400;
const TITLE_CHARS = 64;

export function activityTime(row) {
  return Number(row.last_message_at || row.updated_at || row.created_at || 0);
}

export function startOfToday() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.getTime() / 1000;
}

export function groupLabel(row, today = startOfToday()) {
  if (row.pinned) return 'Pinned';
  const t = activityTime(row);
  if (t >= today) return 'Today';
  if (t >= today - DAY) return 'Yesterday';
  if (t >= today - 7 * DAY) return 'Previous 7 days';
  return 'Older';
}

export function relativeTime(epochSeconds) {
  if (!epochSeconds) return '';
  const diff = Date.now() / 1000 - epochSeconds;
  if (diff < 60) return 'now';
  if (diff < 3600) return `${Math.floor(diff / 60)}m`;
  if (diff < DAY) return `${Math.floor(diff / 3600)}h`;
  if (diff < 7 * DAY) return `${Math.floor(diff / DAY)}d`;
  const d = new Date(epochSeconds * 1000);
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleDateString(undefined, sameYear ? { month: 'short', day: 'numeric' } : { year: 'numeric', month: 'short' });
}

/** "5m ago", "just now", or a date for anything older than a week. */
export function agoText(epochSeconds) {
  const r = relativeTime(epochSeconds);
  if (r === 'now') return 'just now';
  return /^\d+[mhd]$/.test(r) ? `${r} ago` : r;
}

export function clockTime(epochSeconds) {
  if (!epochSeconds) return '';
  const d = new Date(epochSeconds * 1000);
  const today = startOfToday();
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (epochSeconds >= today) return time;
  return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}, ${time}`;
}

export function fullTime(epochSeconds) {
  return epochSeconds ? new Date(epochSeconds * 1000).toLocaleString() : '';
}

export function fileSize(bytes) {
  if (bytes === undefined || bytes === null) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function compactNumber(n) {
  n = Number(n || 0);
  if (n < 1000) return String(n);
  if (n < 1e6) return `${(n / 1000).toFixed(n < 1e4 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

export function basename(path) {
  if (!path) return '';
  const parts = String(path).replace(/[\\/]+$/, '').split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

export function displayTitle(session) {
  const title = (session?.title || '').trim();
  return title && title !== 'Untitled' ? title : 'New chat';
}

/**
 * The title a new chat shows until the server's arrives, by the server's rule (runs/titles.py): the
 * first line of the message's prose (code blocks and Markdown marks left out), cut at a word.
 */
export function provisionalTitle(text) {
  const raw = String(text || '');
  const squash = (line) => line.replace(/\s+/g, ' ').trim();
  const prose = raw.replace(/```[\s\S]*?(```|$)/g, '\n').split('\n').map((l) => squash(l.replace(/[`*_#>]+/g, '')));
  const first = prose.find(Boolean) || raw.split('\n').map(squash).find((l) => l && !l.startsWith('```'));
  if (!first) return 'New chat';
  if (first.length <= TITLE_CHARS) return first;
  const head = first.slice(0, TITLE_CHARS);
  const space = head.lastIndexOf(' ');
  return `${(space > 0 ? head.slice(0, space) : head).replace(/[,.;:]+$/, '')}…`;
}

export function modelLabel(model) {
  if (!model) return 'Model';
  const s = String(model);
  const slash = s.lastIndexOf('/');
  const colon = s.startsWith('@') ? s.indexOf(':') : -1;
  return s.slice(Math.max(slash, colon) + 1) || s;
}

export function extension(path) {
  const name = basename(path);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}
