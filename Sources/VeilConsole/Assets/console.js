// The Veilgate console's pages. Plain browser JavaScript, no framework, no inline script (the CSP forbids it), text
// put into the page with textContent only. Every page is drawn from the operator API (/api/v1, docs/console.md).
'use strict';

let session = null;

/** Makes an element: h('li', {class: 'x', 'data-id': 1}, child, 'text', ...). Text is never parsed as HTML. */
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const svgNS = 'http://www.w3.org/2000/svg';
function s(tag, attributes) {
  const element = document.createElementNS(svgNS, tag);
  for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, String(value));
  return element;
}

class Refused extends Error {}

/** The operator API: JSON in and out; state changes carry the CSRF token; 403 becomes Refused with the reason. */
async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (options.method && options.method !== 'GET') headers['X-Veilgate-CSRF'] = session ? session.csrf : '';
  const response = await fetch(path, Object.assign({}, options, { headers, credentials: 'same-origin' }));
  if (response.status === 403) {
    let message = 'Not for your role.';
    try { message = (await response.json()).message || message; } catch (_) { /* a refusal page, not JSON */ }
    throw new Refused(message);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).message || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  const type = response.headers.get('content-type') || '';
  return type.includes('json') ? response.json() : response.text();
}

function main() { return document.getElementById('main'); }

function show(...children) {
  main().replaceChildren(...children);
}

function showError(error) {
  if (error instanceof Refused) show(h('h1', {}, '403 Forbidden'), h('p', { class: 'error', id: 'refusal' }, error.message));
  else show(h('p', { class: 'error', role: 'alert' }, `Something went wrong: ${error.message}`));
}

