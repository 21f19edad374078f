// New job: a form for every field of a job, a live preview of the next
// fire times from POST /v1/triggers:preview, and the server's validation
// errors shown under the field they name.

import { h, replace, debounce, $, $$ } from '../dom.js';
import { get, post, jobPath } from '../api.js';
import { browserZone, fmtLocal, fmtUTC, fmtRelative, parseTime, splitCommandLine, joinCommandLine, describeCron } from '../format.js';
import { field, banner, errorBanner, toast, copyButton } from '../widgets.js';

const PREVIEW_COUNT = 10;
const PREVIEW_DELAY_MS = 300;
const NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}';
const DAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];

// GO_DURATION is the syntax of Go's time.ParseDuration, which the server
// uses for every duration field.
const GO_DURATION = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$|^0$/;
const DURATION_FIELDS = ['f-interval-simple', 'f-timeout', 'f-backoff', 'f-max-backoff'];
const DURATION_HELP = 'must be a duration such as 1500ms, 30s, 5m or 2h';

// badDurations returns the visible duration inputs whose text the server
// would refuse; the server's own message for them names no field.
function badDurations(form) {
  return DURATION_FIELDS.map((id) => form.elements[id])
    .filter((el) => !el.closest('[hidden]') && el.value.trim() !== '' && !GO_DURATION.test(el.value.trim()));
}

const KINDS = [
  ['cron', 'Cron'],
  ['simple', 'Fixed interval'],
  ['daily_time_interval', 'Daily time window'],
  ['calendar_interval', 'Calendar interval'],
];

const CRON_EXAMPLES = [
  ['every second', '* * * * * ?'],
  ['every 5 min', '0 0/5 * * * ?'],
  ['hourly', '0 0 * * * ?'],
  ['daily 02:00', '0 0 2 * * ?'],
  ['weekdays 09:00', '0 0 9 ? * MON-FRI'],
  ['last day of month', '0 0 12 L * ?'],
];

const MISFIRE_COMMON = [
  ['', 'Smart default (fire once now)'],
  ['fire_once_now', 'Fire once now'],
  ['do_nothing', 'Do nothing, wait for the next time'],
  ['ignore_misfire_policy', 'Replay every missed fire'],
];

const MISFIRE_SIMPLE = [
  ['', 'Smart default'],
  ['fire_now', 'Fire now'],
  ['reschedule_now_with_existing_repeat_count', 'Reschedule now, existing repeat count'],
  ['reschedule_now_with_remaining_repeat_count', 'Reschedule now, remaining repeat count'],
  ['reschedule_next_with_remaining_count', 'Next time, remaining count'],
  ['reschedule_next_with_existing_count', 'Next time, existing count'],
  ['ignore_misfire_policy', 'Replay every missed fire'],
];

// Options of the selects, with the hint shown under each choice.
const ROUTINGS = [
  ['', 'any (default)', 'Any connected worker of the group.'],
  ['round_robin', 'round_robin', 'The workers of the group take turns.'],
  ['least_busy', 'least_busy', 'The worker with the most free capacity.'],
  ['consistent_hash', 'consistent_hash', 'The same worker for this job while the group is stable.'],
  ['broadcast', 'broadcast', 'Every worker of the group runs each fire.'],
  ['client_labels', 'client_labels', 'Only workers whose labels match.'],
];

const CONCURRENCY = [
  ['', 'allow (default)', 'Runs may overlap.'],
  ['forbid', 'forbid', 'A fire is skipped while an earlier run is going.'],
  ['replace', 'replace', 'The running run is killed and a new one starts.'],
];

function input(id, attrs = {}) {
  return h('input', { id, name: id, type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });
}

function select(id, options, attrs = {}) {
  return h('select', { id, name: id, ...attrs }, options.map(([v, label]) => h('option', { value: v }, label)));
}

function checkbox(id, label, attrs = {}) {
  return h('div', { class: 'field check wide' }, h('input', { id, name: id, type: 'checkbox', ...attrs }), h('label', { for: id }, label));
}

function radios(name, legend, options, checked) {
  return h('fieldset', { class: 'plain' },
    h('legend', {}, legend),
    h('div', { class: 'segmented' }, options.map(([v, label]) => h('label', { for: `${name}-${v}` },
      h('input', { type: 'radio', name, id: `${name}-${v}`, value: v, checked: v === checked }), label))));
}

