// Cluster: the meta leader, the servers with their load, the shards with
// their slot ranges, replicas and leaders.

import { h, replace } from '../dom.js';
import { get } from '../api.js';
import { fmtBytes, fmtNumber, plural, parseTime, fmtRelative } from '../format.js';
import { stateBadge, errorBanner, banner, emptyState } from '../widgets.js';

const REFRESH_MS = 5000;
const TOTAL_SLOTS = 16384;
const COLORS = 8;

export function mount(root, page) {
  const status = h('div', { id: 'cluster-status' });
  const body = h('div', { id: 'cluster-body' }, h('p', { class: 'loading' }, 'Loading the cluster…'));
  const subtitle = h('span', { class: 'subtitle' }, 'Servers, shards and where each shard\'s replicas live. Refreshes every 5 seconds.');
  root.append(
    h('div', { class: 'page-head' }, h('div', { class: 'titles' }, h('h1', {}, 'Cluster'), subtitle)),
    status, body);

  page.every(REFRESH_MS, async () => {
    try {
      const c = await get('/v1/cluster', { signal: page.signal });
      status.replaceChildren();
      replace(body, ...render(c));
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(status, errorBanner(err, 'Could not load the cluster'));
    }
  });
}

function render(c) {
  const servers = c.servers || [];
  const shards = [...(c.shards || [])].sort((a, b) => a.id - b.id);
  const factor = c.replicas || 0;
  const alive = servers.filter((s) => s.state === 'alive').length;
  const leaderless = shards.filter((s) => !s.leader).length;
  const jobs = shards.reduce((n, s) => n + (s.jobs || 0), 0);
  const clients = servers.reduce((n, s) => n + ((s.load && s.load.clients) || 0), 0);

  const out = [];
  if (c.under_replicated > 0) {
    out.push(banner('warn', `${plural('shard', c.under_replicated)} below the replication factor`,
      `Each shard wants ${factor || 'its'} replicas on different servers. Start more servers with `,
      h('code', {}, `swarm server --join ${location.host}`), ', or wait while the cluster adds replicas.'));
  }
  if (leaderless > 0) {
    out.push(banner('warn', `${plural('shard', leaderless)} without a leader`,
      'Jobs of those shards do not fire and their writes fail until an election ends (usually within seconds). ',
      'If it lasts, fewer than a majority of the shard\'s replicas are reachable.'));
  }

  out.push(h('div', { class: 'grid-tiles', id: 'cluster-tiles' },
    tile('Meta leader', c.meta_leader || 'none', c.epoch ? `epoch ${c.epoch}` : '', { text: true, id: 'meta-leader' }),
    tile('Servers', `${alive} / ${servers.length}`, 'alive', { good: alive === servers.length && alive > 0 }),
    tile('Shards', fmtNumber(shards.length), factor ? `${factor}× replicated` : ''),
    tile('Under-replicated', fmtNumber(c.under_replicated || 0), c.under_replicated ? 'shards need replicas' : 'all shards complete',
      { warn: c.under_replicated > 0, good: !c.under_replicated, id: 'under-replicated' }),
    tile('Jobs', fmtNumber(jobs), 'across all shards'),
    tile('Workers', fmtNumber(clients), 'connected')));

  out.push(slotMap(shards));
  out.push(serversCard(servers, c.meta_leader));
  out.push(shardsCard(shards, factor, servers));
  return out;
}

function tile(label, value, sub, { text, good, warn, id } = {}) {
  return h('div', { class: `tile${good ? ' good' : ''}${warn ? ' warn' : ''}`, id },
    h('div', { class: 'label' }, label),
    h('div', { class: `value${text ? ' text' : ''}` }, value),
    sub ? h('div', { class: 'sub' }, sub) : null);
}

// slotRanges turns ["0-4095", "8192"] into [[0, 4095], [8192, 8192]].
function slotRanges(slots) {
  return (slots || []).map((r) => {
    const [a, b] = String(r).split('-').map(Number);
    return [a, Number.isNaN(b) || b === undefined ? a : b];
  }).filter(([a, b]) => !Number.isNaN(a) && b >= a);
}

function slotMap(shards) {
  const segs = [];
  for (const s of shards) {
    for (const [a, b] of slotRanges(s.slots)) segs.push({ a, b, shard: s.id });
  }
  segs.sort((x, y) => x.a - y.a);
  const bar = h('div', { class: 'slotbar', role: 'img', 'aria-label': `Slot map: ${segs.map((s) => `slots ${s.a} to ${s.b} on shard ${s.shard}`).join('; ')}` },
    segs.map((s) => {
      const seg = h('div', { class: `seg c${s.shard % COLORS}`, title: `shard ${s.shard}: slots ${s.a}–${s.b}` },
        (s.b - s.a + 1) / TOTAL_SLOTS > 0.04 ? String(s.shard) : '');
      seg.style.flex = `${s.b - s.a + 1} 0 0`;
      return seg;
    }));
  return h('section', { class: 'card', 'aria-labelledby': 'slots-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'slots-title' }, 'Slot map'),
      h('span', { class: 'muted small' }, `A job key hashes to one of ${fmtNumber(TOTAL_SLOTS)} slots; each range belongs to one shard.`)),
    h('div', { class: 'slotmap' }, bar,
      h('div', { class: 'slot-scale', 'aria-hidden': 'true' }, h('span', {}, '0'), h('span', {}, fmtNumber(TOTAL_SLOTS / 2)), h('span', {}, fmtNumber(TOTAL_SLOTS - 1)))));
}

