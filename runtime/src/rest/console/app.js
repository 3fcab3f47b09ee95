// The Sluice web console: a single page over this worker's REST API (the same calls any
// Connect client makes) and its /metrics. No framework, no build step, no other origin.
'use strict';

const POLL_MS = 2000;
const HISTORY_MS = 5 * 60 * 1000;

// Prometheus names of what the console shows per task (see docs/rest-api.md#metrics).
const M = {
  sourceIn: 'kafka_connect_source_task_source_record_poll_rate',
  sourceOut: 'kafka_connect_source_task_source_record_write_rate',
  sinkIn: 'kafka_connect_sink_task_sink_record_read_rate',
  sinkOut: 'kafka_connect_sink_task_sink_record_send_rate',
  lag: 'sluice_sink_task_records_lag',
  inFlight: 'kafka_connect_source_task_source_record_active_count',
  backlog: 'sluice_source_task_queue_backlog',
  errors: 'kafka_connect_task_error_total_record_errors',
  dlq: 'kafka_connect_task_error_deadletterqueue_produce_requests',
};

const S = {
  auth: sessionStorage.getItem('sluice.auth') || '',
  connectors: null, // GET /connectors?expand=status&expand=info
  metrics: new Map(), // "name|connector|task" -> value
  history: new Map(), // "connector" or "connector|task" -> [{t, in, out}]
  pollError: null,
  view: null, // {kind, name, update()}
  tap: null, // AbortController of the open tap
  timer: null,
};

// ---- DOM helpers (text is always set as text: nothing from the API becomes markup) ----

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'value') e.value = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    e.append(kid instanceof Node ? kid : String(kid));
  }
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const kid of kids) e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  return e;
}

function $(sel) { return document.querySelector(sel); }
function replace(el, ...kids) { if (el) el.replaceChildren(...kids.flat().filter((k) => k != null)); }
function enc(s) { return encodeURIComponent(s); }