export function mount(root, page) {
  const ui = buildForm();
  root.append(ui.head, ui.layout);

  const form = ui.form;
  const state = { previewSeq: 0, previewAbort: null, previewMarked: new Set() };

  // Show the panels of the chosen trigger and executor kinds.
  const syncKinds = () => {
    const kind = triggerKind(form);
    for (const p of $$('[data-kind-panel]', form)) p.hidden = p.dataset.kindPanel !== kind;
    const exec = form.elements.executor_kind.value;
    for (const p of $$('[data-exec-panel]', form)) p.hidden = p.dataset.execPanel !== exec;
    $('#labels-field', form).hidden = form.elements['f-routing'].value !== 'client_labels';
    syncHint(form, 'f-routing', ROUTINGS);
    syncHint(form, 'f-concurrency', CONCURRENCY);
    const misfire = form.elements['f-misfire'];
    const keep = misfire.value;
    const opts = kind === 'simple' ? MISFIRE_SIMPLE : MISFIRE_COMMON;
    replace(misfire, opts.map(([v, label]) => h('option', { value: v, selected: v === keep }, label)));
  };

  const updateArgv = () => {
    const line = form.elements['f-cmd'].value;
    const shell = form.elements['f-shell'].checked;
    const out = $('#argv', form);
    if (!line.trim()) {
      replace(out);
      return;
    }
    if (shell) {
      replace(out, h('span', { class: 'label' }, 'runs'), h('span', { class: 'chip mono' }, '/bin/sh'), h('span', { class: 'chip mono' }, '-c'),
        h('span', { class: 'chip mono' }, line));
      return;
    }
    const { words, error } = splitCommandLine(line);
    if (error) {
      replace(out, h('span', { class: 'error' }, error));
      return;
    }
    replace(out, h('span', { class: 'label' }, 'argv'), words.map((w) => h('span', { class: 'chip mono' }, w === '' ? '""' : w)));
  };

  const updateJSON = () => {
    try {
      replace($('#job-json', root), JSON.stringify(buildJob(form), null, 2));
    } catch (err) {
      replace($('#job-json', root), `// ${err.message}`);
    }
  };

  const preview = debounce(() => runPreview(form, state, page), PREVIEW_DELAY_MS);

  form.addEventListener('input', (ev) => {
    clearFieldError(ev.target);
    if (ev.target.closest('[data-preview]')) preview();
    if (ev.target.id === 'f-cmd' || ev.target.id === 'f-shell') updateArgv();
    if (ev.target.id === 'f-cron') updateCronHint(form);
    updateJSON();
  });
  form.addEventListener('change', (ev) => {
    if (['kind', 'executor_kind', 'f-routing', 'f-concurrency'].includes(ev.target.name)) syncKinds();
    if (ev.target.closest('[data-preview]')) preview();
    updateJSON();
  });
  for (const b of $$('[data-cron]', form)) {
    b.addEventListener('click', () => {
      form.elements['f-cron'].value = b.dataset.cron;
      clearFieldError(form.elements['f-cron']);
      updateCronHint(form);
      preview();
      updateJSON();
    });
  }
  $('#use-my-zone', form).addEventListener('click', () => {
    form.elements['f-tz'].value = browserZone;
    preview();
    updateJSON();
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit(form, ui, page);
  });
  page.onCleanup(() => {
    preview.cancel();
    if (state.previewAbort) state.previewAbort.abort();
  });

  const start = () => {
    syncKinds();
    updateArgv();
    updateCronHint(form);
    updateJSON();
    runPreview(form, state, page);
  };
  const from = page.query.get('from');
  if (from && from.includes('/')) {
    const [g, ...rest] = from.split('/');
    get(jobPath(g, rest.join('/')), { signal: page.signal }).then((job) => {
      fill(form, job);
      replace($('#form-title', root), `New job from ${g}/${rest.join('/')}`);
      start();
    }).catch((err) => {
      if (err.name === 'AbortError') return;
      replace(ui.formStatus, errorBanner(err, `Could not load ${from} to copy`));
      start();
    });
  } else {
    start();
  }
  form.elements['f-group'].focus();
}

