// Form controls shared by Settings and the provider forms: a labelled field, a segmented choice, a
// select, a switch.
import { h } from './dom.js';
import { icon } from './icons.js';

export function field(label, control, help) {
  return h('div.field', null, h('div.field-label', { text: label }), control, help ? h('p.field-help', { text: help }) : null);
}

export function segmented(name, options, value, onChange) {
  const group = h('div.segmented', { role: 'radiogroup', 'aria-label': name });
  for (const [v, label, ic] of options) {
    group.append(h('button.seg', {
      type: 'button', role: 'radio', 'aria-checked': String(v === value), dataset: { value: v },
      onclick: (e) => {
        for (const b of group.children) b.setAttribute('aria-checked', String(b === e.currentTarget));
        onChange(v);
      },
    }, ic ? icon(ic, { size: 15 }) : null, h('span', { text: label })));
  }
  return group;
}

export function selectEl(name, options, value, onChange) {
  const sel = h('select.input', { 'aria-label': name, onchange: (e) => onChange(e.target.value) });
  for (const [v, label] of options) sel.append(h('option', { value: v, text: label, selected: v === value || null }));
  return sel;
}

export function toggle(label, help, checked, onChange) {
  const id = `t-${label.replace(/\W+/g, '-').toLowerCase()}`;
  const input = h('input.switch', { type: 'checkbox', role: 'switch', id, checked: checked || null, onchange: (e) => onChange(e.target.checked) });
  return h('div.field.field-toggle', null, h('div', null, h('label.field-label', { for: id, text: label }), h('p.field-help', { text: help })), input);
}