function time(iso) {
  const date = new Date(iso);
  return isNaN(date) ? '' : date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

// MARK: Cameras

/** The codec string MSE needs, read from the avcC box of an initialisation segment. */
function avcCodec(bytes) {
  for (let i = 0; i + 8 < bytes.length; i++) {
    if (bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43) {
      const hex = (n) => n.toString(16).padStart(2, '0');
      return `avc1.${hex(bytes[i + 5])}${hex(bytes[i + 6])}${hex(bytes[i + 7])}`;
    }
  }
  return 'avc1.42e01e';
}

/** Plays a camera's live redacted video: the fMP4 segments the gateway makes, appended to a MediaSource. */
class LivePlayer {
  constructor(camera, video, badge, placeholder) {
    Object.assign(this, { camera, video, badge, placeholder });
    this.last = -1;
    this.buffer = null;
    this.queue = [];
    this.stopped = false;
  }

  base() { return `/api/v1/cameras/${encodeURIComponent(this.camera)}/live`; }

  setState(text, kind) {
    this.badge.textContent = text;
    this.badge.className = `badge ${kind || ''}`;
  }

  async start() {
    while (!this.stopped) {
      try { await this.poll(); } catch (error) { this.setState('error', 'bad'); }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  async poll() {
    const live = await api(this.base());
    if (live.state === 'no-pipeline') { this.setState('not ingested', 'warn'); return; }
    if (live.state === 'warming-up' || live.segments.length === 0) {
      this.setState('starting…', 'warn');
      return;
    }
    if (!this.buffer) await this.open();
    // Joining: start from the newest two segments, close to live.
    const fresh = live.segments.filter((segment) => segment.sequence > this.last);
    for (const segment of this.last < 0 ? fresh.slice(-2) : fresh) {
      const response = await fetch(`${this.base()}/${segment.sequence}.m4s`, { credentials: 'same-origin' });
      if (!response.ok) continue;
      await this.append(new Uint8Array(await response.arrayBuffer()));
      this.last = segment.sequence;
    }
    this.followLiveEdge();
    this.setState('live', 'live');
  }

  async open() {
    const response = await fetch(`${this.base()}/init.mp4`, { credentials: 'same-origin' });
    if (!response.ok) throw new Error('no initialisation segment');
    const init = new Uint8Array(await response.arrayBuffer());
    const source = new MediaSource();
    this.video.src = URL.createObjectURL(source);
    await new Promise((resolve) => source.addEventListener('sourceopen', resolve, { once: true }));
    this.buffer = source.addSourceBuffer(`video/mp4; codecs="${avcCodec(init)}"`);
    // Segments play one after the other whatever their timestamps: a reconnect or a gap does not stall the player.
    this.buffer.mode = 'sequence';
    await this.append(init);
    this.placeholder.hidden = true;
  }

  append(bytes) {
    return new Promise((resolve, reject) => {
      const done = () => { this.buffer.removeEventListener('error', fail); resolve(); };
      const fail = () => { this.buffer.removeEventListener('updateend', done); reject(new Error('append failed')); };
      this.buffer.addEventListener('updateend', done, { once: true });
      this.buffer.addEventListener('error', fail, { once: true });
      this.buffer.appendBuffer(bytes);
    });
  }

  followLiveEdge() {
    const ranges = this.video.buffered;
    if (ranges.length === 0) return;
    const end = ranges.end(ranges.length - 1);
    if (this.video.currentTime < ranges.start(0) || end - this.video.currentTime > 8) this.video.currentTime = Math.max(ranges.start(0), end - 2);
    if (this.video.paused) this.video.play().catch(() => {});
    // Keep about half a minute in memory.
    if (!this.buffer.updating && this.video.currentTime - ranges.start(0) > 40) this.buffer.remove(0, this.video.currentTime - 20);
  }
}

function overlay(camera) {
  const svg = s('svg', { viewBox: '0 0 1 1', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
  for (const zone of camera.zones) {
    svg.append(s('polygon', { points: zone.polygon.map((p) => p.join(',')).join(' ') }));
    const [x, y] = zone.polygon[0];
    const label = s('text', { x: x + 0.01, y: y + 0.04 });
    label.textContent = zone.id;
    svg.append(label);
  }
  for (const line of camera.lines) {
    svg.append(s('line', { x1: line.from[0], y1: line.from[1], x2: line.to[0], y2: line.to[1] }));
    const label = s('text', { x: line.from[0] + 0.01, y: line.from[1] - 0.01 });
    label.textContent = line.id;
    svg.append(label);
  }
  return svg;
}

async function camerasPage() {
  const cameras = await api('/api/v1/cameras');
  if (cameras.length === 0) {
    show(h('h1', {}, 'Cameras'), h('p', { class: 'empty' }, 'The policy in force names no cameras.'));
    return;
  }
  const grid = h('div', { class: 'cameras' });
  for (const camera of cameras) {
    const badge = h('span', { class: 'badge', 'data-state': camera.id }, camera.hasPipeline ? 'connecting…' : 'not ingested');
    const video = h('video', { muted: true, autoplay: true, playsinline: true, 'data-camera': camera.id, 'aria-label': `Live video of ${camera.id}, redacted` });
    video.muted = true;
    // The screen takes the video's own shape once it is known, so zones and lines sit where the policy drew them.
    video.addEventListener('loadedmetadata', () => {
      if (video.videoWidth && video.videoHeight) video.parentElement.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
    });
    const placeholder = h('div', { class: 'placeholder' }, camera.hasPipeline ? 'Waiting for video…' : 'No pipeline runs for this camera (no source, or not ingested here).');
    grid.append(h('article', { class: 'camera', 'aria-labelledby': `camera-${camera.id}` },
      h('header', {}, h('h2', { id: `camera-${camera.id}` }, camera.id), badge),
      h('div', { class: 'screen' }, video, overlay(camera), placeholder),
      h('div', { class: 'facts' },
        h('span', {}, camera.description || ''),
        h('span', {}, h('b', {}, 'Hidden: '), camera.redaction),
        h('span', {}, h('b', {}, 'Analytics: '), camera.analytics.length ? camera.analytics.join(', ') : 'none'),
        h('span', {}, h('b', {}, 'Zones and lines: '), [...camera.zones, ...camera.lines].map((x) => x.id).join(', ') || 'none'))));
    if (camera.hasPipeline && window.MediaSource) new LivePlayer(camera.id, video, badge, placeholder).start();
  }
  show(h('h1', {}, 'Cameras'), grid);
}

// MARK: Alerts

function alertItem(entry, fresh) {
  const alert = entry.alert;
  const picture = entry.snapshot
    ? h('img', { src: `/api/v1/alerts/${entry.sequence}/snapshot`, alt: `Redacted snapshot of alert ${entry.sequence}`, loading: 'lazy' })
    : h('div', { class: 'nosnap' }, 'no snapshot');
  const details = [alert.camera, alert.zone ? `zone ${alert.zone}` : null, alert.count !== undefined && alert.count !== null ? `count ${alert.count}` : null]
    .filter(Boolean).join(' · ');
  return h('li', { class: `alert${fresh ? ' fresh' : ''}`, 'data-sequence': entry.sequence, 'data-kind': alert.kind, 'data-camera': alert.camera },
    picture,
    h('div', {}, h('div', { class: 'what' }, alert.kind), h('div', { class: 'meta' }, `${time(alert.time)} · ${details}`)));
}

async function alertsPage() {
  const recent = await api('/api/v1/alerts?limit=200');
  const list = h('ol', { class: 'alerts', id: 'alerts', 'aria-live': 'polite' });
  const kinds = h('select', { id: 'kind-filter' }, h('option', { value: '' }, 'all kinds'));
  const cameras = h('select', { id: 'camera-filter' }, h('option', { value: '' }, 'all cameras'));
  const status = h('span', { class: 'badge', id: 'stream-state' }, 'connecting…');
  const empty = h('p', { class: 'empty', id: 'no-alerts' }, 'No alerts yet. New ones appear here as the cameras raise them.');
  const known = { kind: new Set(), camera: new Set() };
  const remember = (entry) => {
    for (const [key, select] of [['kind', kinds], ['camera', cameras]]) {
      const value = entry.alert[key];
      if (!known[key].has(value)) { known[key].add(value); select.append(h('option', { value }, value)); }
    }
  };
  const applyFilter = () => {
    for (const item of list.children) {
      item.hidden = (kinds.value && item.dataset.kind !== kinds.value) || (cameras.value && item.dataset.camera !== cameras.value);
    }
  };
  kinds.addEventListener('change', applyFilter);
  cameras.addEventListener('change', applyFilter);
  for (const entry of recent) { remember(entry); list.append(alertItem(entry, false)); }
  empty.hidden = recent.length > 0;
  show(h('h1', {}, 'Alerts'),
    h('div', { class: 'toolbar' }, h('label', { for: 'kind-filter' }, 'Kind'), kinds, h('label', { for: 'camera-filter' }, 'Camera'), cameras, status),
    empty, list);
  const stream = new EventSource('/api/v1/alerts/stream');
  stream.addEventListener('open', () => { status.textContent = 'live'; status.className = 'badge live'; });
  stream.addEventListener('error', () => { status.textContent = 'reconnecting…'; status.className = 'badge warn'; });
  stream.addEventListener('alert', (event) => {
    const entry = JSON.parse(event.data);
    if (list.querySelector(`[data-sequence="${entry.sequence}"]`)) return;
    remember(entry);
    list.prepend(alertItem(entry, true));
    empty.hidden = true;
    applyFilter();
  });
}

// MARK: Policy

function loadScript(src) {
  return new Promise((resolve) => {
    const script = h('script', { src });
    script.addEventListener('load', () => resolve(true));
    script.addEventListener('error', () => resolve(false));
    document.head.append(script);
  });
}

async function policyPage() {
  const policy = await api('/api/v1/policy');
  const mayLint = session.roles.includes('dpo');
  document.head.append(h('link', { rel: 'stylesheet', href: '/vendor/codemirror/codemirror.css' }));
  const hasCodeMirror = (await loadScript('/vendor/codemirror/codemirror.js')) && (await loadScript('/vendor/codemirror/yaml.js')) && window.CodeMirror;
  const textarea = h('textarea', { id: 'policy-text', spellcheck: 'false', 'aria-label': 'Policy YAML' });
  textarea.value = policy.text;
  const holder = h('div', { class: 'editor' }, textarea);
  const summary = h('p', { id: 'lint-summary' }, mayLint ? 'Checking…' : 'Read only: linting as you type is for the DPO.');
  const findings = h('ul', { id: 'diagnostics' });
  show(h('h1', {}, 'Policy'),
    h('div', { class: 'toolbar' }, h('span', {}, `In force: version ${policy.version}`), h('span', { class: 'badge' }, policy.file)),
    h('div', { class: 'editor-wrap' }, holder, h('section', { class: 'diagnostics', 'aria-labelledby': 'lint-heading' }, h('h2', { id: 'lint-heading' }, 'Lint'), summary, findings)));
  let editor = null;
  if (hasCodeMirror) {
    editor = window.CodeMirror.fromTextArea(textarea, { mode: 'yaml', lineNumbers: true, readOnly: !mayLint, indentUnit: 2, tabSize: 2, extraKeys: { Tab: (cm) => cm.replaceSelection('  ') } });
  } else {
    textarea.readOnly = !mayLint;
  }
  const text = () => (editor ? editor.getValue() : textarea.value);
  const goTo = (line, column) => {
    if (editor) { editor.focus(); editor.setCursor({ line: line - 1, ch: Math.max(0, column - 1) }); return; }
    const lines = textarea.value.split('\n');
    const offset = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0) + Math.max(0, column - 1);
    textarea.focus();
    textarea.setSelectionRange(offset, offset);
  };
  let marked = [];
  const lint = async () => {
    const diagnostics = await api('/api/v1/policy/lint', { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: text() });
    if (editor) {
      for (const line of marked) editor.removeLineClass(line, 'background');
      marked = diagnostics.map((d) => editor.addLineClass(d.line - 1, 'background', d.severity === 'error' ? 'lint-error-line' : 'lint-warning-line'));
    }
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = diagnostics.length - errors;
    summary.textContent = diagnostics.length === 0 ? 'No problems: this draft lints clean.' : `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
    findings.replaceChildren(...diagnostics.map((d) => h('li', { 'data-line': d.line, 'data-code': d.code },
      h('button', { type: 'button', onclick: () => goTo(d.line, d.column) },
        h('span', { class: 'where' }, `line ${d.line}, column ${d.column} · `),
        h('span', { class: `${d.severity}-text` }, `${d.severity} ${d.code}`), ' ', d.message))));
  };
  if (!mayLint) return;
  let timer = null;
  const schedule = () => { clearTimeout(timer); timer = setTimeout(() => lint().catch(showLintError), 350); };
  const showLintError = (error) => { summary.textContent = `Could not lint: ${error.message}`; };
  if (editor) editor.on('change', schedule); else textarea.addEventListener('input', schedule);
  await lint().catch(showLintError);
}

// MARK: Record of processing

/** The Markdown the record is generated as: headings, lists, tables and paragraphs. */
function markdown(text) {
  const out = [];
  let list = null, table = null;
  const flush = () => { list = null; table = null; };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading) { flush(); out.push(h(`h${Math.min(4, heading[1].length + 1)}`, {}, heading[2])); continue; }
    if (/^\s*[-*]\s+/.test(line)) {
      if (!list) { list = h('ul'); out.push(list); table = null; }
      list.append(h('li', {}, line.replace(/^\s*[-*]\s+/, '')));
      continue;
    }
    if (line.startsWith('|')) {
      const cells = line.slice(1, line.endsWith('|') ? -1 : undefined).split('|').map((c) => c.trim());
      if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
      if (!table) { table = h('table'); out.push(table); list = null; table.append(h('tr', {}, cells.map((c) => h('th', {}, c)))); continue; }
      table.append(h('tr', {}, cells.map((c) => h('td', {}, c))));
      continue;
    }
    flush();
    if (line) out.push(h('p', {}, line));
  }
  return out;
}

async function recordPage() {
  const text = await api('/api/v1/record-of-processing');
  show(h('h1', {}, 'Record of processing'),
    h('p', { class: 'toolbar' }, 'Generated from the policy in force (GDPR Art. 30).'),
    h('article', { class: 'document', id: 'record' }, markdown(text)));
}

// MARK: Audit

async function auditPage() {
  const [status, entries] = await Promise.all([api('/api/v1/audit/verify'), api('/api/v1/audit?limit=1000')]);
  const banner = status.intact
    ? h('p', { class: 'status good', id: 'audit-status' }, `Intact: ${status.entries} entries, ${status.checkpoints} signed checkpoints verify.`)
    : h('div', { class: 'status bad', id: 'audit-status' }, `Not intact: ${status.problems.length} problem(s).`, h('ul', {}, status.problems.map((p) => h('li', {}, p))));
  const rows = entries.slice().reverse().map((e) => h('tr', {},
    h('td', { class: 'mono' }, e.sequence), h('td', {}, time(e.time)), h('td', {}, e.action), h('td', { class: 'mono' }, e.actor),
    h('td', { class: 'mono' }, e.subject), h('td', { class: 'mono' }, e.rules.join(', '))));
  show(h('h1', {}, 'Audit log'), banner,
    entries.length === 0 ? h('p', { class: 'empty' }, 'The audit log is empty.')
      : h('table', { class: 'audit', id: 'audit' },
        h('thead', {}, h('tr', {}, ['#', 'Time', 'Action', 'Actor', 'Subject', 'Rules'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows)));
}

// MARK: Start

const pages = { cameras: camerasPage, alerts: alertsPage, policy: policyPage, record: recordPage, audit: auditPage };

async function start() {
  try {
    session = await api('/api/v1/session');
  } catch (error) { showError(error); return; }
  const here = location.pathname.replace(/^\//, '') || 'cameras';
  document.getElementById('site').textContent = session.site;
  document.getElementById('who').textContent = `${session.operatorName} · ${session.roles.join(', ')}`;
  document.getElementById('policy-version').textContent = `Policy in force: ${session.policyVersion}`;
  document.getElementById('nav').replaceChildren(h('ul', {}, session.pages.filter((p) => p.allowed).map((p) =>
    h('li', {}, h('a', { href: `/${p.id}`, 'aria-current': p.id === here ? 'page' : null }, p.title)))));
  const page = pages[here];
  document.title = `${(session.pages.find((p) => p.id === here) || { title: 'Console' }).title} — Veilgate`;
  if (!page) { show(h('p', { class: 'error' }, 'No such page.')); return; }
  try { await page(); } catch (error) { showError(error); }
}

document.addEventListener('DOMContentLoaded', start);