function buildForm() {
  const tzList = h('datalist', { id: 'tz-list' },
    ['UTC', ...(Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : [])].map((z) => h('option', { value: z })));

  const identity = h('fieldset', { class: 'section' },
    h('legend', {}, 'Job'),
    h('div', { class: 'fields' },
      field('Group', input('f-group', { required: true, pattern: NAME_PATTERN, placeholder: 'billing', maxlength: 128 }),
        { fieldName: 'group', hint: 'Letters, digits, ".", "_" and "-".' }),
      field('Name', input('f-name', { required: true, pattern: NAME_PATTERN, placeholder: 'nightly-invoices', maxlength: 128 }),
        { fieldName: 'name', hint: 'Unique within the group.' }),
      field('Description', input('f-description', { placeholder: 'What the job does, for the people on call' }),
        { fieldName: 'description', optional: true, wide: true })));

  const cronPanel = h('div', { class: 'kind-panel', dataset: { kindPanel: 'cron' } },
    h('div', { class: 'fields' },
      field('Cron expression', input('f-cron', { class: 'mono', value: '0 0 * * * ?', placeholder: 'sec min hour day month weekday [year]' }),
        { fieldName: 'trigger.cron', wide: true, hint: h('span', { id: 'cron-hint' }, 'Quartz syntax with seconds: sec min hour day-of-month month day-of-week [year].') })),
    h('div', { class: 'examples' }, h('span', { class: 'label' }, 'Examples:'),
      CRON_EXAMPLES.map(([label, expr]) => h('button', { type: 'button', class: 'btn tiny', dataset: { cron: expr }, title: expr }, label))));

  const simplePanel = h('div', { class: 'kind-panel', dataset: { kindPanel: 'simple' }, hidden: true },
    h('div', { class: 'fields' },
      field('Every', input('f-interval-simple', { class: 'mono', placeholder: '30s', value: '1m' }),
        { fieldName: 'trigger.interval', hint: 'A duration such as 1500ms, 30s, 1h.' }),
      field('Repeat', input('f-repeat-simple', { type: 'number', value: '-1', min: '-1', step: '1' }),
        { fieldName: 'trigger.repeat_count', hint: 'Fires after the first; -1 repeats forever.' })));

  const dailyPanel = h('div', { class: 'kind-panel', dataset: { kindPanel: 'daily_time_interval' }, hidden: true },
    h('fieldset', { class: 'plain', id: 'f-days', dataset: { field: 'trigger.days_of_week' }, 'aria-describedby': 'f-days-error' },
      h('legend', {}, 'Days'),
      h('div', { class: 'days' }, DAYS.map((d) => h('label', {}, h('input', { type: 'checkbox', name: 'dow', value: d, checked: true }), d))),
      h('div', { class: 'field' }, h('div', { class: 'error', id: 'f-days-error', role: 'alert' }))),
    h('div', { class: 'fields' },
      field('From', input('f-start-tod', { type: 'time', step: '1', value: '08:00:00' }), { fieldName: 'trigger.start_time_of_day' }),
      field('Until', input('f-end-tod', { type: 'time', step: '1', value: '17:00:00' }), { fieldName: 'trigger.end_time_of_day' }),
      field('Every', input('f-interval-daily', { type: 'number', min: '1', step: '1', value: '15' }), { fieldName: 'trigger.interval' }),
      field('Unit', select('f-unit-daily', [['second', 'seconds'], ['minute', 'minutes'], ['hour', 'hours']]), { fieldName: 'trigger.unit' }),
      field('Repeat', input('f-repeat-daily', { type: 'number', value: '-1', min: '-1', step: '1' }),
        { fieldName: 'trigger.repeat_count', hint: 'Fires after the first, ever; -1 forever.' })));
  dailyPanel.querySelector('#f-unit-daily').value = 'minute';

  const calendarPanel = h('div', { class: 'kind-panel', dataset: { kindPanel: 'calendar_interval' }, hidden: true },
    h('div', { class: 'fields' },
      field('Every', input('f-interval-cal', { type: 'number', min: '1', step: '1', value: '1' }), { fieldName: 'trigger.interval' }),
      field('Unit', select('f-unit-cal', ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'].map((u) => [u, `${u}s`])),
        { fieldName: 'trigger.unit' })),
    checkbox('f-preserve', 'Keep the hour of day across daylight-saving changes', { dataset: { field: 'trigger.preserve_hour_of_day_across_dst' } }),
    checkbox('f-skipday', 'Skip a day whose hour does not exist (DST gap)', { dataset: { field: 'trigger.skip_day_if_hour_does_not_exist' } }));
  calendarPanel.querySelector('#f-unit-cal').value = 'day';

  const schedule = h('fieldset', { class: 'section', dataset: { preview: '' } },
    h('legend', {}, 'Schedule'),
    radios('kind', 'Trigger kind', KINDS, 'cron'),
    cronPanel, simplePanel, dailyPanel, calendarPanel,
    h('div', { class: 'fields tz-row' },
      field('Time zone', input('f-tz', { list: 'tz-list', placeholder: 'UTC', value: 'UTC' }),
        { fieldName: 'trigger.time_zone', hint: h('span', {}, 'IANA name, such as Europe/Berlin. ',
          h('button', { type: 'button', class: 'btn tiny ghost', id: 'use-my-zone', hidden: browserZone === 'UTC' }, `Use mine (${browserZone})`)) }),
      tzList),
    h('details', { class: 'more' },
      h('summary', {}, 'Start, end, misfires and calendar'),
      h('div', { class: 'fields' },
        field('Start at', input('f-start-at', { type: 'datetime-local', step: '1' }),
          { fieldName: 'trigger.start_at', optional: true, hint: 'In your time zone. Default: when the job is created.' }),
        field('End at', input('f-end-at', { type: 'datetime-local', step: '1' }),
          { fieldName: 'trigger.end_at', optional: true, hint: 'No fire after it.' }),
        field('Misfire policy', select('f-misfire', MISFIRE_COMMON), { fieldName: 'trigger.misfire', hint: 'What to do with a fire missed by more than the threshold.' }),
        field('Priority', input('f-priority', { type: 'number', step: '1', placeholder: '5' }),
          { fieldName: 'trigger.priority', optional: true, hint: 'Higher fires first among equal times.' }),
        field('Exclusion calendar', input('f-calendar', { placeholder: 'holidays' }), { fieldName: 'trigger.calendar', optional: true }))));

  const executor = h('fieldset', { class: 'section' },
    h('legend', {}, 'What to run'),
    radios('executor_kind', 'Executor', [['process', 'Process'], ['handler', 'Handler']], 'process'),
    h('div', { class: 'kind-panel', dataset: { execPanel: 'process' } },
      h('div', { class: 'fields' },
        field('Command', input('f-cmd', { class: 'mono', placeholder: '/opt/jobs/invoices --day yesterday' }),
          { fieldName: 'executor.command executor.args', wide: true, hint: h('span', {}, 'Split into arguments like a shell does; nothing is expanded. ', h('span', { id: 'argv', class: 'argv' })) }),
        checkbox('f-shell', 'Run the command through /bin/sh -c (pipes, variables, globs)', { dataset: { field: 'executor.shell' } }),
        field('Working directory', input('f-dir', { class: 'mono', placeholder: '/opt/jobs' }), { fieldName: 'executor.dir', optional: true }),
        field('Environment', h('textarea', { id: 'f-env', name: 'f-env', rows: 2, placeholder: 'MODE=full', spellcheck: 'false' }),
          { fieldName: 'executor.env', optional: true, hint: 'One KEY=VALUE per line.' }))),
    h('div', { class: 'kind-panel', dataset: { execPanel: 'handler' }, hidden: true },
      h('div', { class: 'fields' },
        field('Handler name', input('f-handler', { placeholder: 'billing.invoices' }),
          { fieldName: 'executor.name', hint: 'A handler registered by a Go worker with client.Handle.' }))));

  const where = h('fieldset', { class: 'section' },
    h('legend', {}, 'Where to run'),
    h('div', { class: 'fields' },
      field('Client group', input('f-client-group', { placeholder: 'default', pattern: NAME_PATTERN }),
        { fieldName: 'client_group', hint: 'Workers started with the same --group run the job.' }),
      field('Routing', select('f-routing', ROUTINGS), { fieldName: 'routing', hint: ROUTINGS[0][2] }),
      h('div', { id: 'labels-field', class: 'field wide', hidden: true },
        field('Client labels', h('textarea', { id: 'f-labels', name: 'f-labels', rows: 2, placeholder: 'zone=eu-1', spellcheck: 'false' }),
          { fieldName: 'client_labels', hint: 'One key=value per line; a worker must carry all of them.' })),
      field('Shards', input('f-shard-count', { type: 'number', min: '0', step: '1', placeholder: '1' }),
        { fieldName: 'sharding_count', optional: true, hint: 'Split each fire into this many pieces.' }),
      field('Shard parameters', input('f-shard-params', { placeholder: 'eu, us, apac' }),
        { fieldName: 'sharding_parameters', optional: true, hint: 'Comma-separated, one per piece.' })));

  const policies = h('fieldset', { class: 'section' },
    h('legend', {}, 'Policies'),
    h('div', { class: 'fields' },
      field('Concurrency', select('f-concurrency', CONCURRENCY), { fieldName: 'concurrency', hint: CONCURRENCY[0][2] }),
      field('Timeout', input('f-timeout', { class: 'mono', placeholder: '30m' }), { fieldName: 'timeout', optional: true, hint: 'Kill a run after this long.' }),
      field('Retries', input('f-retries', { type: 'number', min: '0', step: '1', placeholder: '0' }), { fieldName: 'retries.max', hint: 'Further attempts after a failure.' }),
      field('Backoff', input('f-backoff', { class: 'mono', placeholder: '10s' }), { fieldName: 'retries.backoff', optional: true, hint: 'Doubles on each retry.' }),
      field('Max backoff', input('f-max-backoff', { class: 'mono', placeholder: '5m' }), { fieldName: 'retries.max_backoff', optional: true }),
      field('Data', h('textarea', { id: 'f-data', name: 'f-data', rows: 2, placeholder: 'tenant=acme', spellcheck: 'false' }),
        { fieldName: 'data', optional: true, wide: true, hint: 'One key=value per line; the run gets it as SWARM_DATA and SWARM_DATA_<KEY>.' })));

  const formStatus = h('div', { id: 'form-status' });
  const submitBtn = h('button', { type: 'submit', class: 'btn primary', id: 'job-submit' }, 'Create job');
  const form = h('form', { id: 'job-form', novalidate: true, 'aria-labelledby': 'form-title' },
    formStatus, identity, schedule, executor, where, policies,
    h('div', { class: 'form-actions' },
      h('span', { class: 'status', id: 'submit-status', role: 'status' }),
      h('a', { class: 'btn', href: '#/jobs' }, 'Cancel'),
      submitBtn));

  const previewCard = h('section', { class: 'card', 'aria-labelledby': 'preview-title' },
    h('div', { class: 'card-head' },
      h('h2', { id: 'preview-title' }, 'Next fire times'),
      h('span', { class: 'spinner', id: 'preview-spinner', hidden: true, 'aria-hidden': 'true' }),
      h('span', { class: 'muted small', id: 'preview-zone' })),
    h('div', { id: 'preview-body', 'aria-live': 'polite' }, h('p', { class: 'preview-state' }, 'Fill in the schedule to see when the job fires.')));

  const jsonCard = h('section', { class: 'card' },
    h('details', {},
      h('summary', { class: 'card-head' }, h('h2', {}, 'Request body'), h('span', { class: 'muted small' }, 'POST /v1/jobs')),
      h('div', { class: 'card-head' }, h('span', { class: 'muted small' }, 'The same JSON works with curl or swarm job create -f.'),
        h('span', { class: 'actions' }, copyButton(() => $('#job-json').textContent))),
      h('pre', { class: 'json', id: 'job-json' })));

  const head = h('div', { class: 'page-head' },
    h('div', { class: 'titles' },
      h('ol', { class: 'breadcrumb' }, h('li', {}, h('a', { href: '#/jobs' }, 'Jobs')), h('li', {}, 'New')),
      h('h1', { id: 'form-title' }, 'New job'),
      h('span', { class: 'subtitle' }, 'When it fires, what it runs and where. The preview asks the server, so it follows its rules exactly.')));

  const layout = h('div', { class: 'form-layout' }, form, h('aside', { class: 'aside', 'aria-label': 'Preview' }, previewCard, jsonCard));
  return { head, layout, form, formStatus, submitBtn };
}

// syncHint shows the description of the chosen option under a select.
function syncHint(form, id, options) {
  const chosen = options.find(([v]) => v === form.elements[id].value);
  const hint = document.getElementById(`${id}-hint`);
  if (chosen && hint) replace(hint, chosen[2]);
}

function triggerKind(form) {
  return form.elements.kind.value || 'cron';
}

function val(form, id) {
  return form.elements[id].value.trim();
}

// intOrText keeps what the user typed when it is not an integer, so that
// the server's error names the field instead of the form guessing.
function intOrText(s) {
  return /^-?\d+$/.test(s) ? Number(s) : s;
}

function timeOfDay(s) {
  if (!s) return '';
  return s.length === 5 ? `${s}:00` : s;
}

function localToISO(s) {
  if (!s) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

// triggerSpec reads the schedule section as the trigger JSON.
export function triggerSpec(form) {
  const kind = triggerKind(form);
  const t = { kind };
  switch (kind) {
    case 'cron':
      t.cron = val(form, 'f-cron');
      break;
    case 'simple': {
      t.interval = val(form, 'f-interval-simple');
      const rc = val(form, 'f-repeat-simple');
      if (rc !== '' && rc !== '-1') t.repeat_count = intOrText(rc);
      break;
    }
    case 'daily_time_interval': {
      const days = $$('input[name="dow"]:checked', form).map((c) => c.value);
      if (days.length !== 7) t.days_of_week = days;
      t.start_time_of_day = timeOfDay(val(form, 'f-start-tod')) || undefined;
      t.end_time_of_day = timeOfDay(val(form, 'f-end-tod')) || undefined;
      t.interval = intOrText(val(form, 'f-interval-daily'));
      t.unit = val(form, 'f-unit-daily');
      const rc = val(form, 'f-repeat-daily');
      if (rc !== '' && rc !== '-1') t.repeat_count = intOrText(rc);
      break;
    }
    case 'calendar_interval':
      t.interval = intOrText(val(form, 'f-interval-cal'));
      t.unit = val(form, 'f-unit-cal');
      if (form.elements['f-preserve'].checked) t.preserve_hour_of_day_across_dst = true;
      if (form.elements['f-skipday'].checked) t.skip_day_if_hour_does_not_exist = true;
      break;
    default:
  }
  if (t.interval === '') delete t.interval;
  const tz = val(form, 'f-tz');
  if (tz) t.time_zone = tz;
  const startAt = localToISO(val(form, 'f-start-at'));
  if (startAt) t.start_at = startAt;
  const endAt = localToISO(val(form, 'f-end-at'));
  if (endAt) t.end_at = endAt;
  const misfire = val(form, 'f-misfire');
  if (misfire) t.misfire = misfire;
  const prio = val(form, 'f-priority');
  if (prio) t.priority = intOrText(prio);
  const cal = val(form, 'f-calendar');
  if (cal) t.calendar = cal;
  for (const k of Object.keys(t)) if (t[k] === undefined) delete t[k];
  return t;
}

// pairs parses "key=value" lines; a bad line throws an error naming it.
function pairs(text, what) {
  const out = {};
  let n = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new FieldError(what, `line ${i + 1}: expected key=value, got "${line}"`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1);
    n += 1;
  });
  return n ? out : undefined;
}

