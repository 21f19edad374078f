// Job: one job's definition, its executions (auto-refreshed) and the live
// log of a run.

import { h, replace, $, keepFocus } from '../dom.js';
import { get, jobPath, query, streamLogs } from '../api.js';
import { triggerCode, triggerHuman, fmtDuration, fmtUTC, between, parseTime, fmtNumber, joinCommandLine, plural } from '../format.js';
import { stateBadge, timeEl, timeCell, banner, errorBanner, emptyState, copyButton, reasonText, tone } from '../widgets.js';
import { runJobAction } from '../actions.js';

const EXEC_REFRESH_MS = 2000;
const JOB_REFRESH_MS = 5000;
const WORKER_CHECK_MS = 10000;
const EXEC_PAGE = 25;
const STRIP_RUNS = 40;
const LOG_LINES = 5000; // lines kept in the log view

const LIVE = new Set(['running', 'dispatched']);

export function mount(root, page) {
  const [group, name] = page.params;
  const key = `${group}/${name}`;
  const st = {
    job: null,
    execs: [],
    more: false,
    limit: EXEC_PAGE,
    open: new Set(),
    auto: true,
    seq: 0,
    noWorker: false,
    log: null,
    shownState: '',
  };

  const title = h('h1', {}, name);
  const badgeSlot = h('span', { id: 'job-state' });
  const subtitle = h('span', { class: 'subtitle' }, h('span', {}, `in group ${group} `), badgeSlot);
  const actions = h('div', { class: 'actions', id: 'job-actions' });
  const jobStatus = h('div', { id: 'job-status' });
  const notices = h('div', { id: 'job-notices' });
  const facts = h('dl', { class: 'facts', id: 'job-facts' });
  const jsonPre = h('pre', { class: 'json', id: 'job-json' });
  // The strip repeats the legend's counts as colour, so readers skip it.
  const strip = h('div', { class: 'runs-strip', id: 'runs-strip', 'aria-hidden': 'true' });
  const stripLegend = h('div', { class: 'runs-legend', id: 'runs-legend' });
  const tbody = h('tbody', { id: 'exec-body' });
  const more = h('button', { type: 'button', class: 'btn small', id: 'exec-more', hidden: true, onclick: () => {
    st.limit = Math.min(1000, st.limit + EXEC_PAGE);
    loadExecs();
  } }, 'Load older runs');
  const autoBox = h('input', { type: 'checkbox', id: 'exec-auto', checked: true, onchange: () => { st.auto = autoBox.checked; } });
  const execStatus = h('div', { id: 'exec-status' });

  const logOut = h('pre', { class: 'log', id: 'log-output', tabindex: '0', 'aria-label': 'Log output' });
  const logTitle = h('span', { class: 'mono small', id: 'log-exec' });
  const logStatus = h('span', { class: 'log-status', id: 'log-status', role: 'status' });
  const logStop = h('button', { type: 'button', class: 'btn small', id: 'log-stop', onclick: () => stopLog('Stopped.') }, 'Stop');
  const logCard = h('section', { class: 'card', id: 'log-card', hidden: true, 'aria-labelledby': 'log-title' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'log-title' }, 'Log'), logTitle, logStatus,
      h('span', { class: 'actions' }, logStop,
        h('button', { type: 'button', class: 'btn small ghost', onclick: closeLog }, 'Close'))),
    logOut);

  root.append(
    h('div', { class: 'page-head' },
      h('div', { class: 'titles' },
        h('ol', { class: 'breadcrumb' },
          h('li', {}, h('a', { href: '#/jobs' }, 'Jobs')),
          h('li', {}, h('a', { href: `#/jobs?group=${encodeURIComponent(group)}` }, group)),
          h('li', { 'aria-current': 'page' }, name)),
        title, subtitle),
      actions),
    jobStatus,
    notices,
    h('section', { class: 'card', id: 'job-facts-card', 'aria-label': 'Definition' }, facts),
    h('section', { class: 'card', 'aria-labelledby': 'exec-title' },
      h('div', { class: 'card-head' },
        h('h2', { id: 'exec-title' }, 'Executions'),
        stripLegend,
        strip,
        h('span', { class: 'actions' },
          h('label', { class: 'check small muted', for: 'exec-auto' }, autoBox, ' Auto-refresh'),
          h('button', { type: 'button', class: 'btn small ghost', onclick: () => loadExecs() }, 'Refresh'))),
      execStatus,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'data', id: 'exec-table' },
          h('caption', { class: 'visually-hidden' }, `Executions of ${key}, newest first`),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Details')),
            h('th', { scope: 'col' }, 'State'),
            h('th', { scope: 'col' }, 'Scheduled'),
            h('th', { scope: 'col', class: 'hide-narrow' }, 'Fired'),
            h('th', { scope: 'col', class: 'hide-narrow' }, 'Started'),
            h('th', { scope: 'col', class: 'hide-narrow' }, 'Finished'),
            h('th', { scope: 'col', class: 'num' }, 'Duration'),
            h('th', { scope: 'col', class: 'num hide-narrow' }, 'Attempt'),
            h('th', { scope: 'col', class: 'num' }, 'Exit'),
            h('th', { scope: 'col' }, 'Client'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Log')))),
          tbody)),
      h('div', { class: 'pager', id: 'exec-pager', hidden: true }, more)),
    logCard,
    h('section', { class: 'card' },
      h('details', { id: 'job-json-details' },
        h('summary', { class: 'card-head' }, h('h2', {}, 'Job JSON'),
          h('span', { class: 'muted small' }, `GET ${jobPath(group, name)}`)),
        h('div', { class: 'card-head' }, h('span', { class: 'muted small' }, 'As stored, with the defaults the server filled in.'),
          h('span', { class: 'actions' }, copyButton(() => jsonPre.textContent))),
        jsonPre)));

  // ---- job ----

  async function loadJob() {
    try {
      const first = !st.job;
      st.job = await get(jobPath(group, name), { signal: page.signal });
      jobStatus.replaceChildren();
      renderJob();
      // The worker check needs the job's client group.
      if (first) page.every(WORKER_CHECK_MS, checkWorkers);
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status === 404) {
        root.replaceChildren(emptyState('?', `No job ${key}`,
          h('p', {}, 'It may have been deleted, or the link has a typo.'),
          h('div', { class: 'actions' }, h('a', { class: 'btn primary', href: '#/jobs' }, 'Back to jobs'))));
        page.close();
        return;
      }
      replace(jobStatus, errorBanner(err, `Could not load ${key}`));
    }
  }

  function renderJob() {
    const j = st.job;
    replace(facts, ...factsOf(j));
    replace(jsonPre, JSON.stringify(j, null, 2));
    // Rebuild the buttons only when the state changes, so a refresh does
    // not take the keyboard focus away from them.
    if (st.shownState === j.state) return;
    st.shownState = j.state;
    const focused = actions.contains(document.activeElement) ? document.activeElement.id : '';
    replace(badgeSlot, stateBadge(j.state));
    const paused = j.state === 'paused';
    const act = async (action) => {
      const out = await runJobAction(action, st.job);
      if (!out) return;
      if (action === 'delete') {
        location.hash = '#/jobs';
        return;
      }
      if (action === 'trigger') st.auto = autoBox.checked = true;
      loadJob();
      loadExecs();
    };
    replace(actions,
      h('button', { type: 'button', class: 'btn', id: 'job-pause', disabled: j.state === 'complete', onclick: () => act(paused ? 'resume' : 'pause') },
        paused ? 'Resume' : 'Pause'),
      h('button', { type: 'button', class: 'btn', id: 'job-trigger', onclick: () => act('trigger') }, 'Run now'),
      h('a', { class: 'btn', href: `#/jobs/new?from=${encodeURIComponent(key)}` }, 'Copy'),
      h('button', { type: 'button', class: 'btn danger', id: 'job-delete', onclick: () => act('delete') }, 'Delete'));
    if (focused) document.getElementById(focused)?.focus();
  }

  // ---- executions ----

  async function loadExecs() {
    const seq = ++st.seq;
    try {
      const out = await get(jobPath(group, name, `/executions${query({ limit: st.limit })}`), { signal: page.signal });
      if (seq !== st.seq) return;
      st.execs = out.executions || [];
      st.more = !!out.next_cursor && st.limit < 1000;
      execStatus.replaceChildren();
      renderExecs();
    } catch (err) {
      if (err.name === 'AbortError' || seq !== st.seq) return;
      replace(execStatus, h('div', { class: 'card-body' }, errorBanner(err, 'Could not load the executions')));
    }
  }

  function renderExecs() {
    more.hidden = !st.more;
    more.parentElement.hidden = !st.more;
    renderStrip();
    if (st.execs.length === 0) {
      const g = st.job ? st.job.client_group : 'default';
      replace(tbody, h('tr', {}, h('td', { colspan: 11 }, emptyState('◷', 'No runs yet',
        h('p', {}, st.job && st.job.next_fire_at ? h('span', {}, 'The next fire is due ', timeEl(st.job.next_fire_at), '. ') : '',
          'Runs show up here as they fire; ', h('strong', {}, 'Run now'), ' fires one at once.'),
        st.noWorker ? h('p', {}, `A run needs a worker of group ${g} connected.`) : null))));
      return;
    }
    const rows = [];
    for (const e of st.execs) {
      rows.push(execRow(e));
      if (st.open.has(e.id)) rows.push(detailRow(e));
    }
    keepFocus(tbody, () => replace(tbody, rows));
  }

  function renderStrip() {
    const recent = st.execs.slice(0, STRIP_RUNS).reverse();
    replace(strip, recent.map((e) => {
      const t = tone(e.state).split(' ')[0];
      const at = parseTime(e.scheduled_at);
      return h('span', { class: `run ${t}`, title: `${e.state.replaceAll('_', ' ')} · ${at ? at.toLocaleString() : ''}` });
    }));
    strip.hidden = recent.length === 0;
    const counts = {};
    for (const e of st.execs) counts[e.state] = (counts[e.state] || 0) + 1;
    replace(stripLegend, Object.entries(counts).map(([s, n]) => h('span', {}, `${fmtNumber(n)} ${s.replaceAll('_', ' ')}`)));
  }

  function execRow(e) {
    const open = st.open.has(e.id);
    const toggle = h('button', { type: 'button', class: 'disclosure', 'aria-expanded': String(open), 'aria-label': `Details of the run scheduled ${e.scheduled_at}`,
      onclick: () => {
        if (st.open.has(e.id)) st.open.delete(e.id);
        else st.open.add(e.id);
        renderExecs();
      } }, h('span', { class: 'chev', 'aria-hidden': 'true' }, '›'));
    const started = e.started_at;
    const live = LIVE.has(e.state);
    const dur = started ? between(started, e.finished_at || (live ? new Date().toISOString() : null)) : null;
    const exit = e.exit_code ?? (e.http_status || null);
    return h('tr', { dataset: { key: e.id, state: e.state } },
      h('td', {}, toggle),
      h('td', {}, stateBadge(e.state, e.reason), e.manual ? h('span', { class: 'badge plain outline', title: 'fired by hand' }, 'manual') : null),
      h('td', {}, timeCell(e.scheduled_at)),
      h('td', { class: 'hide-narrow' }, timeEl(e.fired_at)),
      h('td', { class: 'hide-narrow' }, timeEl(e.started_at)),
      h('td', { class: 'hide-narrow' }, timeEl(e.finished_at)),
      h('td', { class: 'num' }, dur === null ? h('span', { class: 'muted' }, '—') : fmtDuration(dur)),
      h('td', { class: 'num hide-narrow' }, String(e.attempt || 1)),
      h('td', { class: 'num' }, exit === null ? h('span', { class: 'muted' }, '—') : h('span', { class: exit === 0 || (exit >= 200 && exit < 300) ? '' : 'badge err plain' }, String(exit))),
      h('td', {}, e.client ? h('span', { class: 'mono small' }, e.client) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'nowrap' }, h('button', { type: 'button', class: `btn tiny${live ? ' primary' : ''}`,
        'aria-label': `${live ? 'Follow the live log of' : 'Show the log of'} the run ${e.id}`,
        onclick: () => openLog(e, live) }, live ? 'Live log' : 'Log')));
  }

  function detailRow(e) {
    const fired = between(e.scheduled_at, e.fired_at);
    return h('tr', { class: 'detail-row', dataset: { key: `${e.id}:detail` } }, h('td', { colspan: 11 },
      h('div', { class: 'exec-detail' },
        h('div', { class: 'meta' },
          h('span', {}, 'ID ', h('span', { class: 'mono' }, e.id), ' ', copyButton(() => e.id)),
          fired !== null ? h('span', {}, `fired ${fmtDuration(fired)} after its scheduled time`) : null,
          e.piece ? h('span', {}, `piece ${e.piece.index + 1} of ${e.piece.count}${e.piece.parameter ? ` (${e.piece.parameter})` : ''}`) : null,
          e.reason ? h('span', {}, `reason: ${reasonText(e.reason)}`) : null),
        e.error ? h('div', { class: 'err-text' }, e.error) : null,
        e.output ? h('pre', { class: 'output', 'aria-label': 'Output tail' }, e.output)
          : h('span', { class: 'muted small' }, LIVE.has(e.state) ? 'Running: open the live log to follow its output.' : 'No output.'))));
  }

  // ---- workers ----

  async function checkWorkers() {
    if (!st.job) return;
    const g = st.job.client_group || 'default';
    try {
      const out = await get(`/v1/clients${query({ group: g, limit: 1 })}`, { signal: page.signal });
      st.noWorker = (out.clients || []).length === 0;
      if (st.noWorker) {
        replace(notices, banner('warn', `No worker connected in group ${g}`,
          'Fires of this job are skipped until one connects. Start one with ',
          h('code', {}, `swarm client --server ${location.host}${g === 'default' ? '' : ` --group ${g}`}`), '.'));
      } else {
        notices.replaceChildren();
      }
    } catch (err) {
      if (err.name !== 'AbortError') st.noWorker = false;
    }
  }

  // ---- log ----

  function openLog(e, follow) {
    stopLog('');
    const ctrl = new AbortController();
    page.signal.addEventListener('abort', () => ctrl.abort(), { once: true });
    st.log = ctrl;
    logCard.hidden = false;
    logOut.replaceChildren();
    replace(logTitle, e.id);
    logStop.hidden = !follow;
    replace(logStatus, h('span', { class: 'spinner', 'aria-hidden': 'true' }), follow ? 'Following the live log…' : 'Loading…');
    logCard.scrollIntoView({ block: 'nearest', behavior: 'smooth' });

    let partial = '';
    const add = (line) => {
      const stick = logOut.scrollTop + logOut.clientHeight >= logOut.scrollHeight - 24;
      logOut.append(logLine(line));
      while (logOut.childElementCount > LOG_LINES) logOut.firstElementChild.remove();
      if (stick) logOut.scrollTop = logOut.scrollHeight;
    };
    streamLogs(e.id, {
      follow,
      signal: ctrl.signal,
      onText: (text) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop();
        for (const line of lines) add(line);
      },
    }).then(() => {
      if (st.log !== ctrl) return;
      if (partial) add(partial);
      if (!logOut.textContent.trim()) replace(logOut, h('span', { class: 'muted' }, '(no log lines)'));
      replace(logStatus, follow ? 'The run ended; so did the stream.' : 'End of log.');
      logStop.hidden = true;
      loadExecs();
    }).catch((err) => {
      if (err.name === 'AbortError' || st.log !== ctrl) return;
      replace(logStatus, h('span', { class: 'badge err' }, 'error'), ` ${err.message}`);
      logStop.hidden = true;
    });
  }

  function stopLog(message) {
    if (st.log) st.log.abort();
    st.log = null;
    logStop.hidden = true;
    if (message) replace(logStatus, message);
  }

  function closeLog() {
    stopLog('');
    logCard.hidden = true;
  }

  // ---- loops ----

  page.onCleanup(() => stopLog(''));
  page.every(JOB_REFRESH_MS, loadJob);
  page.every(EXEC_REFRESH_MS, async () => {
    if (st.auto || st.execs.length === 0) await loadExecs();
  });
}