function serversCard(servers, metaLeader) {
  const rows = [...servers].sort((a, b) => a.id.localeCompare(b.id)).map((s) => {
    const l = s.load || {};
    const reported = parseTime(l.reported_at);
    return h('tr', { dataset: { key: s.id } },
      h('td', {}, h('div', { class: 'job-cell' },
        h('span', { class: 'key' }, s.id, ' ', s.id === metaLeader ? h('span', { class: 'badge info plain', title: 'leads the meta group' }, 'meta leader') : null),
        h('span', { class: 'desc mono' }, s.http || ''))),
      h('td', {}, stateBadge(s.state)),
      h('td', { class: 'num' }, fmtNumber(l.shard_leaders || 0)),
      h('td', { class: 'num' }, fmtNumber(l.replicas || 0)),
      h('td', { class: 'num' }, fmtNumber(l.jobs || 0)),
      h('td', { class: 'num' }, fmtNumber(l.fires_per_second || 0, 1)),
      h('td', { class: 'num' }, fmtNumber(l.requests_per_second || 0, 1)),
      h('td', { class: 'num' }, fmtNumber(l.clients || 0)),
      h('td', { class: 'num' }, fmtBytes(l.store_bytes || 0)),
      h('td', { class: 'num' }, l.apply_latency_ms ? `${fmtNumber(l.apply_latency_ms, 1)} ms` : '—'),
      h('td', {}, reported ? h('span', { title: reported.toISOString() }, fmtRelative(reported)) : h('span', { class: 'muted' }, '—')));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'servers-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'servers-title' }, 'Servers'),
      h('span', { class: 'muted small' }, 'Load as each server last reported it (every 5 s).')),
    servers.length === 0 ? emptyState('∅', 'No servers reported', h('p', {}, 'The meta group has no members yet.'))
      : h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'servers-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Server'),
          h('th', { scope: 'col' }, 'State'),
          h('th', { scope: 'col', class: 'num', title: 'shards this server leads' }, 'Leads'),
          h('th', { scope: 'col', class: 'num', title: 'shard replicas on this server' }, 'Replicas'),
          h('th', { scope: 'col', class: 'num' }, 'Jobs'),
          h('th', { scope: 'col', class: 'num' }, 'Fires/s'),
          h('th', { scope: 'col', class: 'num' }, 'Req/s'),
          h('th', { scope: 'col', class: 'num' }, 'Workers'),
          h('th', { scope: 'col', class: 'num' }, 'Store'),
          h('th', { scope: 'col', class: 'num' }, 'Apply'),
          h('th', { scope: 'col' }, 'Reported'))),
        h('tbody', {}, rows))));
}

function shardsCard(shards, factor, servers) {
  const known = new Set(servers.map((s) => s.id));
  const rows = shards.map((s) => {
    const replicas = s.replicas || [];
    const short = factor && replicas.length < factor;
    return h('tr', { dataset: { key: String(s.id) } },
      h('td', {}, h('span', { class: `swatch c${s.id % COLORS}`, 'aria-hidden': 'true' }), h('strong', {}, String(s.id))),
      h('td', {}, h('div', { class: 'chips' }, (s.slots || []).map((r) => h('span', { class: 'chip mono' }, r)))),
      h('td', {}, s.leader ? h('span', { class: 'mono' }, s.leader) : h('span', { class: 'badge warn' }, 'no leader')),
      h('td', {}, h('div', { class: 'chips' },
        replicas.map((r) => h('span', { class: `chip mono${r === s.leader ? ' leader' : ''}`, title: r === s.leader ? 'leader' : known.has(r) ? 'follower' : 'server not in the member list' },
          r === s.leader ? '★ ' : '', r)),
        short ? h('span', { class: 'badge warn' }, `${replicas.length} of ${factor}`) : null)),
      h('td', { class: 'num' }, fmtNumber(s.jobs || 0)));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'shards-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'shards-title' }, 'Shards'),
      h('span', { class: 'muted small' }, 'Each shard is a Raft group; its leader (★) fires its jobs.')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'shards-table' },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Shard'),
        h('th', { scope: 'col' }, 'Slots'),
        h('th', { scope: 'col' }, 'Leader'),
        h('th', { scope: 'col' }, 'Replicas'),
        h('th', { scope: 'col', class: 'num' }, 'Jobs'))),
      h('tbody', {}, rows))));
}
