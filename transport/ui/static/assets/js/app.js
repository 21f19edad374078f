// Entry point: hash routing, the page lifecycle, the token dialog and the
// server line in the top bar.

import { $, $$, h, replace } from './dom.js';
import { get, getToken, setToken, setTokenPrompt } from './api.js';
import { errorBanner } from './widgets.js';
import * as jobs from './pages/jobs.js';
import * as jobForm from './pages/jobform.js';
import * as job from './pages/job.js';
import * as cluster from './pages/cluster.js';
import * as clients from './pages/clients.js';

// Routes match the hash path (the part before "?").
const routes = [
  { re: /^\/jobs\/?$/, page: jobs, nav: 'jobs', title: 'Jobs' },
  { re: /^\/jobs\/new$/, page: jobForm, nav: 'jobs', title: 'New job' },
  { re: /^\/jobs\/([^/]+)\/([^/]+)$/, page: job, nav: 'jobs', title: 'Job' },
  { re: /^\/cluster\/?$/, page: cluster, nav: 'cluster', title: 'Cluster' },
  { re: /^\/clients\/?$/, page: clients, nav: 'clients', title: 'Clients' },
];

let current = null;
let routed = false; // whether a page was shown before

// Page is what a page module's mount gets: route parameters, the query of
// the hash, and lifecycle helpers that end when the user navigates away.
class Page {
  constructor(params, query) {
    this.params = params;
    this.query = query;
    this.controller = new AbortController();
    this.signal = this.controller.signal;
    this.cleanups = [];
  }

  // every runs fn now and then every ms while the page lives, skipping
  // turns while the browser tab is hidden and never overlapping itself.
  every(ms, fn) {
    let timer = 0;
    const tick = async () => {
      if (this.signal.aborted) return;
      if (!document.hidden) {
        try {
          await fn();
        } catch (err) {
          if (err.name !== 'AbortError') console.error(err);
        }
      }
      if (!this.signal.aborted) timer = setTimeout(tick, ms);
    };
    tick();
    this.onCleanup(() => clearTimeout(timer));
  }

  onCleanup(fn) {
    this.cleanups.push(fn);
  }

  // setQuery rewrites the hash's query without routing again.
  setQuery(q) {
    const path = location.hash.slice(1).split('?')[0];
    const s = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== '' && v != null)).toString();
    history.replaceState(null, '', `#${path}${s ? `?${s}` : ''}`);
    this.query = new URLSearchParams(s);
  }

  close() {
    this.controller.abort();
    for (const fn of this.cleanups) fn();
  }
}

function route() {
  const raw = location.hash.slice(1);
  if (raw === 'main') return; // the skip link
  const [path, qs] = raw.split('?');
  if (!path || path === '/') {
    history.replaceState(null, '', '#/jobs');
    route();
    return;
  }

  if (current) current.close();
  const main = $('#main');
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = m.slice(1).map(decodeURIComponent);
    current = new Page(params, new URLSearchParams(qs || ''));
    markNav(r.nav);
    document.title = `${r.title} · swarm`;
    main.replaceChildren();
    // A new page starts at the top with the focus on it, as after a page
    // load; the page may then focus its first field.
    window.scrollTo(0, 0);
    if (routed) main.focus({ preventScroll: true });
    routed = true;
    r.page.mount(main, current);
    return;
  }
  current = null;
  markNav('');
  document.title = 'Not found · swarm';
  replace(main, h('div', { class: 'empty' },
    h('h1', {}, 'Page not found'),
    h('p', {}, 'There is no dashboard page at ', h('code', {}, `#${path}`), '.'),
    h('div', { class: 'actions' }, h('a', { class: 'btn primary', href: '#/jobs' }, 'Go to jobs'))));
}

function markNav(name) {
  for (const a of $$('[data-nav]')) {
    if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// Token dialog.

function openTokenDialog(reason) {
  const dialog = $('#token-dialog');
  const input = $('#token-input');
  replace($('#token-reason'), reason || 'Set the API token this browser sends to the server.');
  input.value = getToken();
  $('#token-clear').hidden = !getToken();
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'saved'), { once: true });
    dialog.showModal();
    input.focus();
  });
}

function wireTokenDialog() {
  const dialog = $('#token-dialog');
  $('#token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('#token-input').value.trim();
    if (!token) return;
    setToken(token);
    dialog.close('saved');
  });
  $('#token-cancel').addEventListener('click', () => dialog.close('cancel'));
  $('#token-clear').addEventListener('click', () => {
    setToken('');
    dialog.close('cleared');
  });
  setTokenPrompt((reason) => openTokenDialog(reason));
  const manual = async () => {
    if (await openTokenDialog()) route();
  };
  $('#token-button').addEventListener('click', manual);
  document.addEventListener('swarm:token', manual);
}

// The server line: version and reachability, refreshed every 15 s.
async function serverInfo() {
  const el = $('#server-info');
  try {
    const v = await get('/v1/version');
    replace(el, h('span', { class: 'dot ok', 'aria-hidden': 'true' }), `${location.host} · ${v.version}`);
    el.title = `Connected to ${location.host}, swarm ${v.version}, protocol ${v.protocol}`;
  } catch (err) {
    replace(el, h('span', { class: 'dot err', 'aria-hidden': 'true' }), `${location.host} · unreachable`);
    el.title = err.message;
  }
}

function start() {
  // Deep links such as /ui/jobs/a/b become #/jobs/a/b.
  const rest = location.pathname.replace(/^\/ui\/?/, '');
  if (rest && rest !== 'index.html') {
    history.replaceState(null, '', `/ui/#/${rest}${location.search}`);
  }

  wireTokenDialog();
  $('#skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    $('#main').focus();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (ev) => {
    if (ev.reason && ev.reason.name === 'AbortError') ev.preventDefault();
  });
  route();
  serverInfo();
  setInterval(serverInfo, 15000);
}

try {
  start();
} catch (err) {
  replace($('#main'), errorBanner(err, 'The dashboard failed to start'));
  throw err;
}
