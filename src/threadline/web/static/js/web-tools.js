// The web tools in Settings (/api/web-tools): the search backend behind web_search (SearXNG, Brave or
// Tavily, with its URL and key; keys come back masked and an empty field keeps the stored one), a trial
// search, and what web_fetch may reach (private addresses, or a list of hosts). The server is the truth:
// the form is drawn again from every answer.
import { get, post } from './api.js';
import { h } from './dom.js';
import { toast, showError } from './dialogs.js';
import { field, selectEl, toggle } from './forms.js';

const BACKENDS = [['none', 'None (web_search is not offered)'], ['searxng', 'SearXNG (self-hosted)'], ['brave', 'Brave Search API'], ['tavily', 'Tavily']];

/** The Web tools panel of Settings. */
export function webToolsPanel() {
  const box = h('div.web-tools-settings', { 'aria-live': 'polite' }, h('p.muted', { text: 'Loading…' }));
  get('/api/web-tools').then((config) => render(box, config), (err) => box.replaceChildren(h('p.field-error', { text: err.message })));
  return box;
}

function render(box, config) {
  const backend = selectEl('Search backend', BACKENDS, config.search_backend, () => showFields());
  const searxng = h('input.input.mono', { type: 'url', name: 'searxng_url', placeholder: 'http://127.0.0.1:8888', value: config.searxng_url || '', 'aria-label': 'SearXNG URL' });
  const keyInput = (name, has, label) => h('input.input.mono', {
    type: 'password', name, autocomplete: 'off', 'aria-label': label,
    placeholder: has ? `${config[name]} (leave empty to keep it)` : 'API key',
  });
  const braveKey = keyInput('brave_api_key', config.has_brave_key, 'Brave API key');
  const tavilyKey = keyInput('tavily_api_key', config.has_tavily_key, 'Tavily API key');
  const braveUrl = h('input.input.mono', { type: 'url', name: 'brave_url', placeholder: 'https://api.search.brave.com/res/v1/web/search', value: config.brave_url || '', 'aria-label': 'Brave API URL' });
  const tavilyUrl = h('input.input.mono', { type: 'url', name: 'tavily_url', placeholder: 'https://api.tavily.com/search', value: config.tavily_url || '', 'aria-label': 'Tavily API URL' });
  const hosts = h('textarea.input.mono', { name: 'private_hosts', rows: 3, placeholder: 'wiki.internal\n10.0.0.5\nlocalhost:8080', 'aria-label': 'Private hosts', text: (config.private_hosts || []).join('\n') });
  const groups = {
    searxng: field('SearXNG URL', searxng, 'Its settings.yml must allow the json format (search: formats: [html, json]).'),
    brave: h('div', null, field('Brave API key', braveKey, config.has_brave_key ? 'A key is stored.' : null), field('Brave API URL', braveUrl, 'Optional: leave empty for the public API.')),
    tavily: h('div', null, field('Tavily API key', tavilyKey, config.has_tavily_key ? 'A key is stored.' : null), field('Tavily API URL', tavilyUrl, 'Optional: leave empty for the public API.')),
  };
  const showFields = () => { for (const [k, el] of Object.entries(groups)) el.hidden = backend.value !== k; };
  const status = h('p.field-help.web-search-status', { text: config.search_available ? 'web_search is offered to the agent.' : `web_search is not offered: ${config.search_problem}.` });
  const results = h('div.web-search-results');

  const save = async (patch) => {
    try {
      render(box, await post('/api/web-tools', patch));
      box.dataset.saved = String(Number(box.dataset.saved || 0) + 1); // the form is the saved one from here
      toast('Web tools saved.', { kind: 'success' });
      return true;
    } catch (err) {
      showError(err, 'Could not save the web tools');
      return false;
    }
  };
  const saveAll = () => {
    const patch = {
      search_backend: backend.value, searxng_url: searxng.value.trim() || null, brave_url: braveUrl.value.trim() || null,
      tavily_url: tavilyUrl.value.trim() || null, private_hosts: hosts.value.split(/\s+/).filter(Boolean),
    };
    if (braveKey.value.trim()) patch.brave_api_key = braveKey.value.trim();
    if (tavilyKey.value.trim()) patch.tavily_api_key = tavilyKey.value.trim();
    return save(patch);
  };
  const trial = async () => {
    results.replaceChildren(h('p.muted', { text: 'Searching…' }));
    try {
      const r = await post('/api/web-tools/test', { query: 'threadline' });
      results.replaceChildren(r.ok
        ? h('ol.web-search-list', null, r.results.map((hit) => h('li', null, h('div', { text: hit.title }), h('div.muted.mono', { text: hit.url }))))
        : h('p.field-error', { text: r.error }));
    } catch (err) {
      results.replaceChildren(h('p.field-error', { text: err.message }));
    }
  };
  const clearKey = (name, has) => has ? h('button.btn.btn-sm.btn-danger-ghost', { type: 'button', text: 'Remove key', onclick: () => save({ [name]: '' }) }) : null;

  box.replaceChildren(
    h('h3.section-title', { text: 'Web search' }),
    field('Search backend', backend, 'The service web_search asks. SearXNG runs on your own machine; Brave and Tavily need an API key.'),
    groups.searxng, groups.brave, groups.tavily,
    h('div.row-gap', null,
      h('button.btn.btn-primary', { type: 'button', text: 'Save', onclick: saveAll }),
      h('button.btn', { type: 'button', text: 'Test search', disabled: config.search_available ? null : true, onclick: trial }),
      clearKey('brave_api_key', config.has_brave_key), clearKey('tavily_api_key', config.has_tavily_key)),
    status, results,
    h('h3.section-title', { text: 'Web fetch' }),
    toggle('Allow private addresses', 'Let web_fetch reach loopback, private and link-local addresses (this machine, your network, cloud metadata). Off: public addresses only.',
      config.allow_private, (v) => save({ allow_private: v })),
    field('Private hosts allowed', hosts, 'One host (or host:port) per line that web_fetch may reach although its address is private. Saved with Save.'),
    h('p.field-help', { text: 'Both tools ask before they reach the network, like shell commands; “Always” on a fetch covers its host.' }));
  showFields();
}