// logLine shows one stored log line, "<RFC 3339 time> <stream> <text>",
// with the time in local time (UTC on hover) and stderr marked.
function logLine(line) {
  const m = /^(\d{4}-\d\d-\d\dT\S+Z) (\S+) ?(.*)$/.exec(line);
  const d = m ? parseTime(m[1]) : null;
  if (!d) return h('span', { class: 'ln' }, h('span', { class: 'tx' }, line));
  const stream = m[2];
  const ms = String(d.getMilliseconds()).padStart(3, '0');
  return h('span', { class: `ln ${stream}` },
    h('span', { class: 'ts', title: fmtUTC(d) }, `${d.toLocaleTimeString(undefined, { hour12: false })}.${ms} `),
    stream === 'stdout' ? null : h('span', { class: `st ${stream}` }, `${stream} `),
    h('span', { class: 'tx' }, m[3]));
}

function executorText(e) {
  if (!e) return '';
  if (e.kind === 'handler') return h('span', {}, 'handler ', h('code', {}, e.name));
  const line = e.shell ? e.command : joinCommandLine([e.command || '', ...(e.args || [])]);
  return h('span', {}, h('code', {}, line), e.shell ? h('span', { class: 'muted small' }, ' via /bin/sh -c') : null,
    e.dir ? h('span', { class: 'muted small' }, ` in ${e.dir}`) : null);
}

