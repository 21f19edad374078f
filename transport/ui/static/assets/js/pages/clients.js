// Clients: the connected workers by group, with capacity, running work,
// labels and handlers.

import { h, replace, debounce } from '../dom.js';
import { get, query } from '../api.js';
import { fmtNumber, plural } from '../format.js';
import { errorBanner, emptyState, timeCell, meter } from '../widgets.js';

const REFRESH_MS = 5000;
const PAGE = 500;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function mount(root, page) {
  const st = { group: page.query.get('group') || '', clients: [], next: '', seq: 0, loaded: false };

  const status = h('div', { id: 'clients-status' });
  const body = h('div', { id: 'clients-body' }, h('p', { class: 'loading' }, 'Loading the workers…'));
  const subtitle = h('span', { class: 'subtitle' }, 'Workers connected to the cluster. Refreshes every 5 seconds.');
  const groupInput = h('input', { id: 'clients-group', type: 'search', value: st.group, placeholder: 'All groups', autocomplete: 'off', spellcheck: 'false' });

  const apply = () => {
    const g = groupInput.value.trim();
    if (g && !NAME_RE.test(g)) {
      groupInput.setAttribute('aria-invalid', 'true');
      return;
    }
    groupInput.removeAttribute('aria-invalid');
    if (g === st.group) return;
    st.group = g;
    page.setQuery({ group: g });
    load();
  };
  groupInput.addEventListener('input', debounce(apply, 400));

  root.append(
    h('div', { class: 'page-head' },
      h('div', { class: 'titles' }, h('h1', {}, 'Clients'), subtitle),
      h('form', { class: 'actions', role: 'search', onsubmit: (ev) => { ev.preventDefault(); apply(); } },
        h('label', { for: 'clients-group', class: 'visually-hidden' }, 'Client group'), groupInput)),
    status, body);

  async function load() {
    const seq = ++st.seq;
    try {
      // Collect every page: the view groups and sums over all workers.
      let cursor = '';
      const all = [];
      for (let i = 0; i < 20; i += 1) {
        const out = await get(`/v1/clients${query({ group: st.group, limit: PAGE, cursor })}`, { signal: page.signal });
        all.push(...(out.clients || []));
        cursor = out.next_cursor || '';
        if (!cursor) break;
      }
      if (seq !== st.seq) return;
      st.clients = all;
      st.next = cursor;
      status.replaceChildren();
      replace(body, ...render(st));
    } catch (err) {
      if (err.name === 'AbortError' || seq !== st.seq) return;
      replace(status, errorBanner(err, 'Could not load the workers'));
    }
  }

  page.every(REFRESH_MS, load);
}

function startHint(group) {
  return h('code', {}, `swarm client --server ${location.host}${group && group !== 'default' ? ` --group ${group}` : ''}`);
}

function render(st) {
  const clients = [...st.clients].sort((a, b) => a.group.localeCompare(b.group) || a.id.localeCompare(b.id));
  if (clients.length === 0) {
    const where = st.group ? `in group ${st.group}` : 'to the cluster';
    return [emptyState('⚙', `No worker connected ${where}`,
      h('p', {}, 'Jobs fire only when a worker of their client group is connected; until then their fires are skipped.'),
      h('p', {}, 'Start one with ', startHint(st.group || 'default'), '.'),
      h('p', { class: 'small' }, 'A Go program can embed a worker with package client and serve in-process handlers.'))];
  }

  const groups = new Map();
  for (const c of clients) {
    const g = groups.get(c.group) || { name: c.group, n: 0, capacity: 0, running: 0 };
    g.n += 1;
    g.capacity += c.capacity || 0;
    g.running += c.running || 0;
    groups.set(c.group, g);
  }

  const cards = h('div', { class: 'group-cards', id: 'client-groups' }, [...groups.values()].map((g) => h('div', { class: 'tile group-card', dataset: { group: g.name } },
    h('div', { class: 'label' }, 'group'),
    h('div', { class: 'name' }, g.name),
    h('div', { class: 'counts' }, `${plural('worker', g.n)} · ${fmtNumber(g.running)} running`),
    meter(g.running, g.capacity))));

  const rows = clients.map((c) => h('tr', { dataset: { key: c.id } },
    h('td', {}, h('div', { class: 'job-cell' }, h('span', { class: 'key mono' }, c.id), h('span', { class: 'desc' }, `group ${c.group}`))),
    h('td', {}, h('span', { class: 'mono small' }, c.server || '—')),
    h('td', {}, meter(c.running || 0, c.capacity || 0)),
    h('td', {}, chips(Object.entries(c.labels || {}).map(([k, v]) => h('span', { class: 'chip key-val' }, h('span', { class: 'k' }, `${k}=`), v)))),
    h('td', {}, chips((c.handlers || []).map((name) => h('span', { class: 'chip mono' }, name)))),
    h('td', {}, timeCell(c.connected_at))));

  const total = clients.reduce((n, c) => n + (c.capacity || 0), 0);
  const running = clients.reduce((n, c) => n + (c.running || 0), 0);
  return [
    cards,
    h('section', { class: 'card', 'aria-labelledby': 'clients-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'clients-title' }, 'Workers'),
        h('span', { class: 'muted small' }, `${plural('worker', clients.length)} · ${fmtNumber(running)} of ${fmtNumber(total)} slots in use`)),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'clients-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Worker'),
          h('th', { scope: 'col' }, 'Server'),
          h('th', { scope: 'col' }, 'Running / capacity'),
          h('th', { scope: 'col' }, 'Labels'),
          h('th', { scope: 'col' }, 'Handlers'),
          h('th', { scope: 'col' }, 'Connected'))),
        h('tbody', {}, rows))),
      st.next ? h('div', { class: 'pager' }, 'Showing the first workers only; filter by group to see the rest.') : null),
  ];
}

function chips(items) {
  return items.length ? h('div', { class: 'chips' }, items) : h('span', { class: 'muted' }, '—');
}