class FieldError extends Error {
  constructor(fieldName, message) {
    super(`${fieldName}: ${message}`);
    this.field = fieldName;
    this.detail = message;
  }
}

function executorSpec(form) {
  if (form.elements.executor_kind.value === 'handler') {
    return { kind: 'handler', name: val(form, 'f-handler') };
  }
  const line = val(form, 'f-cmd');
  const e = { kind: 'process' };
  if (form.elements['f-shell'].checked) {
    e.command = line;
    e.shell = true;
  } else {
    const { words, error } = splitCommandLine(line);
    if (error) throw new FieldError('executor.command', error);
    e.command = words[0] || '';
    if (words.length > 1) e.args = words.slice(1);
  }
  const dir = val(form, 'f-dir');
  if (dir) e.dir = dir;
  const env = pairs(form.elements['f-env'].value, 'executor.env');
  if (env) e.env = env;
  return e;
}

// buildJob reads the whole form as the job JSON, leaving out what is empty
// so that the server fills in its defaults.
export function buildJob(form) {
  const job = { group: val(form, 'f-group'), name: val(form, 'f-name') };
  const desc = val(form, 'f-description');
  if (desc) job.description = desc;
  job.trigger = triggerSpec(form);
  job.executor = executorSpec(form);

  const cg = val(form, 'f-client-group');
  if (cg) job.client_group = cg;
  const routing = val(form, 'f-routing');
  if (routing) job.routing = routing;
  if (routing === 'client_labels') {
    const labels = pairs(form.elements['f-labels'].value, 'client_labels');
    if (labels) job.client_labels = labels;
  }
  const shards = val(form, 'f-shard-count');
  if (shards) job.sharding_count = intOrText(shards);
  const params = val(form, 'f-shard-params');
  if (params) job.sharding_parameters = params.split(',').map((s) => s.trim());

  const conc = val(form, 'f-concurrency');
  if (conc) job.concurrency = conc;
  const timeout = val(form, 'f-timeout');
  if (timeout) job.timeout = timeout;
  const retries = {};
  const max = val(form, 'f-retries');
  if (max) retries.max = intOrText(max);
  const backoff = val(form, 'f-backoff');
  if (backoff) retries.backoff = backoff;
  const maxBackoff = val(form, 'f-max-backoff');
  if (maxBackoff) retries.max_backoff = maxBackoff;
  if (Object.keys(retries).length) job.retries = retries;
  const data = pairs(form.elements['f-data'].value, 'data');
  if (data) job.data = data;
  return job;
}