function fact(label, ...value) {
  return h('div', {}, h('dt', {}, label), h('dd', {}, ...value));
}

function factsOf(j) {
  const t = j.trigger || {};
  const r = j.retries || {};
  const retries = r.max ? `${plural('retry', r.max, 'retries')}${r.backoff ? `, backoff ${r.backoff}` : ''}${r.max_backoff ? ` up to ${r.max_backoff}` : ''}` : 'none';
  const g = j.client_group || 'default';
  return [
    fact('Trigger', h('code', {}, triggerCode(t)),
      h('div', { class: 'muted small' }, [t.kind.replaceAll('_', ' '), triggerHuman(t)].filter(Boolean).join(' · '))),
    fact('Time zone', t.time_zone || 'UTC'),
    fact('Next fire', j.state === 'paused' ? h('span', { class: 'muted' }, 'paused') : timeCell(j.next_fire_at)),
    fact('Last fire', timeCell(j.prev_fire_at)),
    fact('Fired', `${fmtNumber(j.times_triggered || 0)} times`),
    fact('Runs', executorText(j.executor)),
    fact('Client group', h('a', { href: `#/clients?group=${encodeURIComponent(g)}` }, g), h('span', { class: 'muted' }, ` · routing ${j.routing || 'any'}`)),
    fact('Concurrency', j.concurrency || 'allow'),
    fact('Timeout', j.timeout || 'none'),
    fact('Retries', retries),
    fact('Misfire policy', (t.misfire || 'smart').replaceAll('_', ' ')),
    j.sharding_count ? fact('Shards', String(j.sharding_count), j.sharding_parameters ? ` (${j.sharding_parameters.join(', ')})` : '') : null,
    fact('Created', timeEl(j.created_at, { full: true })),
    fact('Updated', timeEl(j.updated_at, { full: true }), h('span', { class: 'muted small' }, ` · v${j.version || 0}`)),
    j.description ? fact('Description', j.description) : null,
  ].filter(Boolean);
}
