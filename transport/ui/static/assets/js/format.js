// Formatting of times, durations, sizes and triggers. Times arrive as RFC
// 3339 in UTC and are shown in the browser's zone, with UTC on hover.

const sameDayFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const sameYearFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const fullFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });

export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

// parseTime returns a Date, or null for an absent or zero time.
export function parseTime(s) {
  if (!s) return null;
  const d = new Date(s);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() <= 1) return null;
  return d;
}

// fmtLocal shows d in the browser's zone, as short as it stays clear.
export function fmtLocal(d, now = new Date()) {
  if (d.toDateString() === now.toDateString()) return sameDayFmt.format(d);
  if (d.getFullYear() === now.getFullYear()) return sameYearFmt.format(d);
  return fullFmt.format(d);
}

export function fmtLocalFull(d) {
  return fullFmt.format(d);
}

// fmtUTC: "2026-12-03 17:36:45 UTC", with milliseconds when there are any.
export function fmtUTC(d) {
  const iso = d.toISOString();
  const ms = iso.slice(20, 23);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms === '000' ? '' : `.${ms}`} UTC`;
}

// fmtRelative: "in 4 sec.", "3 min. ago", "now".
export function fmtRelative(d, now = Date.now()) {
  const diff = (d.getTime() - now) / 1000;
  const abs = Math.abs(diff);
  if (abs < 1) return relFmt.format(0, 'second');
  if (abs < 60) return relFmt.format(Math.round(diff), 'second');
  if (abs < 3600) return relFmt.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return relFmt.format(Math.round(diff / 3600), 'hour');
  if (abs < 86400 * 45) return relFmt.format(Math.round(diff / 86400), 'day');
  if (abs < 86400 * 365) return relFmt.format(Math.round(diff / (86400 * 30)), 'month');
  return relFmt.format(Math.round(diff / (86400 * 365)), 'year');
}

// fmtDuration: "850 ms", "2.3 s", "1 m 05 s", "2 h 03 m", "3 d 4 h".
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const pad = (n) => String(n).padStart(2, '0');
  const total = Math.round(s);
  const d = Math.floor(total / 86400);
  const hh = Math.floor((total % 86400) / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = total % 60;
  if (d > 0) return `${d} d ${hh} h`;
  if (hh > 0) return `${hh} h ${pad(mm)} m`;
  return `${mm} m ${pad(ss)} s`;
}

export function between(a, b) {
  const x = parseTime(a);
  const y = parseTime(b);
  if (!x || !y) return null;
  return y.getTime() - x.getTime();
}

export function fmtBytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function fmtNumber(n, digits = 0) {
  if (n === null || n === undefined) return '';
  return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

// plural("fire", 3) -> "3 fires".
export function plural(word, n, many = `${word}s`) {
  return `${fmtNumber(n)} ${n === 1 ? word : many}`;
}

// triggerCode is the compact form of a trigger shown in tables.
export function triggerCode(t) {
  if (!t) return '';
  switch (t.kind) {
    case 'cron':
      return t.cron || '';
    case 'simple':
      return `every ${t.interval}`;
    case 'daily_time_interval':
      return `every ${t.interval} ${t.unit || 'minute'}`;
    case 'calendar_interval':
      return `every ${t.interval} ${t.unit || 'day'}`;
    default:
      return t.kind || '';
  }
}

const DAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];

// triggerHuman says in words what the trigger does, where that is short.
export function triggerHuman(t) {
  if (!t) return '';
  const zone = t.time_zone && t.time_zone !== 'UTC' ? ` (${t.time_zone})` : '';
  switch (t.kind) {
    case 'cron': {
      const human = describeCron(t.cron);
      return human ? human + zone : zone.trim();
    }
    case 'simple': {
      const rc = t.repeat_count;
      if (rc === undefined || rc === null || rc < 0) return 'repeats forever';
      return `fires ${plural('time', rc + 1)}`;
    }
    case 'daily_time_interval': {
      const from = (t.start_time_of_day || '00:00:00').slice(0, 5);
      const to = (t.end_time_of_day || '23:59:59').slice(0, 5);
      return `${from}–${to}, ${daysText(t.days_of_week)}${zone}`;
    }
    case 'calendar_interval':
      return `calendar interval${zone}`;
    default:
      return '';
  }
}

function daysText(days) {
  if (!days || days.length === 0 || days.length === 7) return 'every day';
  const set = new Set(days.map((d) => d.toUpperCase()));
  if (set.size === 5 && DAYS.slice(0, 5).every((d) => set.has(d))) return 'weekdays';
  if (set.size === 2 && set.has('SAT') && set.has('SUN')) return 'weekends';
  return DAYS.filter((d) => set.has(d)).map((d) => d[0] + d.slice(1).toLowerCase()).join(', ');
}

// describeCron covers the common shapes; anything else returns ''.
export function describeCron(expr) {
  if (!expr) return '';
  const f = expr.trim().split(/\s+/);
  if (f.length !== 6) return '';
  const [sec, min, hour, dom, mon, dow] = f;
  if (mon !== '*') return '';
  const anyDom = dom === '*' || dom === '?';
  const anyDow = dow === '*' || dow === '?';
  if (!anyDom) return '';
  const days = anyDow ? '' : cronDays(dow);
  if (!anyDow && !days) return '';

  const num = (x) => /^\d+$/.test(x);
  if ((num(sec) && Number(sec) > 59) || (num(min) && Number(min) > 59) || (num(hour) && Number(hour) > 23)) return '';
  const step = (x) => {
    const m = /^(?:\*|0)\/(\d+)$/.exec(x);
    return m ? Number(m[1]) : 0;
  };
  let what = '';
  if (sec === '*' && min === '*' && hour === '*') what = 'every second';
  else if (step(sec) && min === '*' && hour === '*') what = `every ${step(sec)} seconds`;
  else if (num(sec) && min === '*' && hour === '*') what = 'every minute';
  else if (num(sec) && step(min) && hour === '*') what = `every ${step(min)} minutes`;
  else if (num(sec) && num(min) && hour === '*') what = `hourly at :${min.padStart(2, '0')}`;
  else if (num(sec) && min === '0' && step(hour)) what = `every ${step(hour)} hours`;
  else if (num(sec) && num(min) && num(hour)) return `${days || 'daily'} at ${clock(hour, min, sec)}`;
  if (!what) return '';
  return days ? `${what}, ${days}` : what;
}

const CRON_DAY_NAMES = { SUN: 'Sundays', MON: 'Mondays', TUE: 'Tuesdays', WED: 'Wednesdays', THU: 'Thursdays', FRI: 'Fridays', SAT: 'Saturdays' };
const CRON_DAY_NUMS = ['', 'SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

// cronDays names a day-of-week field such as MON-FRI, SAT,SUN or 2.
function cronDays(dow) {
  const up = dow.toUpperCase();
  if (up === 'MON-FRI' || up === '2-6') return 'weekdays';
  if (up === 'SAT,SUN' || up === 'SUN,SAT' || up === '1,7' || up === '7,1') return 'weekends';
  const names = up.split(',').map((d) => (/^[1-7]$/.test(d) ? CRON_DAY_NUMS[Number(d)] : d));
  if (!names.every((d) => CRON_DAY_NAMES[d])) return '';
  return names.map((d) => CRON_DAY_NAMES[d]).join(', ');
}

function clock(hour, min, sec) {
  const hm = `${hour.padStart(2, '0')}:${min.padStart(2, '0')}`;
  return sec === '0' ? hm : `${hm}:${sec.padStart(2, '0')}`;
}

// splitCommandLine splits like a POSIX shell would without expanding
// anything: whitespace separates words; quotes and backslashes group.
export function splitCommandLine(line) {
  const words = [];
  let cur = '';
  let inWord = false;
  let quote = '';
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = '';
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
        i += 1;
        cur += line[i];
      } else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      i += 1;
      cur += line[i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return { words, error: `unclosed ${quote === '"' ? 'double' : 'single'} quote` };
  if (inWord) words.push(cur);
  return { words, error: '' };
}

// joinCommandLine is the inverse of splitCommandLine for display.
export function joinCommandLine(words) {
  return words.map((w) => (w === '' || /[\s'"\\$`]/.test(w) ? `'${w.replaceAll("'", "'\\''")}'` : w)).join(' ');
}