// fill sets the form from an existing job (the "copy" flow).
function fill(form, job) {
  const set = (id, v) => {
    if (v !== undefined && v !== null) form.elements[id].value = v;
  };
  const t = job.trigger || {};
  set('f-group', job.group);
  set('f-name', `${job.name}-copy`);
  set('f-description', job.description);
  form.elements.kind.value = t.kind || 'cron';
  set('f-tz', t.time_zone);
  switch (t.kind) {
    case 'cron': set('f-cron', t.cron); break;
    case 'simple': set('f-interval-simple', t.interval); set('f-repeat-simple', t.repeat_count ?? -1); break;
    case 'daily_time_interval':
      for (const c of $$('input[name="dow"]', form)) c.checked = !t.days_of_week || t.days_of_week.includes(c.value);
      set('f-start-tod', t.start_time_of_day); set('f-end-tod', t.end_time_of_day);
      set('f-interval-daily', t.interval); set('f-unit-daily', t.unit); set('f-repeat-daily', t.repeat_count ?? -1);
      break;
    case 'calendar_interval':
      set('f-interval-cal', t.interval); set('f-unit-cal', t.unit);
      form.elements['f-preserve'].checked = !!t.preserve_hour_of_day_across_dst;
      form.elements['f-skipday'].checked = !!t.skip_day_if_hour_does_not_exist;
      break;
    default:
  }
  set('f-priority', t.priority && t.priority !== 5 ? t.priority : '');
  set('f-calendar', t.calendar);
  const e = job.executor || {};
  form.elements.executor_kind.value = e.kind === 'handler' ? 'handler' : 'process';
  if (e.kind === 'handler') set('f-handler', e.name);
  else {
    form.elements['f-shell'].checked = !!e.shell;
    set('f-cmd', e.shell ? e.command : joinCommandLine([e.command || '', ...(e.args || [])]));
    set('f-dir', e.dir);
    set('f-env', Object.entries(e.env || {}).map(([k, v]) => `${k}=${v}`).join('\n'));
  }
  set('f-client-group', job.client_group);
  set('f-routing', job.routing === 'any' ? '' : job.routing);
  set('f-labels', Object.entries(job.client_labels || {}).map(([k, v]) => `${k}=${v}`).join('\n'));
  set('f-shard-count', job.sharding_count || '');
  set('f-shard-params', (job.sharding_parameters || []).join(', '));
  set('f-concurrency', job.concurrency === 'allow' ? '' : job.concurrency);
  set('f-timeout', job.timeout);
  set('f-retries', job.retries && job.retries.max ? job.retries.max : '');
  set('f-backoff', job.retries && job.retries.backoff);
  set('f-max-backoff', job.retries && job.retries.max_backoff);
  set('f-data', Object.entries(job.data || {}).map(([k, v]) => `${k}=${v}`).join('\n'));
}

