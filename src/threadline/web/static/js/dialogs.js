// Modal dialogs (native <dialog>), popover menus and toasts.
import { h } from './dom.js';
import { icon } from './icons.js';

// ---- modal ----------------------------------------------------------------------------------

/** modal({title, body, footer, wide, onClose}) -> {dialog, close()} */
export function modal({ title, description, body, footer, wide = false, onClose, dismissable = true, className = '' }) {
  const titleId = `dlg-${Math.random().toString(36).slice(2, 8)}`;
  const dialog = h(`dialog.modal${wide ? '.modal-wide' : ''}${className ? '.' + className : ''}`, { 'aria-labelledby': titleId });
  const head = h('header.modal-head', null,
    h('div', null,
      h('h2.modal-title', { id: titleId, text: title }),
      description ? h('p.modal-desc', { text: description }) : null),
    dismissable ? h('button.icon-btn', { type: 'button', 'aria-label': 'Close', onclick: () => close() }, icon('x')) : null);
  dialog.append(head, h('div.modal-body', null, body));
  if (footer) dialog.append(h('footer.modal-foot', null, footer));
  let closed = false;
  function close(result) {
    if (closed) return;
    closed = true;
    dialog.close();
    dialog.remove();
    onClose?.(result);
  }
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    if (dismissable) close();
  });
  dialog.addEventListener('mousedown', (e) => {
    if (dismissable && e.target === dialog) close();   // click on the backdrop
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close };
}

export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    let result = false;
    const ok = h(`button.btn${danger ? '.btn-danger' : '.btn-primary'}`, { type: 'button', text: confirmLabel, onclick: () => { result = true; m.close(); } });
    const cancel = h('button.btn', { type: 'button', text: 'Cancel', onclick: () => m.close() });
    const m = modal({
      title, body: message ? h('p.modal-text', { text: message }) : null,
      footer: [cancel, ok], onClose: () => resolve(result), className: 'modal-small',
    });
    ok.focus();
  });
}

export function promptDialog({ title, label, value = '', placeholder = '', confirmLabel = 'Save', extra = null, validate = null }) {
  return new Promise((resolve) => {
    let result = null;
    const input = h('input.input', { type: 'text', value, placeholder, 'aria-label': label || title });
    const error = h('p.field-error', { role: 'alert' });
    const submit = () => {
      const v = input.value.trim();
      const problem = validate?.(v);
      if (problem) { error.textContent = problem; return; }
      result = v;
      m.close();
    };
    const form = h('form.form', { onsubmit: (e) => { e.preventDefault(); submit(); } },
      label ? h('label.field-label', { text: label }) : null, input, error, extra);
    const m = modal({
      title, body: form, className: 'modal-small',
      footer: [h('button.btn', { type: 'button', text: 'Cancel', onclick: () => m.close() }),
        h('button.btn.btn-primary', { type: 'button', text: confirmLabel, onclick: submit })],
      onClose: () => resolve(result),
    });
    input.focus();
    input.select();
  });
}

// ---- menus ----------------------------------------------------------------------------------

let openMenuState = null;

/**
 * openMenu(anchor, items, {align: 'start'|'end', placement}) ; an item is
 * {label, icon, onSelect, danger, checked, disabled, hint} or 'separator' or {heading}.
 */
