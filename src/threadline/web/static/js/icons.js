// Line icons drawn for Threadline (24x24, stroked with currentColor).
// `icon(name)` returns an <svg>; `hydrateIcons(root)` fills every [data-icon] placeholder.

const SVG_NS = 'http://www.w3.org/2000/svg';

const PATHS = {
  logo: ['M4 13c2.7-6.5 5.3 6.5 8 0s5.3 6.5 8 0'],
  plus: ['M12 5v14', 'M5 12h14'],
  x: ['M18 6 6 18', 'M6 6l12 12'],
  search: ['M18 11a7 7 0 1 1-14 0 7 7 0 0 1 14 0Z', 'm20 20-4-4'],
  menu: ['M4 6h16', 'M4 12h16', 'M4 18h16'],
  edit: ['M12 20h8', 'M16.5 3.5a2.1 2.1 0 0 1 3 3L7.5 18.5 3 20l1.5-4.5Z'],
  trash: ['M4 7h16', 'M9 7V4.5h6V7', 'M6.5 7l1 13h9l1-13', 'M10 11v5', 'M14 11v5'],
  copy: ['M9 9h10a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H9a1 1 0 0 1-1-1V10a1 1 0 0 1 1-1Z', 'M16 9V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h3'],
  check: ['M20 6 9 17l-5-5'],
  pin: ['M12 16v5', 'M8.5 3.5h7l-1 5.5 3 3v2h-11v-2l3-3Z'],
  archive: ['M3.5 4.5h17v4h-17Z', 'M5 8.5v11h14v-11', 'M10 12.5h4'],
  more: ['M5 12h.01', 'M12 12h.01', 'M19 12h.01'],
  'chevron-right': ['m9 18 6-6-6-6'],
  'chevron-down': ['m6 9 6 6 6-6'],
  'chevron-up': ['m18 15-6-6-6 6'],
  'chevron-left': ['m15 18-6-6 6-6'],
  send: ['M12 19V5', 'm5.5 11.5 6.5-6.5 6.5 6.5'],
  stop: ['M7.5 7.5h9v9h-9Z'],
  paperclip: ['m20.5 11-8.4 8.4a5 5 0 0 1-7.1-7.1l8.4-8.4a3.3 3.3 0 0 1 4.7 4.7l-8.4 8.4a1.7 1.7 0 0 1-2.4-2.4l7.7-7.7'],
  folder: ['M3.5 6.5a2 2 0 0 1 2-2h3.8l2 2h7.2a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-13a2 2 0 0 1-2-2Z'],
  'folder-plus': ['M3.5 6.5a2 2 0 0 1 2-2h3.8l2 2h7.2a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-13a2 2 0 0 1-2-2Z', 'M12 10.5v5', 'M9.5 13h5'],
  file: ['M14 3.5H7a2 2 0 0 0-2 2v13a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2v-10Z', 'M14 3.5v5h5'],
  'file-plus': ['M14 3.5H7a2 2 0 0 0-2 2v13a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2v-10Z', 'M14 3.5v5h5', 'M12 11.5v6', 'M9 14.5h6'],
  upload: ['M12 15V4', 'm7.5 8.5 4.5-4.5 4.5 4.5', 'M4.5 15.5v3a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2v-3'],
  download: ['M12 4v11', 'm7.5 10.5 4.5 4.5 4.5-4.5', 'M4.5 15.5v3a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2v-3'],
  refresh: ['M20 12a8 8 0 1 1-2.4-5.7L20 8.5', 'M20 4v4.5h-4.5'],
  settings: ['M4 20v-6', 'M4 10V4', 'M12 20v-8', 'M12 8V4', 'M20 20v-4', 'M20 12V4', 'M2 14h4', 'M10 8h4', 'M18 16h4'],
  sun: ['M16 12a4 4 0 1 1-8 0 4 4 0 0 1 8 0Z', 'M12 2.5v2', 'M12 19.5v2', 'M5.3 5.3l1.4 1.4', 'M17.3 17.3l1.4 1.4', 'M2.5 12h2', 'M19.5 12h2', 'M5.3 18.7l1.4-1.4', 'M17.3 6.7l1.4-1.4'],
  moon: ['M20.5 13.2A8.5 8.5 0 1 1 10.8 3.5a6.6 6.6 0 0 0 9.7 9.7Z'],
  monitor: ['M3.5 5.5a1 1 0 0 1 1-1h15a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-15a1 1 0 0 1-1-1Z', 'M8.5 20.5h7', 'M12 16.5v4'],
  'panel-right': ['M4.5 3.5h15a1 1 0 0 1 1 1v15a1 1 0 0 1-1 1h-15a1 1 0 0 1-1-1v-15a1 1 0 0 1 1-1Z', 'M15 3.5v17'],
  'panel-left': ['M4.5 3.5h15a1 1 0 0 1 1 1v15a1 1 0 0 1-1 1h-15a1 1 0 0 1-1-1v-15a1 1 0 0 1 1-1Z', 'M9 3.5v17'],
  terminal: ['m5 16.5 5-4.5-5-4.5', 'M12.5 17h6.5'],
  tool: ['M14.5 6.5a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.3-3.3a5.5 5.5 0 0 1-7.3 7.3l-6.6 6.6a2 2 0 0 1-2.9-2.9l6.6-6.6a5.5 5.5 0 0 1 7.3-7.3Z'],
  sparkle: ['M12 3.5l1.8 4.9 4.9 1.8-4.9 1.8L12 16.9l-1.8-4.9-4.9-1.8 4.9-1.8Z', 'M18.5 16v4', 'M16.5 18h4'],
  alert: ['M12 9.5v4', 'M12 17h.01', 'M10.3 4.3 2.6 17.6a2 2 0 0 0 1.7 2.9h15.4a2 2 0 0 0 1.7-2.9L13.7 4.3a2 2 0 0 0-3.4 0Z'],
  shield: ['M12 21s7.5-3.5 7.5-9.5V5.5L12 3 4.5 5.5v6C4.5 17.5 12 21 12 21Z', 'M9 12l2 2 4-4'],
  message: ['M20.5 11.5a8 8 0 0 1-11.8 7.1L3.5 20.5l1.9-5A8 8 0 1 1 20.5 11.5Z'],
  clock: ['M20.5 12a8.5 8.5 0 1 1-17 0 8.5 8.5 0 0 1 17 0Z', 'M12 7.5V12l3 2'],
  retry: ['M4 12a8 8 0 1 0 2.4-5.7L4 8.5', 'M4 4v4.5h4.5'],
  undo: ['M9 14 4 9l5-5', 'M4 9h10.5a5.5 5.5 0 0 1 0 11H11'],
  cpu: ['M7 5.5h10a1.5 1.5 0 0 1 1.5 1.5v10a1.5 1.5 0 0 1-1.5 1.5H7A1.5 1.5 0 0 1 5.5 17V7A1.5 1.5 0 0 1 7 5.5Z', 'M9.5 9.5h5v5h-5Z', 'M9.5 2.5v3', 'M14.5 2.5v3', 'M9.5 18.5v3', 'M14.5 18.5v3', 'M2.5 9.5h3', 'M2.5 14.5h3', 'M18.5 9.5h3', 'M18.5 14.5h3'],
  lock: ['M6 11h12a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-8a1 1 0 0 1 1-1Z', 'M8 11V7.5a4 4 0 0 1 8 0V11'],
  hash: ['M4.5 9h15', 'M4.5 15h15', 'M10 3.5 8 20.5', 'M16 3.5l-2 17'],
  code: ['m16 18 6-6-6-6', 'M8 6l-6 6 6 6'],
  image: ['M5 4.5h14a1.5 1.5 0 0 1 1.5 1.5v12a1.5 1.5 0 0 1-1.5 1.5H5A1.5 1.5 0 0 1 3.5 18V6A1.5 1.5 0 0 1 5 4.5Z', 'M10 9.5a1.5 1.5 0 1 1-3 0 1.5 1.5 0 0 1 3 0Z', 'm20.5 15.5-5-5-9.5 9'],
  plug: ['M9 3.5v4', 'M15 3.5v4', 'M6.5 7.5h11v3a5.5 5.5 0 0 1-11 0Z', 'M12 16v4.5'],
  keyboard: ['M4 6.5h16a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1Z', 'M7 10h.01', 'M11 10h.01', 'M15 10h.01', 'M8 14h8'],
  info: ['M20.5 12a8.5 8.5 0 1 1-17 0 8.5 8.5 0 0 1 17 0Z', 'M12 11v5', 'M12 8h.01'],
  memory: ['M6.5 4.5h11a2 2 0 0 1 2 2v13l-3-2-3 2-3-2-3 2-3-2v-11a2 2 0 0 1 2-2Z', 'M8.5 9h7', 'M8.5 12.5h5'],
  play: ['M7.5 5.5v13l10.5-6.5Z'],
  pause: ['M8.5 5.5v13', 'M15.5 5.5v13'],
};

const FILLED = new Set(['stop']);

export function icon(name, { size = 18, label } = {}) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('class', `icon icon-${name}`);
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  svg.setAttribute('focusable', 'false');
  for (const d of PATHS[name] || PATHS.info) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    if (FILLED.has(name)) path.setAttribute('class', 'icon-fill');
    svg.append(path);
  }
  return svg;
}

export function hydrateIcons(root = document) {
  for (const el of root.querySelectorAll('[data-icon]')) {
    if (el.firstElementChild) continue;
    el.append(icon(el.dataset.icon, { size: Number(el.dataset.size) || 18 }));
    el.classList.add('icon-slot');
  }
}