function updateCronHint(form) {
  const el = $('#cron-hint', form);
  const human = describeCron(val(form, 'f-cron'));
  replace(el, human ? h('strong', {}, `Fires ${human}. `) : null,
    'Quartz syntax with seconds: sec min hour day-of-month month day-of-week [year].');
}

// ---- field errors ----

// findField returns the visible control whose data-field best matches the
// server's field path ("executor.args[2]" lands on "executor.args").
export function findField(form, name) {
  let best = null;
  let bestLen = -1;
  for (const el of $$('[data-field]', form)) {
    if (el.closest('[hidden]')) continue;
    for (const f of el.dataset.field.split(' ')) {
      const hit = name === f || name.startsWith(`${f}.`) || name.startsWith(`${f}[`);
      if (hit && f.length > bestLen) {
        best = el;
        bestLen = f.length;
      }
    }
  }
  return best;
}

function errorSlot(el) {
  return document.getElementById(`${el.id}-error`);
}

function showFieldError(el, message) {
  el.setAttribute('aria-invalid', 'true');
  const slot = errorSlot(el);
  if (slot) replace(slot, message);
}

function clearFieldError(el) {
  const target = el && el.closest ? el.closest('[data-field]') || el : null;
  if (!target || !target.id) return;
  target.removeAttribute('aria-invalid');
  const slot = errorSlot(target);
  if (slot) slot.replaceChildren();
}

