// Pieces every page uses: badges, times, banners, empty states, toasts and
// the confirm dialog.

import { h, replace, $ } from './dom.js';
import { parseTime, fmtLocal, fmtLocalFull, fmtUTC, fmtRelative } from './format.js';

// Tones of execution and job states.
const TONES = {
  succeeded: 'ok',
  normal: 'ok',
  alive: 'ok',
  running: 'info live',
  dispatched: 'info',
  scheduled: '',
  failed: 'err',
  killed: 'err',
  timed_out: 'warn',
  lost: 'violet',
  skipped: '',
  paused: 'warn',
  complete: '',
  suspect: 'warn',
  dead: 'err',
  left: '',
};

const REASONS = {
  no_client: 'no worker of the job\'s client group was connected',
  misfire: 'the fire came too late and the misfire policy skipped it',
  concurrency: 'an earlier run was still going and concurrency is forbid',
  paused: 'the job was paused',
  deleted: 'the job was deleted',
  updated: 'the job was changed',
  capacity: 'every worker was at capacity',
};

export function tone(state) {
  return TONES[state] ?? '';
}

export function stateBadge(state, reason) {
  const text = (state || 'unknown').replaceAll('_', ' ');
  const why = reason ? REASONS[reason] || reason.replaceAll('_', ' ') : '';
  return h('span', { class: `badge ${tone(state)}`, title: why ? `${text}: ${why}` : null, dataset: { state } },
    text, reason ? h('span', { class: 'muted small' }, `· ${reason.replaceAll('_', ' ')}`) : null);
}

export function reasonText(reason) {
  return REASONS[reason] || (reason || '').replaceAll('_', ' ');
}

// timeEl shows an RFC 3339 time in local time, with UTC on hover.
export function timeEl(iso, { full = false } = {}) {
  const d = parseTime(iso);
  if (!d) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: d.toISOString(), title: `${fmtUTC(d)}\n${fmtLocalFull(d)} (your time)` },
    full ? fmtLocalFull(d) : fmtLocal(d));
}

// timeCell is timeEl with a relative time under it ("in 4 sec.").
export function timeCell(iso) {
  const d = parseTime(iso);
  if (!d) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'time-cell' }, timeEl(iso), h('span', { class: 'rel' }, fmtRelative(d)));
}

// banner builds an alert box. kind: err, warn or info.
export function banner(kind, title, ...body) {
  const icon = { err: '!', warn: '!', info: 'i' }[kind] || 'i';
  return h('div', { class: `banner ${kind}`, role: kind === 'err' ? 'alert' : 'status' },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, icon),
    h('div', { class: 'content' }, h('div', { class: 'title' }, title), body.length ? h('p', {}, ...body) : null));
}

// errorBanner explains an error from the API in terms an operator can act on.
export function errorBanner(err, what = 'The request failed') {
  if (err && err.code === 'network') {
    return banner('err', 'Cannot reach the swarm server',
      `${what}: the server at ${location.host} did not answer. Check that it runs (`,
      h('code', {}, 'swarm server'), ') and that the network allows the connection. Retrying in the background.');
  }
  if (err && err.status === 401) {
    return banner('err', 'Not signed in', 'The server requires an API token. ',
      h('button', { type: 'button', class: 'btn small', onclick: () => document.dispatchEvent(new CustomEvent('swarm:token')) }, 'Enter token'));
  }
  if (err && err.status === 403) {
    return banner('err', 'Not allowed', `${what}: the token does not grant this (${err.message}).`);
  }
  if (err && err.status === 503) {
    return banner('warn', 'The cluster is not ready', `${what}: ${err.message}. `,
      'This happens while a shard elects a leader or a server joins, and clears within seconds.');
  }
  const field = err && err.field ? h('code', {}, err.field) : null;
  return banner('err', what, field, field ? ': ' : '', err ? err.message : 'unknown error');
}

export function emptyState(glyph, title, ...rest) {
  return h('div', { class: 'empty' }, h('div', { class: 'glyph', 'aria-hidden': 'true' }, glyph), h('h2', {}, title), ...rest);
}

export function toast(message, kind = '') {
  const box = $('#toasts');
  const el = h('div', { class: `toast ${kind}` }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'err' ? 8000 : 4000);
}

// confirmAction opens the confirm dialog; resolves true on Confirm.
export function confirmAction({ title, text, ok = 'Confirm' }) {
  const dialog = $('#confirm-dialog');
  replace($('#confirm-title'), title);
  replace($('#confirm-text'), text);
  replace($('#confirm-ok'), ok);
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    $('#confirm-cancel').focus();
  });
}

export function copyButton(getText, label = 'Copy') {
  const btn = h('button', { type: 'button', class: 'btn tiny ghost' }, label);
  btn.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(getText());
      replace(btn, 'Copied');
    } catch {
      replace(btn, 'Copy failed');
    }
    setTimeout(() => replace(btn, label), 1500);
  });
  return btn;
}

// field builds a labelled input with its hint and error slot. The control
// gets data-field so that server errors naming the field land under it.
export function field(label, control, { hint, wide, optional, fieldName } = {}) {
  const id = control.id;
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-error`;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  if (fieldName) control.dataset.field = fieldName;
  return h('div', { class: `field${wide ? ' wide' : ''}` },
    h('label', { for: id }, label, optional ? h('span', { class: 'optional' }, ' (optional)') : null),
    control,
    hint ? h('div', { class: 'hint', id: hintId }, hint) : null,
    h('div', { class: 'error', id: errId, role: 'alert' }));
}

export function meter(used, total) {
  const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 0;
  const fill = h('div', { class: `fill${pct >= 100 ? ' full' : pct >= 80 ? ' hot' : ''}` });
  fill.style.width = `${pct}%`;
  return h('div', { class: 'meter', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': used,
    'aria-label': `${used} of ${total} in use` },
  h('div', { class: 'bar' }, fill), h('span', { class: 'txt' }, `${used} / ${total}`));
}
