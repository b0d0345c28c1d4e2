// The model catalog (/api/models: each provider's models, or the error its listing gave) and the
// model references the server takes, `<provider id>/<model>`, so two providers never clash.
import { get } from './api.js';
import { state } from './state.js';
import { EV, emit } from './events.js';

export async function loadModels() {
  try {
    state.models = await get('/api/models');
  } catch (err) {
    state.models = { providers: [], default_model: null, error: err.message };
  }
  emit(EV.MODELS, state.models);
  return state.models;
}

export function modelId(m) {
  return typeof m === 'string' ? m : m?.id;
}

export function modelRef(provider, id) {
  return `${provider.id}/${id}`;
}

/** Every model of every provider that could list its models: [{ref, provider, id}]. */
export function catalog(models = state.models) {
  const out = [];
  for (const p of models.providers || []) {
    for (const m of p.models || []) out.push({ ref: modelRef(p, modelId(m)), provider: p.id, id: modelId(m) });
  }
  return out;
}

/**
 * Resolves what a user typed (`provider/model`, or a model name one provider offers) against the
 * catalog: {ref} or {error} with a sentence that says what to do.
 */
export function resolveModelName(name, models = state.models) {
  const all = catalog(models);
  const exact = all.find((m) => m.ref === name);
  if (exact) return { ref: exact.ref };
  for (const match of [(m) => m.id === name, (m) => m.ref.toLowerCase() === name.toLowerCase() || m.id.toLowerCase() === name.toLowerCase()]) {
    const found = all.filter(match);
    if (found.length === 1) return { ref: found[0].ref };
    if (found.length > 1) {
      return { error: `“${name}” is offered by ${found.map((m) => m.provider).join(' and ')}: write ${found.map((m) => m.ref).join(' or ')}.` };
    }
  }
  const slash = name.indexOf('/');
  const provider = (models.providers || []).find((p) => slash > 0 && p.id === name.slice(0, slash));
  if (provider?.error) return { error: `Provider “${provider.id}” cannot list its models (${provider.error}), so “${name}” cannot be checked.` };
  if (!all.length) return { error: 'No models are available: add a model provider in Settings.' };
  const needle = name.toLowerCase();
  const close = all.filter((m) => m.ref.toLowerCase().includes(needle)).slice(0, 3).map((m) => m.ref);
  return { error: `Unknown model “${name}”.${close.length ? ` Did you mean ${close.join(', ')}?` : ''} Type /model alone to pick one.` };
}