function clearAllErrors(form) {
  for (const el of $$('[aria-invalid]', form)) clearFieldError(el);
}

// ---- preview ----

async function runPreview(form, state, page) {
  const seq = ++state.previewSeq;
  if (state.previewAbort) state.previewAbort.abort();
  const ctrl = new AbortController();
  state.previewAbort = ctrl;
  page.signal.addEventListener('abort', () => ctrl.abort(), { once: true });

  const body = $('#preview-body');
  const spinner = $('#preview-spinner');
  const interval = form.elements['f-interval-simple'];
  if (triggerKind(form) === 'simple' && badDurations(form).includes(interval)) {
    ctrl.abort();
    replace(body, h('p', { class: 'preview-error', id: 'preview-error', role: 'alert' },
      h('span', { class: 'field-name' }, 'trigger.interval'), `: ${DURATION_HELP}`));
    showFieldError(interval, DURATION_HELP);
    state.previewMarked.add(interval);
    return;
  }
  spinner.hidden = false;
  let trigger;
  try {
    trigger = triggerSpec(form);
  } catch (err) {
    spinner.hidden = true;
    replace(body, h('p', { class: 'preview-error' }, err.message));
    return;
  }
  try {
    const out = await post('/v1/triggers:preview', { trigger, count: PREVIEW_COUNT }, { signal: ctrl.signal });
    if (seq !== state.previewSeq) return;
    for (const el of state.previewMarked) clearFieldError(el);
    state.previewMarked.clear();
    renderPreview(body, out);
  } catch (err) {
    if (err.name === 'AbortError' || seq !== state.previewSeq) return;
    renderPreviewError(form, state, body, err);
  } finally {
    if (seq === state.previewSeq) spinner.hidden = true;
  }
}