export function openMenu(anchor, items, { align = 'start', minWidth = 200, className = '', x = null, y = null } = {}) {
  closeMenu();
  const menu = h(`div.menu${className ? '.' + className : ''}`, { role: 'menu', tabindex: '-1' });
  const buttons = [];
  for (const item of items) {
    if (!item) continue;
    if (item === 'separator') { menu.append(h('div.menu-sep', { role: 'separator' })); continue; }
    if (item.heading) { menu.append(h('div.menu-heading', { text: item.heading })); continue; }
    if (item.element) { menu.append(item.element); continue; }
    const btn = h(`button.menu-item${item.danger ? '.danger' : ''}`, {
      type: 'button', role: item.checked !== undefined ? 'menuitemradio' : 'menuitem',
      'aria-checked': item.checked !== undefined ? String(!!item.checked) : null,
      disabled: item.disabled || null,
      onclick: () => { closeMenu(); item.onSelect?.(); },
    },
    item.swatch ? h('span.swatch', { style: { '--swatch': item.swatch } }) : (item.icon ? icon(item.icon, { size: 16 }) : h('span.menu-icon-gap')),
    h('span.menu-label', { text: item.label }),
    item.hint ? h('span.menu-hint', { text: item.hint }) : null,
    item.checked ? icon('check', { size: 16 }) : null);
    buttons.push(btn);
    menu.append(btn);
  }
  menu.style.minWidth = `${minWidth}px`;
  document.body.append(menu);
  position(menu, anchor, align, x, y);
  const onKey = (e) => {
    const idx = buttons.indexOf(document.activeElement);
    if (e.key === 'Escape') { e.preventDefault(); closeMenu(true); }
    else if (e.key === 'ArrowDown') { e.preventDefault(); buttons[(idx + 1) % buttons.length]?.focus(); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); buttons[(idx - 1 + buttons.length) % buttons.length]?.focus(); }
    else if (e.key === 'Tab') closeMenu();
  };
  const onDown = (e) => { if (!menu.contains(e.target) && !anchor?.contains?.(e.target)) closeMenu(); };
  menu.addEventListener('keydown', onKey);
  setTimeout(() => document.addEventListener('mousedown', onDown), 0);
  window.addEventListener('resize', closeMenuNoFocus, { once: true });
  anchor?.setAttribute?.('aria-expanded', 'true');
  openMenuState = { menu, anchor, onDown };
  (buttons.find((b) => !b.disabled) || menu).focus({ preventScroll: true });
  return menu;
}

function closeMenuNoFocus() { closeMenu(false); }

export function closeMenu(restoreFocus = false) {
  if (!openMenuState) return;
  const { menu, anchor, onDown } = openMenuState;
  openMenuState = null;
  document.removeEventListener('mousedown', onDown);
  menu.remove();
  anchor?.setAttribute?.('aria-expanded', 'false');
  if (restoreFocus) anchor?.focus?.();
}

export function position(el, anchor, align = 'start', x = null, y = null) {
  const margin = 8;
  el.style.position = 'fixed';
  el.style.visibility = 'hidden';
  const w = el.offsetWidth;
  const hgt = el.offsetHeight;
  let left; let top;
  if (x !== null) { left = x; top = y; } else {
    const r = anchor.getBoundingClientRect();
    left = align === 'end' ? r.right - w : r.left;
    top = r.bottom + 4;
    if (top + hgt > window.innerHeight - margin && r.top - hgt - 4 > margin) top = r.top - hgt - 4;
  }
  left = Math.max(margin, Math.min(left, window.innerWidth - w - margin));
  top = Math.max(margin, Math.min(top, window.innerHeight - hgt - margin));
  el.style.left = `${left}px`;
  el.style.top = `${top}px`;
  el.style.visibility = '';
}

// ---- toasts ---------------------------------------------------------------------------------

export function toast(message, { kind = 'info', action = null, timeout = 4000 } = {}) {
  const box = document.getElementById('toasts');
  const el = h(`div.toast.toast-${kind}`, null,
    icon(kind === 'error' ? 'alert' : kind === 'success' ? 'check' : 'info', { size: 16 }),
    h('span.toast-text', { text: message }),
    action ? h('button.toast-action', { type: 'button', text: action.label, onclick: () => { action.onSelect(); dismiss(); } }) : null,
    h('button.toast-close', { type: 'button', 'aria-label': 'Dismiss', onclick: () => dismiss() }, icon('x', { size: 14 })));
  box.append(el);
  const timer = setTimeout(dismiss, kind === 'error' ? Math.max(timeout, 7000) : timeout);
  function dismiss() {
    clearTimeout(timer);
    el.classList.add('leaving');
    setTimeout(() => el.remove(), 160);
  }
  return dismiss;
}

export function showError(err, prefix = '') {
  if (err?.name === 'AbortError') return;
  const msg = err?.message || String(err);
  toast(prefix ? `${prefix}: ${msg}` : msg, { kind: 'error' });
}

