// Jobs: the paged list of jobs with search, filters and actions.

import { h, replace, debounce, keepFocus } from '../dom.js';
import { get, query } from '../api.js';
import { triggerCode, triggerHuman, plural } from '../format.js';
import { stateBadge, timeCell, errorBanner, emptyState } from '../widgets.js';
import { runJobAction } from '../actions.js';

const REFRESH_MS = 5000;
const PAGE_SIZES = [25, 50, 100, 250];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function mount(root, page) {
  const st = {
    q: page.query.get('q') || '',
    group: page.query.get('group') || '',
    state: page.query.get('state') || '',
    size: Number(page.query.get('size')) || 50,
    cursors: [''], // cursors[i] is the cursor of page i; the last is the current page
    jobs: [],
    next: '',
    loaded: false,
    groups: new Set(),
    seq: 0,
  };
  if (!PAGE_SIZES.includes(st.size)) st.size = 50;

  const subtitle = h('span', { class: 'subtitle', id: 'jobs-subtitle' }, 'Loading…');
  const status = h('div', { id: 'jobs-status' });
  const tbody = h('tbody', { id: 'jobs-body' });
  const groupList = h('datalist', { id: 'job-groups' });

  const search = h('input', {
    id: 'job-search', type: 'search', value: st.q, placeholder: 'Filter by group or name', autocomplete: 'off',
    oninput: () => {
      st.q = search.value.trim();
      syncQuery();
      render();
    },
  });
  const groupInput = h('input', {
    id: 'job-group', type: 'search', value: st.group, placeholder: 'All groups', list: 'job-groups', autocomplete: 'off',
    spellcheck: 'false',
  });
  const stateSelect = h('select', {
    id: 'job-state',
    onchange: () => {
      st.state = stateSelect.value;
      syncQuery();
      render();
    },
  }, h('option', { value: '' }, 'All states'),
  ...['normal', 'paused', 'complete'].map((s) => h('option', { value: s, selected: s === st.state }, s)));

  const applyGroup = () => {
    const g = groupInput.value.trim();
    if (g === st.group) return;
    if (g && !NAME_RE.test(g)) {
      groupInput.setAttribute('aria-invalid', 'true');
      replace(status, errorBanner({ message: `"${g}" is not a valid group name (letters, digits, ".", "_" and "-")` }, 'Group filter'));
      return;
    }
    groupInput.removeAttribute('aria-invalid');
    st.group = g;
    st.cursors = [''];
    syncQuery();
    load();
  };
  groupInput.addEventListener('change', applyGroup);
  groupInput.addEventListener('input', debounce(applyGroup, 500));

  const prev = h('button', { type: 'button', class: 'btn small', id: 'jobs-prev', onclick: () => turn(-1) }, '‹ Previous');
  const next = h('button', { type: 'button', class: 'btn small', id: 'jobs-next', onclick: () => turn(1) }, 'Next ›');
  const pageNo = h('span', { id: 'jobs-page' });
  const sizeSelect = h('select', {
    id: 'jobs-size',
    onchange: () => {
      st.size = Number(sizeSelect.value);
      st.cursors = [''];
      syncQuery();
      load();
    },
  }, PAGE_SIZES.map((n) => h('option', { value: n, selected: n === st.size }, String(n))));

  root.append(
    h('div', { class: 'page-head' },
      h('div', { class: 'titles' }, h('h1', {}, 'Jobs'), subtitle),
      h('div', { class: 'actions' },
        h('a', { class: 'btn primary', href: '#/jobs/new', id: 'new-job' }, '+ New job'))),
    status,
    h('section', { class: 'card', 'aria-labelledby': 'jobs-table-caption' },
      h('form', { class: 'toolbar', role: 'search', onsubmit: (ev) => { ev.preventDefault(); applyGroup(); } },
        h('div', { class: 'search' }, h('label', { for: 'job-search', class: 'visually-hidden' }, 'Filter jobs on this page by group or name'), search),
        h('div', { class: 'group-filter' }, h('label', { for: 'job-group', class: 'visually-hidden' }, 'Group (asks the server)'), groupInput, groupList),
        h('div', { class: 'state-filter' }, h('label', { for: 'job-state', class: 'visually-hidden' }, 'State'), stateSelect),
        h('button', { type: 'button', class: 'btn small ghost', onclick: () => load(), title: 'Refresh now (the list also refreshes every 5 seconds)' }, 'Refresh')),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'data', id: 'jobs-table' },
          h('caption', { class: 'visually-hidden', id: 'jobs-table-caption' }, 'Jobs'),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, 'Job'),
            h('th', { scope: 'col' }, 'Trigger'),
            h('th', { scope: 'col' }, 'State'),
            h('th', { scope: 'col' }, 'Next fire'),
            h('th', { scope: 'col' }, 'Last fire'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
          tbody)),
      h('div', { class: 'pager' },
        prev, next, pageNo,
        h('span', { class: 'spacer' }),
        h('label', { class: 'page-size', for: 'jobs-size' }, 'Per page', sizeSelect))));

  function syncQuery() {
    page.setQuery({ q: st.q, group: st.group, state: st.state, size: st.size === 50 ? '' : st.size });
  }

  function turn(dir) {
    if (dir > 0 && st.next) st.cursors.push(st.next);
    if (dir < 0 && st.cursors.length > 1) st.cursors.pop();
    load();
  }

  async function load() {
    const seq = ++st.seq;
    const cursor = st.cursors[st.cursors.length - 1];
    try {
      const out = await get(`/v1/jobs${query({ group: st.group, limit: st.size, cursor })}`, { signal: page.signal });
      if (seq !== st.seq) return;
      st.jobs = out.jobs || [];
      st.next = out.next_cursor || '';
      st.loaded = true;
      for (const j of st.jobs) st.groups.add(j.group);
      status.replaceChildren();
      render();
    } catch (err) {
      if (err.name === 'AbortError' || seq !== st.seq) return;
      replace(status, errorBanner(err, 'Could not load the jobs'));
      if (!st.loaded) replace(subtitle, 'Not loaded');
    }
  }

  function matches(j) {
    if (st.state && j.state !== st.state) return false;
    if (!st.q) return true;
    const q = st.q.toLowerCase();
    return `${j.group}/${j.name}`.toLowerCase().includes(q) || (j.description || '').toLowerCase().includes(q);
  }

  function render() {
    if (!st.loaded) return;
    replace(groupList, [...st.groups].sort().map((g) => h('option', { value: g })));
    const shown = st.jobs.filter(matches);
    const pageIndex = st.cursors.length;
    const onThisPage = plural('job', st.jobs.length);
    replace(subtitle, st.group ? `${onThisPage} in group ${st.group}` : onThisPage,
      pageIndex > 1 || st.next ? ` · page ${pageIndex}` : '',
      shown.length !== st.jobs.length ? ` · ${shown.length} shown` : '');
    replace(pageNo, `Page ${pageIndex}`);
    prev.disabled = st.cursors.length <= 1;
    next.disabled = !st.next;

    if (st.jobs.length === 0) {
      replace(tbody, h('tr', {}, h('td', { colspan: 6 }, emptyList())));
      return;
    }
    if (shown.length === 0) {
      replace(tbody, h('tr', {}, h('td', { colspan: 6 }, h('div', { class: 'empty' },
        h('h2', {}, 'No job on this page matches'),
        h('p', {}, 'The search and state filters look at the jobs loaded on this page only.',
          st.next ? ' More pages follow: turn the page, or type a group in the group box to ask the server.' : '')))));
      return;
    }
    keepFocus(tbody, () => replace(tbody, shown.map(row)));
  }

  function emptyList() {
    if (st.group) {
      return emptyState('∅', `No jobs in group ${st.group}`,
        h('p', {}, 'Check the spelling, or clear the group box to see every group.'));
    }
    return emptyState('+', 'No jobs yet',
      h('p', {}, 'A job pairs a trigger (when) with an executor (what). Create one here, or from a terminal:'),
      h('p', {}, h('code', {}, 'swarm job create --group demo --name hello --cron "0 * * * * ?" --exec "echo hello"')),
      h('div', { class: 'actions' }, h('a', { class: 'btn primary', href: '#/jobs/new' }, 'Create a job')));
  }

  function row(j) {
    const href = `#/jobs/${encodeURIComponent(j.group)}/${encodeURIComponent(j.name)}`;
    const key = `${j.group}/${j.name}`;
    const act = async (action) => {
      const out = await runJobAction(action, j);
      if (out) load();
    };
    const paused = j.state === 'paused';
    return h('tr', { dataset: { key } },
      h('td', {}, h('div', { class: 'job-cell' },
        h('a', { href, class: 'key' }, h('span', { class: 'grp' }, `${j.group} / `), j.name),
        j.description ? h('span', { class: 'desc', title: j.description }, j.description) : null)),
      h('td', {}, h('div', { class: 'trigger-cell' },
        h('code', {}, triggerCode(j.trigger)),
        h('span', { class: 'human' }, triggerHuman(j.trigger)))),
      h('td', {}, stateBadge(j.state)),
      h('td', {}, j.state === 'paused' ? h('span', { class: 'muted' }, 'paused') : timeCell(j.next_fire_at)),
      h('td', {}, timeCell(j.prev_fire_at)),
      h('td', { class: 'nowrap' }, h('div', { class: 'btn-row' },
        h('button', { type: 'button', class: 'btn tiny', 'aria-label': `${paused ? 'Resume' : 'Pause'} ${key}`,
          disabled: j.state === 'complete', onclick: () => act(paused ? 'resume' : 'pause') }, paused ? 'Resume' : 'Pause'),
        h('button', { type: 'button', class: 'btn tiny', 'aria-label': `Fire ${key} now`, onclick: () => act('trigger') }, 'Run now'),
        h('button', { type: 'button', class: 'btn tiny danger', 'aria-label': `Delete ${key}`, onclick: () => act('delete') }, 'Delete'))));
  }

  page.every(REFRESH_MS, load);
}
