// Settings > General, "Model limits": per-model overrides of the context window and of vision (the
// `context_windows` and `vision_models` preferences). What is not set here comes from the provider's
// model list or the built-in table.
import { h } from './dom.js';
import { catalog } from './models.js';
import { toast } from './dialogs.js';

const VISION = [['', 'Vision: automatic'], ['1', 'Sees images'], ['0', 'No images']];

/** `settings()` reads the current preferences; `save(patch)` stores some and says whether it worked. */
export function modelLimitsPanel(settings, save) {
  const box = h('div.model-limits');
  const render = () => {
    const windows = settings().context_windows || {};
    const vision = settings().vision_models || {};
    const refs = [...new Set([...Object.keys(windows), ...Object.keys(vision)])].sort();
    const store = async (w, v) => { if (await save({ context_windows: w, vision_models: v })) render(); };
    const rows = refs.map((ref) => h('div.model-limit-row', null,
      h('span.model-limit-name', { text: ref }),
      h('span.muted', { text: windows[ref] ? `${Number(windows[ref]).toLocaleString()} tokens` : 'window: automatic' }),
      h('span.muted', { text: ref in vision ? (vision[ref] ? 'sees images' : 'no images') : 'vision: automatic' }),
      h('button.btn.btn-sm', { type: 'button', text: 'Remove', 'aria-label': `Remove the limits of ${ref}`, onclick: () => {
        const w = { ...windows }; const v = { ...vision };
        delete w[ref]; delete v[ref];
        store(w, v);
      } })));
    const model = h('input.input', { list: 'model-limit-refs', placeholder: 'provider/model', 'aria-label': 'Model' });
    const refsList = h('datalist', { id: 'model-limit-refs' }, catalog().map((m) => h('option', { value: m.ref })));
    const tokens = h('input.input', { type: 'number', min: '1024', step: '1024', placeholder: 'Window (tokens)', 'aria-label': 'Context window in tokens' });
    const sees = h('select.input', { 'aria-label': 'Vision' }, VISION.map(([v, label]) => h('option', { value: v, text: label })));
    const set = h('button.btn', { type: 'button', text: 'Set', onclick: () => {
      const ref = model.value.trim();
      if (!ref) { toast('Name a model first.'); return; }
      const w = { ...windows }; const v = { ...vision };
      if (tokens.value) w[ref] = Number(tokens.value);
      if (sees.value) v[ref] = sees.value === '1';
      store(w, v);
    } });
    box.replaceChildren(...rows, h('div.row-gap.model-limit-add', null, model, refsList, tokens, sees, set));
  };
  render();
  return box;
}