function renderPreview(body, out) {
  const zone = out.time_zone || 'UTC';
  replace($('#preview-zone'), zone === 'UTC' ? 'in UTC' : `in ${zone}, with UTC below`);
  const times = out.fire_times || [];
  if (times.length === 0) {
    replace(body, h('p', { class: 'preview-state' },
      'This trigger never fires: no time matches, or it ends before its first fire.'));
    return;
  }
  const now = Date.now();
  replace(body, h('ol', { class: 'preview-list', id: 'preview-list' }, times.map((iso, i) => {
    const d = parseTime(iso);
    const inZone = (out.local_times && out.local_times[i] ? out.local_times[i] : fmtUTC(d)).replace('.000 ', ' ');
    const second = [];
    if (zone !== 'UTC') second.push(fmtUTC(d));
    if (zone !== browserZone) second.push(`your time ${fmtLocal(d)}`);
    return h('li', { class: second.length ? '' : 'single' },
      h('time', { class: 'zone-time', datetime: iso, title: fmtUTC(d) }, inZone),
      h('span', { class: 'rel' }, fmtRelative(d, now)),
      second.length ? h('span', { class: 'utc' }, second.join(' · ')) : null);
  })));
}

function renderPreviewError(form, state, body, err) {
  replace($('#preview-zone'));
  if (err.status !== 400) {
    replace(body, h('div', { class: 'preview-state' }, errorBanner(err, 'The preview failed')));
    return;
  }
  const fieldName = err.field || 'trigger';
  replace(body, h('p', { class: 'preview-error', id: 'preview-error', role: 'alert' },
    h('span', { class: 'field-name' }, fieldName), ': ', err.message));
  const el = err.field ? findField(form, err.field) : null;
  if (el) {
    showFieldError(el, err.message);
    state.previewMarked.add(el);
  }
}

// ---- submit ----

async function submit(form, ui, page) {
  clearAllErrors(form);
  ui.formStatus.replaceChildren();
  const status = $('#submit-status');

  const invalid = $$('input, select, textarea', form).filter((el) => !el.closest('[hidden]') && !el.checkValidity());
  if (form.elements.executor_kind.value === 'process' && !val(form, 'f-cmd')) {
    showFieldError(form.elements['f-cmd'], 'Enter the command to run.');
    invalid.push(form.elements['f-cmd']);
  }
  for (const el of invalid) {
    if (el.id !== 'f-cmd') showFieldError(el, el.validationMessage);
  }
  for (const el of badDurations(form)) {
    showFieldError(el, DURATION_HELP);
    invalid.push(el);
  }
  if (invalid.length) {
    invalid[0].focus();
    replace(status, 'Fix the marked fields.');
    return;
  }

  let job;
  try {
    job = buildJob(form);
  } catch (err) {
    const el = err.field ? findField(form, err.field) : null;
    if (el) {
      showFieldError(el, err.detail);
      el.focus();
    }
    replace(status, err.message);
    return;
  }

  ui.submitBtn.disabled = true;
  replace(status, 'Creating…');
  try {
    const created = await post('/v1/jobs', job, { signal: page.signal });
    toast(`Created ${created.group}/${created.name}`);
    location.hash = `#/jobs/${encodeURIComponent(created.group)}/${encodeURIComponent(created.name)}`;
  } catch (err) {
    if (err.name === 'AbortError') return;
    replace(status, '');
    showSubmitError(form, ui, err, job);
  } finally {
    ui.submitBtn.disabled = false;
  }
}

function showSubmitError(form, ui, err, job) {
  if (err.code === 'already_exists') {
    const el = form.elements['f-name'];
    showFieldError(el, `A job ${job.group}/${job.name} exists already. Pick another name, or open it.`);
    replace(ui.formStatus, banner('err', 'The job exists already',
      h('a', { href: `#/jobs/${encodeURIComponent(job.group)}/${encodeURIComponent(job.name)}` }, `Open ${job.group}/${job.name}`),
      ' or choose another name.'));
    el.focus();
    return;
  }
  const el = err.field ? findField(form, err.field) : null;
  if (el) {
    showFieldError(el, err.message);
    const details = el.closest('details');
    if (details) details.open = true;
    el.focus();
    replace(ui.formStatus, banner('err', 'The server refused the job', h('code', {}, err.field), `: ${err.message}`));
    return;
  }
  replace(ui.formStatus, errorBanner(err, 'Could not create the job'));
  ui.formStatus.scrollIntoView({ block: 'nearest' });
}