function fmt(v) {
  if (v == null || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + 'M';
  if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function stateBadge(state, id) {
  return h('span', { class: 'state ' + (state || ''), 'data-testid': id }, state || '?');
}

// ---- REST API --------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function headers(extra) {
  const hd = Object.assign({ 'X-Sluice-Console': '1' }, extra || {});
  if (S.auth) hd.Authorization = S.auth;
  return hd;
}

async function api(method, path, body, opts) {
  const text = opts && opts.text;
  const hd = headers({ Accept: text ? 'text/plain' : 'application/json' });
  if (body !== undefined) hd['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers: hd, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) {
    showLogin();
    throw new ApiError(401, 'sign in to continue');
  }
  const t = await r.text();
  if (!r.ok) {
    let m = t;
    try { m = JSON.parse(t).message || t; } catch (_) { /* not JSON */ }
    throw new ApiError(r.status, m || r.status + ' ' + r.statusText);
  }
  if (text) return t;
  return t ? JSON.parse(t) : null;
}

// ---- sign in (the REST API's own auth: basic or bearer) --------------------------------

function b64(s) {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function showLogin(message) {
  if ($('#login')) return;
  const kind = h('select', { id: 'login-kind' },
    h('option', { value: 'basic' }, 'User and password'),
    h('option', { value: 'bearer' }, 'Bearer token'));
  const user = h('input', { id: 'login-user', placeholder: 'user', autocomplete: 'username' });
  const pass = h('input', { id: 'login-password', type: 'password', placeholder: 'password', autocomplete: 'current-password' });
  const token = h('input', { id: 'login-token', type: 'password', placeholder: 'token', hidden: true });
  kind.addEventListener('change', () => {
    const basic = kind.value === 'basic';
    user.hidden = !basic; pass.hidden = !basic; token.hidden = basic;
  });
  const form = h('form', { id: 'login' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'This worker\u2019s REST API asks for credentials.'),
    message ? h('p', { class: 'message error', id: 'login-error' }, message) : null,
    kind, user, pass, token,
    h('button', { class: 'primary', id: 'login-submit', type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    S.auth = kind.value === 'basic' ? 'Basic ' + b64(user.value + ':' + pass.value) : 'Bearer ' + token.value.trim();
    const r = await fetch('/connectors', { headers: headers({ Accept: 'application/json' }) });
    overlay.remove();
    if (r.status === 401) {
      showLogin('Those credentials were refused.');
      return;
    }
    sessionStorage.setItem('sluice.auth', S.auth);
    $('#sign-out').hidden = false;
    loadInfo();
    route();
    poll();
  });
  const overlay = h('div', { class: 'overlay' }, form);
  document.body.append(overlay);
  (kind.value === 'basic' ? user : token).focus();
}

// ---- metrics and history ---------------------------------------------------------------

function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('} ');
    if (open < 0 || close < 0) continue;
    const name = line.slice(0, open);
    const labels = {};
    for (const m of line.slice(open + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    if (labels.connector == null || labels.task == null) continue;
    out.set(name + '|' + labels.connector + '|' + labels.task, Number(line.slice(close + 2)));
  }
  return out;
}

function metric(name, connector, task) {
  const v = S.metrics.get(name + '|' + connector + '|' + task);
  return v === undefined ? null : v;
}

function kindOf(c) {
  return (c.info && c.info.type) || (c.status && c.status.type) || 'unknown';
}

function tasksOf(c) { return (c.status && c.status.tasks) || []; }

// Per task: what the console shows. Rates of tasks on other workers are not here (each
// worker serves the metrics of the tasks it runs).
function taskFigures(name, c, t) {
  const sink = kindOf(c) === 'sink';
  const id = String(t.id);
  return {
    in: metric(sink ? M.sinkIn : M.sourceIn, name, id),
    out: metric(sink ? M.sinkOut : M.sourceOut, name, id),
    lag: sink ? metric(M.lag, name, id) : null,
    inFlight: sink ? null : metric(M.inFlight, name, id),
    backlog: sink ? null : metric(M.backlog, name, id),
    errors: metric(M.errors, name, id),
    dlq: metric(M.dlq, name, id),
  };
}

function sum(values) {
  const known = values.filter((v) => v != null);
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

function connectorFigures(name, c) {
  const per = tasksOf(c).map((t) => taskFigures(name, c, t));
  const out = {};
  for (const k of ['in', 'out', 'lag', 'inFlight', 'backlog', 'errors', 'dlq']) out[k] = sum(per.map((f) => f[k]));
  return out;
}

function remember(key, fig, now) {
  let list = S.history.get(key);
  if (!list) { list = []; S.history.set(key, list); }
  list.push({ t: now, in: fig.in || 0, out: fig.out || 0 });
  while (list.length && list[0].t < now - HISTORY_MS) list.shift();
}

async function poll() {
  try {
    const [cs, text] = await Promise.all([
      api('GET', '/connectors?expand=status&expand=info'),
      api('GET', '/metrics', undefined, { text: true }).catch(() => ''),
    ]);
    S.connectors = cs || {};
    S.metrics = parseMetrics(text);
    const now = Date.now();
    for (const [name, c] of Object.entries(S.connectors)) {
      remember(name, connectorFigures(name, c), now);
      for (const t of tasksOf(c)) remember(name + '|' + t.id, taskFigures(name, c, t), now);
    }
    S.pollError = null;
  } catch (e) {
    if (e.status !== 401) S.pollError = e.message;
  }
  const banner = $('#banner');
  banner.hidden = !S.pollError;
  banner.className = 'banner error';
  banner.textContent = S.pollError ? 'Cannot reach the worker: ' + S.pollError : '';
  if (S.view && S.view.update) S.view.update();
}

// ---- charts ------------------------------------------------------------------------------

function chart(list, cls, w, hgt, axis) {
  const el = svg('svg', { class: cls, viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: 'none' });
  const pts = list || [];
  const now = Date.now();
  const max = Math.max(1, ...pts.map((p) => Math.max(p.in, p.out)));
  const x = (t) => w - ((now - t) / HISTORY_MS) * w;
  const y = (v) => hgt - 3 - (v / max) * (hgt - 6);
  for (const [key, color] of [['in', '#1f6feb'], ['out', '#1a7f37']]) {
    if (pts.length < 2) break;
    const d = pts.map((p) => `${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
    el.append(svg('polyline', { points: d, fill: 'none', stroke: color, 'stroke-width': axis ? 2 : 1.5, 'vector-effect': 'non-scaling-stroke' }));
  }
  if (!axis) return el;
  // labels as text beside the drawing, which is stretched to the page's width
  return h('div', { class: 'chart-box' },
    h('div', { class: 'chart-scale' }, h('span', {}, `${fmt(max)} records/s`), h('span', {}, '0')),
    h('div', { class: 'chart-plot' }, el,
      h('div', { class: 'chart-time' }, h('span', {}, '5 min ago'), h('span', {}, 'now'))));
}

// ---- router --------------------------------------------------------------------------

function route() {
  stopTap();
  const hash = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const main = $('#main');
  let m;
  if (hash === '/new') S.view = formView(main, null);
  else if ((m = hash.match(/^\/connectors\/(.+)\/edit$/))) S.view = formView(main, m[1]);
  else if ((m = hash.match(/^\/connectors\/(.+)$/))) S.view = detailView(main, m[1]);
  else S.view = listView(main);
  if (S.view.update) S.view.update();
}

function go(hash) { location.hash = hash; }

// ---- actions -----------------------------------------------------------------------------

async function act(name, what, say) {
  const p = '/connectors/' + enc(name);
  const calls = {
    pause: ['PUT', p + '/pause'],
    resume: ['PUT', p + '/resume'],
    stop: ['PUT', p + '/stop'],
    restart: ['POST', p + '/restart'],
    restartTasks: ['POST', p + '/restart?includeTasks=true&onlyFailed=false'],
    restartFailed: ['POST', p + '/restart?includeTasks=true&onlyFailed=true'],
    delete: ['DELETE', p],
  };
  if (what === 'delete' && !confirm(`Delete connector ${name}? Its offsets stay in the offsets store.`)) return;
  try {
    const [method, path] = calls[what];
    await api(method, path);
    say && say(`${what} requested`, 'ok');
    if (what === 'delete') go('#/');
    setTimeout(poll, 300);
  } catch (e) {
    say && say(`${what} failed: ${e.message}`, 'error');
  }
}

function sayInto(el) {
  return (text, kind) => { el.className = 'message ' + (kind || ''); el.textContent = text; };
}

// ---- connectors list ---------------------------------------------------------------------

function listView(main) {
  const body = h('div', { id: 'list' });
  const msg = h('p', { class: 'message' });
  replace(main,
    h('div', { class: 'actions' },
      h('h1', {}, 'Connectors'),
      h('span', { class: 'muted', id: 'list-count' }),
      h('button', { class: 'primary', id: 'new-connector', onclick: () => go('#/new') }, 'New connector')),
    msg, body);
  const say = sayInto(msg);
  return {
    kind: 'list',
    update() {
      if (!S.connectors) return;
      const names = Object.keys(S.connectors).sort();
      $('#list-count').textContent = `${names.length} on this cluster`;
      if (!names.length) {
        replace(body, h('div', { class: 'panel', id: 'connectors-table' }, 'No connectors yet. ',
          h('a', { href: '#/new' }, 'Create one'), ', POST one to /connectors, or drop a config into the connectors folder.'));
        return;
      }
      const rows = names.map((name) => {
        const c = S.connectors[name];
        const state = c.status && c.status.connector ? c.status.connector.state : '?';
        const tasks = tasksOf(c);
        const f = connectorFigures(name, c);
        const sink = kindOf(c) === 'sink';
        const workers = [...new Set(tasks.map((t) => t.worker_id).filter(Boolean))];
        return h('tr', { 'data-connector': name },
          h('td', {}, h('a', { href: '#/connectors/' + enc(name), class: 'mono' }, name)),
          h('td', {}, kindOf(c)),
          h('td', { class: 'mono muted' }, (c.info && c.info.config && c.info.config['connector.class'] || '').split('.').pop()),
          h('td', {}, stateBadge(state, 'state-' + name),
            h('span', { class: 'dots', title: tasks.map((t) => `task ${t.id}: ${t.state}`).join(', ') },
              tasks.map((t) => h('span', { class: 'dot ' + t.state })))),
          h('td', { class: 'muted' }, workers.join(', ')),
          h('td', { class: 'num' }, fmt(f.in)),
          h('td', { class: 'num' }, fmt(f.out)),
          h('td', { class: 'num' }, fmt(sink ? f.lag : (f.backlog != null ? f.backlog : f.inFlight))),
          h('td', { class: 'num' }, fmt(f.dlq)),
          h('td', {}, chart(S.history.get(name), 'spark', 120, 24, false)),
          h('td', {}, h('div', { class: 'row-actions' },
            state === 'PAUSED' || state === 'STOPPED'
              ? h('button', { onclick: () => act(name, 'resume', say) }, 'Resume')
              : h('button', { onclick: () => act(name, 'pause', say) }, 'Pause'),
            h('button', { onclick: () => act(name, 'restartTasks', say) }, 'Restart'))));
      });
      replace(body, h('table', { id: 'connectors-table' },
        h('thead', {}, h('tr', {},
          ['Connector', 'Type', 'Class', 'State', 'Worker', 'In/s', 'Out/s', 'Lag / backlog', 'DLQ', 'Last 5 min', '']
            .map((t, i) => h('th', { class: i >= 5 && i <= 8 ? 'num' : null }, t)))),
        h('tbody', {}, rows)));
    },
  };
}

// ---- one connector -----------------------------------------------------------------------

function detailView(main, name) {
  const msg = h('p', { class: 'message', id: 'action-message' });
  const say = sayInto(msg);
  const button = (what, label, cls) => h('button', { id: 'action-' + what, class: cls, onclick: () => act(name, what, say) }, label);
  const head = h('div', { id: 'detail-head' });
  const cards = h('div', { class: 'cards', id: 'cards' });
  const chartBox = h('div', { id: 'chart' });
  const tasksBox = h('div', { id: 'tasks' });
  const traceBox = h('div', { id: 'connector-trace' });
  const offsetsBox = h('div', { id: 'offsets' }, h('p', { class: 'muted' }, 'Not loaded.'));
  const offsetsMsg = h('p', { class: 'message', id: 'offsets-message' });
  replace(main,
    h('p', {}, h('a', { href: '#/' }, '\u2190 Connectors')),
    head,
    h('div', { class: 'actions' },
      button('pause', 'Pause'), button('resume', 'Resume'), button('stop', 'Stop'),
      button('restart', 'Restart connector'), button('restartTasks', 'Restart with tasks'),
      button('restartFailed', 'Restart failed tasks'),
      h('button', { id: 'action-edit', onclick: () => go('#/connectors/' + enc(name) + '/edit') }, 'Edit config'),
      button('delete', 'Delete', 'danger')),
    msg, cards,
    h('h2', {}, 'Throughput'), chartBox,
    h('div', { class: 'legend' }, h('span', { class: 'in' }, 'records in/s'), h('span', { class: 'out' }, 'records out/s')),
    traceBox,
    h('h2', {}, 'Tasks'), tasksBox,
    h('h2', {}, 'Offsets'),
    h('div', { class: 'actions' },
      h('button', { id: 'offsets-load', onclick: () => loadOffsets(name, offsetsBox, offsetsMsg) }, 'Show offsets'),
      h('button', { id: 'offsets-reset', class: 'danger', onclick: () => resetOffsets(name, offsetsBox, offsetsMsg) }, 'Reset offsets')),
    offsetsMsg, offsetsBox,
    h('h2', {}, 'Live tap'), tapPanel(name));
  return {
    kind: 'detail',
    update() {
      if (!S.connectors) return;
      const c = S.connectors[name];
      if (!c) {
        replace(head, h('h1', {}, name), h('p', { class: 'message error' }, 'No such connector (deleted?).'));
        return;
      }
      const st = c.status && c.status.connector ? c.status.connector : {};
      const sink = kindOf(c) === 'sink';
      replace(head,
        h('h1', {}, h('span', { class: 'mono' }, name), ' ', stateBadge(st.state, 'connector-state')),
        h('p', { class: 'muted' }, `${kindOf(c)} connector \u00b7 `,
          h('span', { class: 'mono' }, (c.info && c.info.config && c.info.config['connector.class']) || ''),
          st.worker_id ? ` \u00b7 connector on ${st.worker_id}` : ''));
      const f = connectorFigures(name, c);
      const card = (label, v, id) => h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value', 'data-testid': id }, fmt(v)));
      replace(cards,
        card('In / s', f.in, 'rate-in'), card('Out / s', f.out, 'rate-out'),
        sink ? card('Lag', f.lag, 'lag') : card('In flight', f.inFlight, 'in-flight'),
        sink || f.backlog == null ? null : card('Queue backlog', f.backlog, 'backlog'),
        card('Record errors', f.errors, 'errors'), card('Dead-lettered', f.dlq, 'dlq'));
      replace(chartBox, chart(S.history.get(name), 'chart', 800, 140, true));
      replace(traceBox, st.trace ? [h('h2', {}, 'Connector failure'), h('pre', { class: 'trace' }, st.trace)] : []);
      const tasks = tasksOf(c);
      replace(tasksBox, h('table', { id: 'tasks-table' },
        h('thead', {}, h('tr', {}, ['Task', 'State', 'Worker', 'In/s', 'Out/s', sink ? 'Lag' : 'In flight', 'Backlog', 'Errors', 'DLQ', 'Last 5 min', 'Detail']
          .map((t, i) => h('th', { class: i >= 3 && i <= 8 ? 'num' : null }, t)))),
        h('tbody', {}, tasks.flatMap((t) => {
          const tf = taskFigures(name, c, t);
          const row = h('tr', {},
            h('td', {}, String(t.id)), h('td', {}, stateBadge(t.state, 'task-state-' + t.id)),
            h('td', { class: 'muted' }, t.worker_id || ''),
            h('td', { class: 'num' }, fmt(tf.in)), h('td', { class: 'num' }, fmt(tf.out)),
            h('td', { class: 'num' }, fmt(sink ? tf.lag : tf.inFlight)), h('td', { class: 'num' }, fmt(tf.backlog)),
            h('td', { class: 'num' }, fmt(tf.errors)), h('td', { class: 'num' }, fmt(tf.dlq)),
            h('td', {}, chart(S.history.get(name + '|' + t.id), 'spark', 120, 24, false)),
            h('td', { class: 'muted' }, t.detail || ''));
          return t.trace
            ? [row, h('tr', {}, h('td', { colspan: 11 }, h('pre', { class: 'trace', 'data-testid': 'task-trace-' + t.id }, t.trace)))]
            : [row];
        }))));
      if (!tasks.length) replace(tasksBox, h('p', { class: 'muted' }, 'No tasks.'));
    },
  };
}

async function loadOffsets(name, box, msgEl) {
  const say = sayInto(msgEl);
  try {
    const r = await api('GET', '/connectors/' + enc(name) + '/offsets');
    const list = (r && r.offsets) || [];
    say(`${list.length} partition${list.length === 1 ? '' : 's'}`, '');
    replace(box, list.length
      ? h('table', { id: 'offsets-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Partition'), h('th', {}, 'Offset'))),
        h('tbody', {}, list.map((o) => h('tr', {},
          h('td', { class: 'mono' }, JSON.stringify(o.partition)), h('td', { class: 'mono' }, JSON.stringify(o.offset))))))
      : h('p', { class: 'muted' }, 'No offsets committed yet.'));
  } catch (e) {
    say('Cannot read offsets: ' + e.message, 'error');
  }
}

async function resetOffsets(name, box, msgEl) {
  const say = sayInto(msgEl);
  if (!confirm(`Reset every offset of ${name}? It must be STOPPED; when resumed it starts over.`)) return;
  try {
    const r = await api('DELETE', '/connectors/' + enc(name) + '/offsets');
    say((r && r.message) || 'Offsets reset.', 'ok');
    loadOffsets(name, box, h('p'));
  } catch (e) {
    say('Reset refused: ' + e.message, 'error');
  }
}

// ---- live tap (Server-Sent Events read with fetch, so the Authorization header goes too)

function stopTap() {
  if (S.tap) { S.tap.abort(); S.tap = null; }
}

function tapPanel(name) {
  const stage = h('select', { id: 'tap-stage' },
    h('option', { value: '' }, 'all stages'), h('option', { value: 'source' }, 'source'),
    h('option', { value: 'transform' }, 'transform'), h('option', { value: 'output' }, 'output'));
  const rate = h('input', { id: 'tap-rate', type: 'number', min: 1, max: 1000, value: 5, size: 4 });
  const task = h('input', { id: 'tap-task', placeholder: 'all tasks', size: 6 });
  const events = h('div', { class: 'tap-events', id: 'tap-events' });
  const status = h('span', { class: 'muted', id: 'tap-status' }, 'closed');
  const toggle = h('button', { id: 'tap-toggle' }, 'Open tap');
  let count = 0;
  toggle.addEventListener('click', async () => {
    if (S.tap) { stopTap(); toggle.textContent = 'Open tap'; status.textContent = 'closed'; return; }
    const q = new URLSearchParams({ rate: rate.value || '5' });
    if (stage.value) q.set('stage', stage.value);
    if (task.value.trim()) q.set('task', task.value.trim());
    const ctrl = new AbortController();
    S.tap = ctrl;
    toggle.textContent = 'Close tap';
    status.textContent = 'connecting…';
    try {
      const r = await fetch(`/connectors/${enc(name)}/tap?${q}`, { headers: headers({ Accept: 'text/event-stream' }), signal: ctrl.signal });
      if (r.status === 401) { showLogin(); throw new ApiError(401, 'sign in to continue'); }
      if (!r.ok) {
        const t = await r.text();
        let m = t; try { m = JSON.parse(t).message; } catch (_) { /* text */ }
        throw new ApiError(r.status, m);
      }
      await readEvents(r.body, (event, data) => {
        if (event === 'tap') {
          const hello = JSON.parse(data);
          status.textContent = `open on ${hello.worker_id}, up to ${hello.rate} records/s per task`;
        } else if (event === 'lagged') {
          events.prepend(h('div', { class: 'tap-event muted' }, `missed ${JSON.parse(data).missed} events (too fast to show)`));
        } else if (event === 'record') {
          count += 1;
          events.prepend(tapEvent(JSON.parse(data)));
          while (events.childElementCount > 200) events.lastChild.remove();
          status.textContent = status.textContent.replace(/ \u00b7 \d+ seen$/, '') + ` \u00b7 ${count} seen`;
        }
      });
      status.textContent = 'closed by the worker';
    } catch (e) {
      if (e.name !== 'AbortError') status.textContent = 'tap failed: ' + e.message;
    } finally {
      if (S.tap === ctrl) S.tap = null;
      toggle.textContent = 'Open tap';
    }
  });
  return h('div', { class: 'panel' },
    h('div', { class: 'tap-controls' }, toggle, h('label', {}, 'Stage ', stage), h('label', {}, 'Task ', task),
      h('label', {}, 'Records/s per task ', rate), status),
    h('p', { class: 'muted' }, 'A sample of records as they pass: as built from the source message, after each transform, and as written. Values of PASSWORD keys are never shown.'),
    events);
}

async function readEvents(stream, on) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let event = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      if (line === '') {
        if (data.length) on(event || 'message', data.join('\n'));
        event = '';
        data = [];
      } else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
  }
}

function tapEvent(e) {
  const where = [e.topic, e.partition != null ? 'partition ' + e.partition : null, e.offset != null ? 'offset ' + e.offset : null]
    .filter((x) => x != null).join(' \u00b7 ');
  const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v, null, 1));
  return h('div', { class: 'tap-event', 'data-stage': e.stage },
    h('div', { class: 'meta' },
      h('span', { class: 'stage' }, e.stage + (e.step ? ' \u203a ' + e.step : '')),
      ` \u00b7 task ${e.task} \u00b7 #${e.sample} \u00b7 ${new Date(e.time).toLocaleTimeString()}`,
      where ? ' \u00b7 ' + where : '', e.dropped ? ' \u00b7 dropped by the transform' : ''),
    e.dropped ? null : h('pre', { class: 'tap-value' },
      (e.key != null ? 'key: ' + show(e.key) + '\n' : '') + 'value: ' + show(e.value) +
      (e.headers && e.headers.length ? '\nheaders: ' + e.headers.map((x) => x.key + '=' + show(x.value)).join(', ') : '')));
}

// ---- create and edit ---------------------------------------------------------------------

function formView(main, editing) {
  const msg = h('p', { class: 'message', id: 'form-message' });
  const plugin = h('select', { id: 'form-plugin', disabled: !!editing }, h('option', { value: '' }, 'choose a connector plugin…'));
  const nameInput = h('input', { id: 'form-name', placeholder: 'my-connector', value: editing || '', disabled: !!editing });
  const fieldsBox = h('div', { id: 'form-fields' });
  const extra = h('textarea', { id: 'form-extra', placeholder: 'transforms=mask\ntransforms.mask.type=org.apache.kafka.connect.transforms.MaskField$Value\ntransforms.mask.fields=card' });
  const otherProblems = h('ul', { class: 'problems', id: 'form-other-problems' });
  const summary = h('p', { class: 'validation', id: 'validation-summary' });
  const submit = h('button', { class: 'primary', id: 'form-submit', type: 'submit' }, editing ? 'Save config' : 'Create connector');
  const form = h('form', { class: 'config', id: 'connector-form' },
    h('div', { class: 'top-fields' }, h('label', { for: 'form-name' }, 'Name'), nameInput, h('label', { for: 'form-plugin' }, 'Plugin'), plugin),
    fieldsBox,
    h('details', { class: 'group', open: true }, h('summary', {}, 'Other keys (transforms, predicates, …: one key=value per line)'), extra, otherProblems),
    summary, h('div', { class: 'actions' }, submit, h('a', { class: 'button', href: editing ? '#/connectors/' + enc(editing) : '#/' }, 'Cancel')));
  replace(main, h('h1', {}, editing ? `Edit ${editing}` : 'New connector'), msg, form);
  const say = sayInto(msg);
  let defs = [];
  const inputs = new Map(); // key -> {input, field, errors}
  let timer = null;
  let seq = 0;

  function collect() {
    const config = { 'connector.class': plugin.value, name: nameInput.value.trim() };
    for (const [k, f] of inputs) if (f.input.value !== '') config[k] = f.input.value;
    for (const line of extra.value.split('\n')) {
      const i = line.indexOf('=');
      if (line.trim() && i > 0) config[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return config;
  }

  async function validate() {
    if (!plugin.value) return;
    const mine = ++seq;
    try {
      const r = await api('PUT', '/connector-plugins/' + enc(plugin.value) + '/config/validate', collect());
      if (mine !== seq) return; // a newer check is on its way
      const other = [];
      for (const f of inputs.values()) { f.field.classList.remove('invalid'); replace(f.errors); }
      for (const c of r.configs || []) {
        const v = c.value || {};
        if (!v.errors || !v.errors.length) continue;
        const f = inputs.get(v.name);
        if (f) {
          f.field.classList.add('invalid');
          replace(f.errors, v.errors.map((e) => h('div', {}, e)));
          const group = f.field.closest('details');
          if (group) group.open = true;
        } else {
          for (const e of v.errors) other.push(h('li', {}, h('span', { class: 'mono' }, v.name), ': ' + e));
        }
      }
      replace(otherProblems, other);
      summary.className = 'validation ' + (r.error_count ? 'bad' : 'ok');
      summary.textContent = r.error_count ? `${r.error_count} problem${r.error_count === 1 ? '' : 's'} to fix` : 'No problems found';
    } catch (e) {
      if (mine === seq) { summary.className = 'validation bad'; summary.textContent = 'Cannot validate: ' + e.message; }
    }
  }

  function later() { clearTimeout(timer); timer = setTimeout(validate, 300); }

  function field(d, value) {
    let input;
    if (d.type === 'BOOLEAN') {
      input = h('select', {}, h('option', { value: '' }, `(default${d.default_value != null ? ': ' + d.default_value : ''})`),
        h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false'));
    } else {
      input = h('input', {
        type: d.type === 'PASSWORD' ? 'password' : 'text',
        autocomplete: d.type === 'PASSWORD' ? 'new-password' : 'off',
        placeholder: d.default_value != null && d.default_value !== '' ? String(d.default_value) : (d.required ? 'required' : ''),
      });
    }
    input.name = d.name;
    input.id = 'key-' + d.name;
    if (value != null) input.value = value;
    input.addEventListener('input', later);
    input.addEventListener('change', later);
    const errors = h('div', { class: 'errors', 'data-key': d.name });
    const el = h('div', { class: 'field', 'data-key': d.name },
      h('label', { for: input.id }, d.name, d.required ? h('span', { class: 'req', title: 'required' }, '*') : null),
      input,
      d.documentation ? h('div', { class: 'doc' }, d.documentation) : null,
      errors);
    inputs.set(d.name, { input, field: el, errors });
    return el;
  }

  async function loadPlugin(current) {
    inputs.clear();
    replace(fieldsBox, h('p', { class: 'muted' }, 'Loading keys…'));
    defs = await api('GET', '/connector-plugins/' + enc(plugin.value) + '/config');
    const groups = new Map();
    for (const d of defs) {
      if (d.name === 'connector.class' || d.name === 'name') continue;
      const g = d.group || 'Connector';
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(d);
    }
    const shown = new Set();
    const sections = [...groups.entries()].map(([g, list], i) => {
      const open = i === 0 || list.some((d) => d.name === 'tasks.max' || (d.required && d.default_value == null) || (current && current[d.name] != null));
      return h('details', { class: 'group', open }, h('summary', {}, `${g} (${list.length})`),
        list.map((d) => { shown.add(d.name); return field(d, current ? current[d.name] : null); }));
    });
    replace(fieldsBox, sections);
    if (current) {
      extra.value = Object.entries(current)
        .filter(([k]) => !shown.has(k) && k !== 'connector.class' && k !== 'name')
        .map(([k, v]) => `${k}=${v}`).join('\n');
    }
    validate();
  }

  plugin.addEventListener('change', () => plugin.value && loadPlugin(null).catch((e) => say(e.message, 'error')));
  nameInput.addEventListener('input', later);
  extra.addEventListener('input', later);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const config = collect();
    if (!config.name) { say('Give the connector a name.', 'error'); return; }
    if (!plugin.value) { say('Choose a plugin.', 'error'); return; }
    submit.disabled = true;
    try {
      if (editing) await api('PUT', '/connectors/' + enc(editing) + '/config', config);
      else await api('POST', '/connectors', { name: config.name, config });
      go('#/connectors/' + enc(config.name));
      setTimeout(poll, 200);
    } catch (e) {
      say((editing ? 'Not saved: ' : 'Not created: ') + e.message, 'error');
      validate();
    } finally {
      submit.disabled = false;
    }
  });

  (async () => {
    try {
      const plugins = await api('GET', '/connector-plugins');
      for (const p of plugins) plugin.append(h('option', { value: p.class }, `${p.class} (${p.type})`));
      if (editing) {
        const current = await api('GET', '/connectors/' + enc(editing) + '/config');
        const cls = current['connector.class'];
        if (![...plugin.options].some((o) => o.value === cls)) plugin.append(h('option', { value: cls }, cls));
        plugin.value = cls;
        await loadPlugin(current);
      }
    } catch (e) {
      say(e.message, 'error');
    }
  })();
  return { kind: 'form' };
}

// ---- start -------------------------------------------------------------------------------

async function loadInfo() {
  try {
    const root = await api('GET', '/');
    $('#worker-info').textContent = `Sluice ${root.sluice_version} \u00b7 Connect API ${root.version.split('-')[0]}` +
      (root.kafka_cluster_id ? ` \u00b7 Kafka cluster ${root.kafka_cluster_id}` : '');
  } catch (_) { /* the sign-in form is up */ }
}

async function start() {
  $('#sign-out').hidden = !S.auth;
  $('#sign-out').addEventListener('click', () => {
    sessionStorage.removeItem('sluice.auth');
    S.auth = '';
    location.reload();
  });
  window.addEventListener('hashchange', route);
  await loadInfo();
  route();
  await poll();
  S.timer = setInterval(poll, POLL_MS);
}

start();
