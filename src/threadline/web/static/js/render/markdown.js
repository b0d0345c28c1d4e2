// Markdown -> sanitized DOM. marked parses, DOMPurify sanitizes (every model or user HTML goes
// through it), highlight.js colours code once a block is settled, and each block gets a copy button.
import { marked } from '../../vendor/marked/marked.esm.js';
import DOMPurify from '../../vendor/dompurify/purify.es.mjs';
import hljs from '../../vendor/highlight/highlight.min.js';
import { h, copyText } from '../dom.js';
import { icon } from '../icons.js';

marked.setOptions({ gfm: true, breaks: false });

const PURIFY_OPTIONS = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
  FORBID_ATTR: ['style'],
};

const ALIGNS = new Set(['left', 'center', 'right']);

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  // A table column's alignment (`:---:`) comes as `align`; the stylesheet's cell rule would win over
  // it, and the CSP forbids inline styles, so it becomes a class.
  if ((node.tagName === 'TH' || node.tagName === 'TD') && node.hasAttribute('align')) {
    const align = node.getAttribute('align').toLowerCase();
    node.removeAttribute('align');
    if (ALIGNS.has(align)) node.classList.add(`align-${align}`);
  }
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    const href = node.getAttribute('href') || '';
    if (!href.startsWith('#')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  }
  // The CSP allows images only from this origin and data:/blob: URLs; anything else becomes a link
  // rather than a blocked request.
  if (node.tagName === 'IMG') {
    const src = node.getAttribute('src') || '';
    const local = src.startsWith('/') && !src.startsWith('//');
    if (!local && !src.startsWith('data:image/') && !src.startsWith('blob:')) {
      node.setAttribute('data-remote-src', src);
      node.removeAttribute('src');
    }
    node.setAttribute('loading', 'lazy');
  }
});

export function sanitize(html) {
  return DOMPurify.sanitize(html, PURIFY_OPTIONS);
}

/** Fills `el` with rendered markdown. `settled=false` while streaming skips highlighting. */
export function setMarkdown(el, text, { settled = true } = {}) {
  let html;
  try {
    html = marked.parse(String(text ?? ''), { async: false });
  } catch {
    el.textContent = String(text ?? '');
    return el;
  }
  el.innerHTML = sanitize(html);
  for (const img of el.querySelectorAll('img[data-remote-src]')) {
    const link = h('a', { href: img.dataset.remoteSrc, target: '_blank', rel: 'noopener noreferrer', text: img.getAttribute('alt') || 'image' });
    img.replaceWith(link);
  }
  for (const table of el.querySelectorAll('table')) {
    const wrap = h('div.table-wrap');
    table.replaceWith(wrap);
    wrap.append(table);
  }
  enhanceCode(el, settled);
  return el;
}

export function markdownEl(text, opts) {
  return setMarkdown(h('div.md'), text, opts);
}

function enhanceCode(root, settled) {
  for (const pre of root.querySelectorAll('pre')) {
    const code = pre.querySelector('code');
    if (!code || pre.parentElement?.classList.contains('code-block')) continue;
    const lang = (/language-([\w+#.-]+)/.exec(code.className) || [])[1] || '';
    const block = h('div.code-block', null,
      h('div.code-head', null,
        h('span.code-lang', { text: lang || 'text' }),
        h('button.code-copy', {
          type: 'button', 'aria-label': 'Copy code',
          onclick: async (e) => {
            const btn = e.currentTarget;
            if (await copyText(code.textContent)) flash(btn);
          },
        }, icon('copy', { size: 14 }), h('span', { text: 'Copy' }))));
    pre.replaceWith(block);
    block.append(pre);
    if (settled) highlight(code, lang);
  }
}

export function highlight(code, lang) {
  try {
    if (lang && hljs.getLanguage(lang)) {
      code.innerHTML = hljs.highlight(code.textContent, { language: lang, ignoreIllegals: true }).value;
    } else if (code.textContent.length < 20000) {
      code.innerHTML = hljs.highlightAuto(code.textContent).value;
    }
    code.classList.add('hljs');
  } catch { /* leave it plain */ }
}

export function highlightedCode(text, lang) {
  const code = h('code', { text });
  highlight(code, lang);
  return h('pre.code-plain', null, code);
}

export function languageFor(ext) {
  const map = { py: 'python', js: 'javascript', mjs: 'javascript', ts: 'typescript', tsx: 'typescript', jsx: 'javascript', rb: 'ruby', rs: 'rust', sh: 'bash', zsh: 'bash', yml: 'yaml', md: 'markdown', htm: 'xml', html: 'xml', svg: 'xml', kt: 'kotlin', cs: 'csharp', h: 'c', hpp: 'cpp', cc: 'cpp', toml: 'ini', cfg: 'ini', conf: 'ini', txt: '' };
  const lang = ext in map ? map[ext] : ext;
  return lang && hljs.getLanguage(lang) ? lang : '';
}

export function flash(btn) {
  btn.classList.add('copied');
  const label = btn.querySelector('span');
  const before = label?.textContent;
  if (label) label.textContent = 'Copied';
  setTimeout(() => {
    btn.classList.remove('copied');
    if (label) label.textContent = before;
  }, 1400);
}
