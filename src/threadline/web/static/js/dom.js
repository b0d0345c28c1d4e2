// Tiny DOM helpers. Text always goes in through text nodes, never through innerHTML.
/**
 * h('button.primary', {type: 'button', onclick, 'aria-label': 'Close'}, 'Close')
 * Attributes: `class`, `text`, `dataset`, `style` (object, set through CSSOM), `on*` handlers,
 * booleans (true sets the attribute, false/null omit it), anything else as an attribute.
 */
export function h(spec, attrs = null, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') el.className = [el.className, value].filter(Boolean).join(' ');
      else if (key === 'text') el.textContent = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'style') for (const [p, v] of Object.entries(value)) el.style.setProperty(p, v);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Renders text with «marked» spans as <mark> elements, safely. */
export function highlightedSnippet(text) {
  const frag = document.createDocumentFragment();
  const parts = String(text || '').split(/([«»])/);
  let inMark = false;
  for (const part of parts) {
    if (part === '«') { inMark = true; continue; }
    if (part === '»') { inMark = false; continue; }
    if (!part) continue;
    frag.append(inMark ? h('mark', { text: part }) : document.createTextNode(part));
  }
  return frag;
}

export function isMac() {
  return /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h('textarea', { class: 'visually-hidden' });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}
