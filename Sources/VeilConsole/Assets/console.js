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

/** A pipeline's state in words: `streaming · 10.0 fps · detected 1 s ago · 3 in view`. */
function statusLine(camera) {
  if (!camera.hasPipeline) return '';
  if (!camera.state) return 'State: starting';
  const parts = [camera.state];
  if (camera.state === 'streaming') {
    parts.push(`${(camera.framesPerSecond || 0).toFixed(1)} fps`);
    if (camera.lastDetection) parts.push(`detected ${Math.max(0, Math.round((Date.now() - Date.parse(camera.lastDetection)) / 1000))} s ago`);
    parts.push(`${camera.objectsInView || 0} in view`);
  }
  return `State: ${parts.join(' · ')}`;
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
        h('span', { 'data-status': camera.id }, statusLine(camera)),
        h('span', {}, h('b', {}, 'Hidden: '), camera.redaction),
        h('span', {}, h('b', {}, 'Analytics: '), camera.analytics.length ? camera.analytics.join(', ') : 'none'),
        h('span', {}, h('b', {}, 'Zones and lines: '), [...camera.zones, ...camera.lines].map((x) => x.id).join(', ') || 'none'))));
    if (camera.hasPipeline && window.MediaSource) new LivePlayer(camera.id, video, badge, placeholder).start();
  }
  const located = cameras.filter((camera) => Array.isArray(camera.position));
  const mapHolder = located.length ? h('section', { class: 'panel camera-map-panel', 'aria-labelledby': 'map-heading' },
    h('h2', { id: 'map-heading' }, 'Map'), h('div', { id: 'camera-map', role: 'region', 'aria-label': 'Map of the cameras; each marker opens its live view below' })) : null;
  show(h('h1', {}, 'Cameras'), mapHolder, grid);
  const markers = mapHolder ? await cameraMap(located) : null;
  // The state lines (and the markers' colours) follow the pipelines.
  setInterval(async () => {
    try {
      for (const camera of await api('/api/v1/cameras')) {
        const line = document.querySelector(`[data-status="${CSS.escape(camera.id)}"]`);
        if (line) line.textContent = statusLine(camera);
        if (markers && markers.has(camera.id)) markers.get(camera.id).setStyle(markerStyle(camera));
      }
    } catch (_) { /* the next round tries again */ }
  }, 2000);
}

/** A marker's colours by its camera's state: streaming green, starting amber, unavailable red, no pipeline grey. */
function markerStyle(camera) {
  const colour = !camera.hasPipeline ? '#6b7280' : camera.state === 'streaming' ? '#1b7a3d' : camera.state === 'unavailable' ? '#b3261e' : '#c28a00';
  return { color: '#ffffff', weight: 2, fillColor: colour, fillOpacity: 0.95 };
}

/**
 * The cameras on a map (Leaflet from Debian's libjs-leaflet), with the site's own tiles when the policy names a tile
 * server (metadata.map) and on a plain background otherwise: the console loads nothing from elsewhere. Returns the
 * markers by camera, or null when Leaflet is not installed.
 */
async function cameraMap(located) {
  const holder = document.getElementById('camera-map');
  document.head.append(h('link', { rel: 'stylesheet', href: '/vendor/leaflet/leaflet.css' }));
  if (!(await loadScript('/vendor/leaflet/leaflet.js')) || !window.L) {
    holder.replaceWith(h('p', { class: 'muted' }, 'The map needs Leaflet (Debian package libjs-leaflet) on the gateway.'));
    return null;
  }
  const L = window.L;
  const map = L.map(holder, { attributionControl: Boolean(session.map), zoomSnap: 0.25 });
  if (session.map) {
    L.tileLayer(session.map.tiles, { attribution: session.map.attribution, maxZoom: 20 }).addTo(map);
  } else {
    holder.classList.add('no-tiles');
    holder.after(h('p', { class: 'muted', id: 'map-note' }, 'Positions from the policy, on a plain background: the policy names no map tile server (metadata.map.tiles).'));
  }
  L.control.scale({ imperial: false }).addTo(map);
  const markers = new Map();
  const points = located.map((camera) => camera.position);
  // Which way each camera looks: a 60° wedge, long enough to see at the zoom that shows them all (an eighth of their
  // spread, at least 25 m).
  const spread = points.length > 1 ? L.latLngBounds(points).getNorthWest().distanceTo(L.latLngBounds(points).getSouthEast()) : 0;
  const metres = Math.max(25, spread / 8);
  for (const camera of located) {
    const [lat, lon] = camera.position;
    if (typeof camera.heading === 'number') {
      const latScale = 1 / 111320, lonScale = 1 / (111320 * Math.cos(lat * Math.PI / 180));
      const wedge = [[lat, lon]];
      for (let angle = camera.heading - 30; angle <= camera.heading + 30; angle += 10) {
        const radians = angle * Math.PI / 180;
        wedge.push([lat + Math.cos(radians) * metres * latScale, lon + Math.sin(radians) * metres * lonScale]);
      }
      L.polygon(wedge, { color: '#1f5fbf', weight: 1, fillOpacity: 0.15, interactive: false }).addTo(map);
    }
    const marker = L.circleMarker([lat, lon], Object.assign({ radius: 9 }, markerStyle(camera))).addTo(map);
    marker.bindTooltip(camera.id, { permanent: true, direction: 'right', offset: [10, 0], className: 'camera-label' });
    marker.on('click', () => {
      const tile = document.getElementById(`camera-${camera.id}`);
      if (tile) { tile.scrollIntoView({ behavior: 'smooth', block: 'center' }); tile.closest('article').classList.add('picked'); setTimeout(() => tile.closest('article').classList.remove('picked'), 1500); }
    });
    markers.set(camera.id, marker);
  }
  if (points.length === 1) map.setView(points[0], 18);
  else map.fitBounds(L.latLngBounds(points).pad(0.25), { maxZoom: 19 });
  holder.dataset.ready = 'yes';
  return markers;
}

// MARK: Alerts

function alertItem(entry, fresh) {
  const alert = entry.alert;
  const picture = entry.snapshot
    ? h('img', { src: `/api/v1/alerts/${entry.sequence}/snapshot`, alt: `Redacted snapshot of alert ${entry.sequence}`, loading: 'lazy' })
    : h('div', { class: 'nosnap' }, 'no snapshot');
  const details = [alert.camera, alert.zone ? `zone ${alert.zone}` : null, alert.count !== undefined && alert.count !== null ? `count ${alert.count}` : null]
    .filter(Boolean).join(' · ');
  const handling = h('div', { class: 'handling' });
  const showHandling = (acknowledged) => {
    if (acknowledged) {
      handling.replaceChildren(h('span', { class: 'badge live', 'data-acknowledged': entry.sequence }, `acknowledged by ${acknowledged.by.replace(/^operator:/, '')} at ${time(acknowledged.time)}`),
        acknowledged.note ? h('span', { class: 'note' }, acknowledged.note) : null);
      return;
    }
    const note = h('input', { type: 'text', maxlength: 500, placeholder: 'Note (optional)', 'aria-label': `Note on alert ${entry.sequence}` });
    const button = h('button', { type: 'button', class: 'secondary', 'data-action': 'acknowledge' }, 'Acknowledge');
    const acknowledge = async () => {
      try {
        showHandling(await api(`/api/v1/alerts/${entry.sequence}/acknowledge`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ note: note.value }) }));
      } catch (error) { handling.append(h('span', { class: 'error-text' }, error.message)); }
    };
    button.addEventListener('click', acknowledge);
    note.addEventListener('keydown', (event) => { if (event.key === 'Enter') acknowledge(); });
    handling.replaceChildren(note, button);
  };
  showHandling(entry.acknowledged);
  return h('li', { class: `alert${fresh ? ' fresh' : ''}${entry.acknowledged ? ' done' : ''}`, 'data-sequence': entry.sequence, 'data-kind': alert.kind, 'data-camera': alert.camera },
    picture,
    h('div', {}, h('div', { class: 'what' }, alert.kind), h('div', { class: 'meta' }, `${time(alert.time)} · ${details}`), handling));
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

// MARK: Counts

/** A small SVG chart: one or more series of [time, value] over a shared time axis. */
function chart(title, series, from, to) {
  const width = 640, height = 180, left = 40, right = 10, top = 12, bottom = 26;
  const most = Math.max(1, ...series.flatMap((line) => line.points.map((p) => p[1])));
  const x = (t) => left + ((t - from) / (to - from)) * (width - left - right);
  const y = (v) => height - bottom - (v / most) * (height - top - bottom);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title });
  for (const tick of [0, Math.round(most / 2), most]) {
    svg.append(s('line', { x1: left, x2: width - right, y1: y(tick), y2: y(tick), class: 'grid' }));
    const label = s('text', { x: left - 6, y: y(tick) + 4, 'text-anchor': 'end' });
    label.textContent = tick;
    svg.append(label);
  }
  for (const t of [from, (from + to) / 2, to]) {
    const label = s('text', { x: x(t), y: height - 6, 'text-anchor': 'middle' });
    label.textContent = new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    svg.append(label);
  }
  series.forEach((line, index) => {
    if (line.points.length === 0) return;
    const points = line.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg.append(s('polyline', { points, class: `series series-${index}` }));
    // Few points (a camera just started, a quiet hour): each minute as a dot, so a lone value is seen.
    if (line.points.length <= 120) {
      for (const [t, v] of line.points) svg.append(s('circle', { cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2.5, class: `dot series-${index}` }));
    }
  });
  return h('figure', { class: 'panel chart-box' }, h('figcaption', {}, title,
    ...series.map((line, index) => h('span', { class: `legend legend-${index}` },
      `${line.name}${line.points.length ? ` (latest ${line.points[line.points.length - 1][1]})` : ''}`))), svg);
}

async function countsPage() {
  const cameras = (await api('/api/v1/cameras')).filter((c) => c.zones.length + c.lines.length > 0);
  if (cameras.length === 0) {
    show(h('h1', {}, 'Counts'), h('p', { class: 'empty' }, 'No camera of the policy counts anything (it names no zones or lines).'));
    return;
  }
  const camera = h('select', { id: 'counts-camera' }, cameras.map((c) => h('option', { value: c.id }, c.id)));
  const range = h('select', { id: 'counts-range' },
    [['1', 'last hour'], ['6', 'last 6 hours'], ['24', 'last 24 hours'], ['168', 'last 7 days']].map(([v, t]) => h('option', { value: v, selected: v === '6' }, t)));
  const charts = h('div', { class: 'charts', id: 'charts' });
  const draw = async () => {
    const to = Date.now(), from = to - Number(range.value) * 3600 * 1000;
    const counts = await api(`/api/v1/cameras/${encodeURIComponent(camera.value)}/counts?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`);
    const chosen = cameras.find((c) => c.id === camera.value);
    const byZone = (id) => counts.filter((c) => c.zone === id).map((c) => ({ t: Date.parse(c.minute), c }));
    const panels = [];
    for (const zone of chosen.zones) {
      const rows = byZone(zone.id).filter((r) => r.c.peakOccupancy !== undefined && r.c.peakOccupancy !== null);
      panels.push(chart(`Zone ${zone.id}: people at once (peak per minute)`, [{ name: 'people', points: rows.map((r) => [r.t, r.c.peakOccupancy]) }], from, to));
    }
    for (const line of chosen.lines) {
      const rows = byZone(line.id);
      panels.push(chart(`Line ${line.id}: crossings per minute`, [
        { name: 'in', points: rows.map((r) => [r.t, r.c.crossingsIn || 0]) },
        { name: 'out', points: rows.map((r) => [r.t, r.c.crossingsOut || 0]) }], from, to));
    }
    charts.replaceChildren(...(counts.length ? panels : [h('p', { class: 'empty', id: 'no-counts' }, 'No counts in this range yet: the analytics record one row per zone and line each minute while the camera runs.')]));
  };
  camera.addEventListener('change', () => draw().catch(showError));
  range.addEventListener('change', () => draw().catch(showError));
  show(h('h1', {}, 'Counts'),
    h('div', { class: 'toolbar' }, h('label', { for: 'counts-camera' }, 'Camera'), camera, h('label', { for: 'counts-range' }, 'Range'), range),
    charts);
  await draw();
  setInterval(() => draw().catch(() => {}), 60000);
}

// MARK: Zones & lines

async function zonesPage() {
  const cameras = await api('/api/v1/cameras');
  if (cameras.length === 0) {
    show(h('h1', {}, 'Zones & lines'), h('p', { class: 'empty' }, 'The policy in force names no cameras.'));
    return;
  }
  const clamp = (v) => Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000;
  const state = { camera: null, shapes: [], selected: -1, drawing: null, dragging: null };
  const select = h('select', { id: 'zones-camera' }, cameras.map((c) => h('option', { value: c.id }, c.id)));
  const svg = s('svg', { viewBox: '0 0 1 1', preserveAspectRatio: 'none', class: 'editable', tabindex: 0, role: 'application', 'aria-label': 'Zones and lines over the camera picture; arrow keys move the selected shape' });
  const video = h('video', { muted: true, autoplay: true, playsinline: true, 'aria-hidden': 'true' });
  video.muted = true;
  const badge = h('span', { class: 'badge' }, '');
  const placeholder = h('div', { class: 'placeholder' }, 'No live picture for this camera: drawing on a blank screen.');
  const screen = h('div', { class: 'screen editor-screen' }, video, svg, placeholder);
  video.addEventListener('loadedmetadata', () => { if (video.videoWidth) screen.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`; });
  const list = h('ul', { class: 'shapes', id: 'shapes' });
  const hint = h('p', { class: 'muted', id: 'editor-hint' }, 'Select a zone or line to drag its corners, or add one.');
  const output = h('pre', { class: 'diff', id: 'zones-diff', hidden: true });
  const summary = h('p', { id: 'zones-summary' });
  let draft = null;
  let player = null;

  const toPoint = (event) => {
    const box = svg.getBoundingClientRect();
    return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
  };
  const render = () => {
    svg.replaceChildren();
    state.shapes.forEach((shape, index) => {
      const selected = index === state.selected;
      const attributes = { class: selected ? 'selected' : '', 'data-shape': shape.id };
      if (shape.kind === 'zone') svg.append(s('polygon', Object.assign({ points: shape.points.map((p) => p.join(',')).join(' ') }, attributes)));
      else svg.append(s('line', Object.assign({ x1: shape.points[0][0], y1: shape.points[0][1], x2: shape.points[1][0], y2: shape.points[1][1] }, attributes)));
      const label = s('text', { x: shape.points[0][0] + 0.01, y: shape.points[0][1] + 0.04 });
      label.textContent = shape.id;
      svg.append(label);
      if (!selected) return;
      shape.points.forEach((point, vertex) => {
        const handle = s('circle', { cx: point[0], cy: point[1], r: 0.014, class: 'vertex', 'data-vertex': vertex });
        handle.addEventListener('pointerdown', (event) => {
          event.stopPropagation();
          state.dragging = { vertex };
          svg.setPointerCapture(event.pointerId);
        });
        svg.append(handle);
      });
    });
    if (state.drawing && state.drawing.points.length) {
      svg.append(s('polyline', { points: state.drawing.points.map((p) => p.join(',')).join(' '), class: 'drawing' }));
    }
    list.replaceChildren(...state.shapes.map((shape, index) => {
      const name = h('input', { type: 'text', value: shape.id, 'aria-label': `Id of ${shape.kind} ${shape.id}`, size: 16 });
      name.addEventListener('change', () => { shape.id = name.value.trim().toLowerCase(); render(); });
      return h('li', { 'data-shape': shape.id, class: index === state.selected ? 'selected' : '' },
        h('button', { type: 'button', class: 'secondary', 'data-action': 'select', onclick: () => { state.selected = index; state.drawing = null; render(); svg.focus(); } }, shape.kind),
        name,
        h('button', { type: 'button', class: 'secondary', onclick: () => { state.shapes.splice(index, 1); state.selected = -1; render(); } }, 'Delete'));
    }));
  };
  svg.addEventListener('pointerdown', (event) => {
    if (!state.drawing) return;
    state.drawing.points.push(toPoint(event));
    if (state.drawing.kind === 'line' && state.drawing.points.length === 2) finish();
    else render();
  });
  svg.addEventListener('pointermove', (event) => {
    if (!state.dragging || state.selected < 0) return;
    state.shapes[state.selected].points[state.dragging.vertex] = toPoint(event);
    render();
  });
  svg.addEventListener('pointerup', () => { state.dragging = null; });
  svg.addEventListener('keydown', (event) => {
    const moves = { ArrowLeft: [-0.005, 0], ArrowRight: [0.005, 0], ArrowUp: [0, -0.005], ArrowDown: [0, 0.005] };
    const move = moves[event.key];
    if (!move || state.selected < 0) return;
    event.preventDefault();
    const shape = state.shapes[state.selected];
    shape.points = shape.points.map(([x, y]) => [clamp(x + move[0]), clamp(y + move[1])]);
    render();
  });
  const finish = () => {
    const drawing = state.drawing;
    state.drawing = null;
    if (!drawing) return;
    const enough = drawing.kind === 'zone' ? drawing.points.length >= 3 : drawing.points.length === 2;
    if (enough) {
      const taken = new Set(state.shapes.map((x) => x.id));
      let number = 1;
      while (taken.has(`${drawing.kind}-${number}`)) number += 1;
      state.shapes.push({ kind: drawing.kind, id: `${drawing.kind}-${number}`, points: drawing.points });
      state.selected = state.shapes.length - 1;
    }
    hint.textContent = enough ? 'Added: rename it, drag its corners, then show the policy change.' : 'Not enough points: nothing added.';
    render();
  };
  const start = (kind) => {
    state.drawing = { kind, points: [] };
    state.selected = -1;
    hint.textContent = kind === 'zone' ? 'Click the corners of the zone on the picture, then Finish (at least three).' : 'Click where the line starts and where it ends.';
    render();
    svg.focus();
  };
  const load = () => {
    const camera = cameras.find((c) => c.id === select.value);
    state.camera = camera.id;
    state.shapes = [
      ...camera.zones.map((z) => ({ kind: 'zone', id: z.id, points: z.polygon.map((p) => p.slice()) })),
      ...camera.lines.map((l) => ({ kind: 'line', id: l.id, points: [l.from.slice(), l.to.slice()] })),
    ];
    state.selected = -1;
    state.drawing = null;
    output.hidden = true;
    summary.textContent = '';
    if (player) player.stopped = true;
    video.removeAttribute('src');
    placeholder.hidden = false;
    if (camera.hasPipeline && window.MediaSource) { player = new LivePlayer(camera.id, video, badge, placeholder); player.start(); }
    render();
  };
  select.addEventListener('change', load);
  const propose = async () => {
    try {
      draft = await api('/api/v1/policy/zones', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          camera: state.camera,
          zones: state.shapes.filter((x) => x.kind === 'zone').map((x) => ({ id: x.id, polygon: x.points })),
          lines: state.shapes.filter((x) => x.kind === 'line').map((x) => ({ id: x.id, from: x.points[0], to: x.points[1] })),
        }),
      });
      const errors = draft.diagnostics.filter((d) => d.severity === 'error');
      summary.textContent = errors.length ? `The change has ${errors.length} error(s): ${errors.map((d) => `line ${d.line}: ${d.message}`).join('; ')}` : 'This is the change to the policy. Download it, sign it with the DPO key and reload the gateway to apply it.';
      summary.className = errors.length ? 'error' : 'status good';
      output.hidden = false;
      output.replaceChildren(...(draft.diff || '').split('\n').map((line) => h('span', { class: /^\s*\+/.test(line) ? 'gained' : /^\s*-/.test(line) ? 'lost' : /^\s*~/.test(line) ? 'changed' : '' }, line + '\n')));
    } catch (error) { summary.textContent = error.message; summary.className = 'error'; }
  };
  const download = () => {
    if (!draft) return;
    const link = h('a', { href: URL.createObjectURL(new Blob([draft.text], { type: 'application/yaml' })), download: draft.file });
    document.body.append(link);
    link.click();
    link.remove();
  };
  show(h('h1', {}, 'Zones & lines'),
    h('div', { class: 'toolbar' }, h('label', { for: 'zones-camera' }, 'Camera'), select, badge),
    h('div', { class: 'editor-wrap' },
      h('div', {}, screen, hint),
      h('section', { class: 'diagnostics', 'aria-labelledby': 'shapes-heading' },
        h('h2', { id: 'shapes-heading' }, 'Zones and lines'), list,
        h('div', { class: 'toolbar draft-actions' },
          h('button', { type: 'button', class: 'secondary', id: 'new-zone', onclick: () => start('zone') }, 'New zone'),
          h('button', { type: 'button', class: 'secondary', id: 'new-line', onclick: () => start('line') }, 'New line'),
          h('button', { type: 'button', class: 'secondary', id: 'finish', onclick: finish }, 'Finish')),
        h('div', { class: 'toolbar draft-actions' },
          h('button', { type: 'button', id: 'propose', onclick: propose }, 'Show the policy change'),
          h('button', { type: 'button', class: 'secondary', id: 'download-zones', onclick: download }, 'Download policy')),
        summary, output)));
  load();
}

// MARK: Evidence

function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

async function evidencePage() {
  const mayAct = () => session.roles.some((role) => listing.holdRoles.includes(role));
  let listing = await api('/api/v1/evidence/holds');
  const message = h('p', { id: 'evidence-message', role: 'status', 'aria-live': 'polite' });
  const say = (text, bad) => { message.textContent = text; message.className = bad ? 'error' : 'status good'; };
  const holdsBody = h('tbody', { id: 'holds' });
  const approvalsList = h('ul', { class: 'approvals', id: 'approvals' });
  const calendar = h('div', { id: 'calendar' }, h('p', { class: 'muted' }, 'Loading…'));

  const act = async (path, body) => {
    try {
      const result = await api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      await refresh();
      return result;
    } catch (error) { say(error.message, true); return null; }
  };

  const approvedText = {
    'release-hold': (a) => `Approved: ${a.subject} released.`,
    erase: (a) => `Approved: footage of ${a.subject} erased.`,
    'export-original': (a) => `Approved: ${a.requestedBy} may download the original footage of ${a.subject} for 24 hours.`,
    'view-original': (a) => `Approved: ${a.requestedBy} may watch the original footage of ${a.subject} for 30 minutes.`,
  };
  const mayTakeOut = session.roles.some((role) => listing.takeoutRoles.includes(role));
  const exportsList = h('ul', { class: 'approvals', id: 'exports' });
  const viewsHolder = h('div', { id: 'original-views' });
  const drawTakeouts = async () => {
    if (!mayTakeOut) return;
    const exports = await api('/api/v1/evidence/exports');
    exportsList.replaceChildren(...(exports.length ? exports.map((e) => h('li', { 'data-export': e.id },
      h('span', {}, `${e.kind === 'original-export' ? 'Original' : 'Redacted'} footage of ${e.camera}, ${time(e.from)} – ${time(e.to)}${e.approvedBy ? `, approved by ${e.approvedBy}` : ''}; until ${time(e.expiresAt)} `),
      h('a', { class: 'button', href: `/api/v1/evidence/exports/${e.id}/archive`, download: `veilgate-${e.camera}-${e.id}.tar` }, 'Download signed bundle')))
      : [h('li', { class: 'muted' }, 'No exports of yours in force.')]));
    const views = await api('/api/v1/evidence/originals');
    const shown = new Set([...viewsHolder.querySelectorAll('[data-view]')].map((element) => element.dataset.view));
    if (views.length === 0) { viewsHolder.replaceChildren(h('p', { class: 'muted' }, 'No approved views of yours in force.')); return; }
    // Videos already on the page keep playing: only new views are added.
    if (views.some((v) => !shown.has(v.view.id)) || shown.size !== views.length) {
      viewsHolder.replaceChildren(...views.map((v) => h('section', { class: 'original-view', 'data-view': v.view.id },
        h('p', {}, h('span', { class: 'badge bad' }, 'original footage'), ` ${v.view.camera}, ${time(v.view.from)} – ${time(v.view.to)}, approved by ${v.view.approvedBy}; until ${time(v.view.expiresAt)}. Every segment you play is in the audit log.`),
        h('div', { class: 'original-parts' }, v.parts.map((part) => h('figure', {},
          h('video', { controls: true, preload: 'metadata', muted: true, src: `/api/v1/evidence/originals/${v.view.id}/${part.id}`, 'data-part': part.id }),
          h('figcaption', {}, `${time(part.start)} – ${time(part.end)}`)))))));
    }
  };

  const refresh = async () => {
    listing = await api('/api/v1/evidence/holds');
    await drawTakeouts();
    const approvals = await api('/api/v1/approvals');
    const waiting = new Map(approvals.map((a) => [a.subject, a]));
    holdsBody.replaceChildren(...listing.holds.map((hold) => {
      const pending = waiting.get(hold.id);
      return h('tr', { 'data-hold': hold.id },
        h('td', { class: 'mono' }, hold.id), h('td', {}, hold.camera), h('td', {}, `${time(hold.from)} – ${time(hold.to)}`),
        h('td', {}, `${time(hold.placedAt)} by ${hold.placedBy}`), h('td', {}, hold.expiresAt ? time(hold.expiresAt) : 'until released'),
        h('td', {}, mayAct() ? [
          h('button', { type: 'button', class: 'secondary', onclick: () => act(`/api/v1/evidence/holds/${hold.id}/renew`).then((r) => r && say(`Renewed ${hold.id}.`)) }, 'Renew'), ' ',
          pending ? h('span', { class: 'badge warn' }, 'release awaiting approval')
            : h('button', { type: 'button', 'data-action': 'release', onclick: () => act(`/api/v1/evidence/holds/${hold.id}/release`).then((r) => r && say(`Release of ${hold.id} requested: a second person of another role must approve within ${listing.approvalMinutes} minutes.`)) }, 'Release…'),
        ] : ''));
    }));
    approvalsList.replaceChildren(...(approvals.length ? approvals.map((a) => {
      const own = a.requestedBy === session.operatorName;
      const allowed = a.action === 'erase' ? listing.erasureRoles : a.action === 'release-hold' ? listing.holdRoles : listing.takeoutRoles;
      const otherRole = session.roles.some((role) => allowed.includes(role) && !a.requesterRoles.includes(role));
      return h('li', { 'data-approval': a.id },
        h('span', {}, `${a.action} ${a.subject}, asked by ${a.requestedBy} (${a.requesterRoles.join(', ')}) at ${time(a.requestedAt)}; expires ${time(a.expiresAt)} `),
        a.reason ? h('q', { class: 'reason' }, a.reason) : null, ' ',
        !own && otherRole ? h('button', { type: 'button', 'data-action': 'approve', onclick: () => act(`/api/v1/approvals/${a.id}/approve`).then((r) => r && say(approvedText[a.action](a))) }, 'Approve') : null,
        own ? h('span', { class: 'badge' }, 'waiting for a second person of another role') : null,
        own || mayAct() ? h('button', { type: 'button', class: 'secondary', onclick: () => act(`/api/v1/approvals/${a.id}/withdraw`).then((r) => r && say('Withdrawn.')) }, 'Withdraw') : null);
    }) : [h('li', { class: 'muted' }, 'Nothing waits for approval.')]));
  };

  const camera = h('select', { id: 'hold-camera', required: true }, listing.cameras.map((c) => h('option', { value: c }, c)));
  const from = h('input', { type: 'datetime-local', id: 'hold-from', required: true, step: 1 });
  const to = h('input', { type: 'datetime-local', id: 'hold-to', required: true, step: 1 });
  const reference = h('input', { type: 'text', id: 'hold-case', required: true, autocomplete: 'off', placeholder: 'e.g. CASE-2026-0815' });
  const form = h('form', { class: 'hold-form', id: 'hold-form' },
    field('Camera', camera), field('From', from), field('To', to), field('Case reference', reference),
    h('button', { type: 'submit' }, 'Place hold'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const placed = await act('/api/v1/evidence/holds', {
      camera: camera.value, from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString(), caseReference: reference.value,
    });
    if (placed) { say(`Placed ${placed.id} on ${placed.camera}.`); reference.value = ''; }
  });

  const mayErase = session.roles.some((role) => listing.erasureRoles.includes(role));
  const eraseCamera = h('select', { id: 'erase-camera' }, listing.cameras.map((c) => h('option', { value: c }, c)));
  const eraseFrom = h('input', { type: 'datetime-local', id: 'erase-from', required: true, step: 1 });
  const eraseTo = h('input', { type: 'datetime-local', id: 'erase-to', required: true, step: 1 });
  const eraseForm = h('form', { class: 'hold-form', id: 'erase-form' },
    field('Camera', eraseCamera), field('From', eraseFrom), field('To', eraseTo),
    h('button', { type: 'submit' }, 'Request erasure'));
  eraseForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const asked = await act('/api/v1/evidence/erasures', { camera: eraseCamera.value, from: new Date(eraseFrom.value).toISOString(), to: new Date(eraseTo.value).toISOString() });
    if (asked) say(`Erasure of ${asked.subject} requested: a second person of another role (${listing.erasureRoles.join(' or ')}) must approve within ${listing.approvalMinutes} minutes.`);
  });
  const takeoutForm = (id, original) => {
    const formCamera = h('select', { id: `${id}-camera` }, listing.cameras.map((c) => h('option', { value: c }, c)));
    const formFrom = h('input', { type: 'datetime-local', id: `${id}-from`, required: true, step: 1 });
    const formTo = h('input', { type: 'datetime-local', id: `${id}-to`, required: true, step: 1 });
    const originalBox = original ? null : h('input', { type: 'checkbox', id: `${id}-original` });
    const reason = h('input', { type: 'text', id: `${id}-reason`, autocomplete: 'off', maxlength: 300, required: original, placeholder: 'for the approver; never logged' });
    const form = h('form', { class: 'hold-form', id: `${id}-form` },
      field('Camera', formCamera), field('From', formFrom), field('To', formTo),
      originalBox ? h('label', { class: 'check' }, originalBox, ' Original (unredacted) footage: needs a second person') : null,
      field('Reason', reason),
      h('button', { type: 'submit' }, original ? 'Ask to watch' : 'Export'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const wantsOriginal = original || originalBox.checked;
      const body = { camera: formCamera.value, from: new Date(formFrom.value).toISOString(), to: new Date(formTo.value).toISOString(), original: wantsOriginal };
      if (reason.value.trim()) body.reason = reason.value.trim();
      const result = await act(original ? '/api/v1/evidence/originals' : '/api/v1/evidence/exports', body);
      if (!result) return;
      reason.value = '';
      say(result.action ? `Asked: a second person of another role (${listing.takeoutRoles.join(' or ')}) must approve within ${listing.approvalMinutes} minutes.` : `Export ready: download it below within 24 hours.`);
    });
    return form;
  };
  show(h('h1', {}, 'Evidence'),
    h('p', { class: 'toolbar' }, `Legal holds keep a camera's footage past its retention until released. Holds are for ${listing.holdRoles.join(' or ')}; releasing one needs a second person of another of these roles, within ${listing.approvalMinutes} minutes. The case reference stays in the vault and is never listed or logged.`),
    message,
    mayAct() ? h('section', { 'aria-labelledby': 'place-heading', class: 'panel' }, h('h2', { id: 'place-heading' }, 'Place a hold'), form) : null,
    mayErase ? h('section', { 'aria-labelledby': 'erase-heading', class: 'panel' }, h('h2', { id: 'erase-heading' }, 'Erase footage (GDPR Art. 17)'),
      h('p', { class: 'muted' }, 'Destroys the keys of every segment of the camera in the range, for good; refused under a legal hold. Needs a second person of another role.'), eraseForm) : null,
    h('section', { 'aria-labelledby': 'approvals-heading', class: 'panel' }, h('h2', { id: 'approvals-heading' }, 'Waiting for a second person'), approvalsList),
    mayTakeOut ? h('section', { 'aria-labelledby': 'export-heading', class: 'panel' }, h('h2', { id: 'export-heading' }, 'Export footage'),
      h('p', { class: 'muted' }, 'A signed bundle (veilgate vault verify-export checks it), made from the vault when you download it and not kept on the gateway. Redacted footage at once; original footage once a second person of another role approves. Yours for 24 hours; every download is audited.'),
      takeoutForm('export', false), exportsList) : null,
    mayTakeOut ? h('section', { 'aria-labelledby': 'original-heading', class: 'panel' }, h('h2', { id: 'original-heading' }, 'Watch original footage'),
      h('p', { class: 'muted' }, 'The unredacted recording, for you alone, for 30 minutes after a second person of another role approves; give the reason they decide on.'),
      takeoutForm('view', true), viewsHolder) : null,
    h('section', { 'aria-labelledby': 'holds-heading', class: 'panel' }, h('h2', { id: 'holds-heading' }, 'Active holds'),
      h('table', { class: 'audit' }, h('thead', {}, h('tr', {}, ['Hold', 'Camera', 'Footage', 'Placed', 'Expires', ''].map((t) => h('th', { scope: 'col' }, t)))), holdsBody)),
    h('section', { 'aria-labelledby': 'calendar-heading', class: 'panel' }, h('h2', { id: 'calendar-heading' }, 'Retention calendar'), calendar));
  await refresh();
  const rows = await api('/api/v1/evidence/retention');
  calendar.replaceChildren(rows.length === 0 ? h('p', { class: 'muted' }, 'The vault keeps nothing yet.')
    : h('table', { class: 'audit', id: 'retention' },
      h('thead', {}, h('tr', {}, ['Camera', 'Data', 'Kept', 'Rule', 'Oldest goes', 'Newest goes'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', { 'data-camera': r.camera, 'data-category': r.category },
        h('td', {}, r.camera), h('td', {}, r.category), h('td', {}, `${r.segments} segment(s), ${time(r.oldest)} – ${time(r.newest)}`),
        h('td', {}, r.rule ? `${r.rule} (${r.duration})` : h('span', { class: 'badge warn' }, 'no rule: goes at the next sweep')),
        h('td', {}, r.oldestExpires ? time(r.oldestExpires) : '—'), h('td', {}, r.newestExpires ? time(r.newestExpires) : '—'))))));
  // Another operator's approval shows without a reload.
  setInterval(() => refresh().catch(() => {}), 3000);
}

// MARK: Partners

async function partnersPage() {
  const isAdmin = session.roles.includes('admin');
  const message = h('p', { id: 'partners-message', role: 'status', 'aria-live': 'polite' });
  const holder = h('div', {});
  const certificateList = (certificates) => certificates.length === 0 ? h('span', { class: 'muted' }, 'none issued')
    : h('ul', { class: 'certificates' }, certificates.map((c) => {
      const days = Math.round((Date.parse(c.notAfter) - Date.now()) / 86400000);
      const badge = c.state === 'revoked' ? h('span', { class: 'badge bad' }, 'revoked')
        : c.state === 'expired' ? h('span', { class: 'badge bad' }, 'expired')
          : c.expiresSoon ? h('span', { class: 'badge warn' }, `expires in ${days} days`) : h('span', { class: 'badge live' }, 'valid');
      const revoke = isAdmin && c.state === 'valid' ? h('button', { type: 'button', class: 'secondary', 'data-serial': c.serial }, 'Revoke') : null;
      if (revoke) {
        // Two clicks: the first asks, the second revokes (no browser dialog).
        revoke.addEventListener('click', async () => {
          if (revoke.dataset.armed !== 'yes') { revoke.dataset.armed = 'yes'; revoke.textContent = 'Confirm: revoke now'; return; }
          try {
            await api(`/api/v1/certificates/${c.serial}/revoke`, { method: 'POST' });
            message.textContent = `Revoked ${c.serial}: its connections are closed now.`;
            message.className = 'status good';
            await draw();
          } catch (error) { message.textContent = error.message; message.className = 'error'; }
        });
      }
      return h('li', { 'data-certificate': c.serial }, h('span', { class: 'mono' }, c.serial.slice(0, 16) + '…'), ' until ', time(c.notAfter), ' ', badge, ' ', revoke);
    }));
  const draw = async () => {
    const listing = await api('/api/v1/partners');
    holder.replaceChildren(
      h('section', { class: 'panel', 'aria-labelledby': 'partners-heading' }, h('h2', { id: 'partners-heading' }, 'Partners'),
        listing.partners.length === 0 ? h('p', { class: 'muted' }, 'The policy names no partners.') :
          h('table', { class: 'audit', id: 'partners' }, h('thead', {}, h('tr', {}, ['Partner', 'Identity', 'Grants', 'Certificates'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, listing.partners.map((p) => h('tr', { 'data-partner': p.id },
              h('td', {}, h('b', {}, p.id), h('div', { class: 'muted' }, `${p.organisation} · ${p.role}`)),
              h('td', { class: 'mono' }, p.identity),
              h('td', {}, h('ul', { class: 'grants' }, p.grants.map((g) => h('li', {}, `${g.action} `, h('span', { class: 'muted' }, `${g.cameras}${g.expires ? ` · until ${g.expires}` : ''} · ${g.id}`))))),
              h('td', {}, certificateList(p.certificates))))))),
      h('section', { class: 'panel', 'aria-labelledby': 'operators-heading' }, h('h2', { id: 'operators-heading' }, 'Console operators'),
        h('table', { class: 'audit', id: 'operators' }, h('thead', {}, h('tr', {}, ['Operator', 'Roles', 'Certificates'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, listing.operators.map((o) => h('tr', { 'data-operator': o.name }, h('td', {}, h('b', {}, o.name)), h('td', {}, o.roles.join(', ')), h('td', {}, certificateList(o.certificates))))))));
  };
  show(h('h1', {}, 'Partners'),
    h('p', { class: 'toolbar' }, `Who may see what (from the policy in force), the certificates this site issued them, and their expiry: a warning 30 days ahead. ${isAdmin ? 'Revoking takes effect at once.' : 'Revocation is for the admin role.'}`),
    message, holder);
  await draw();
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
  const describe = (deployment) => `In force: version ${deployment.version}`
    + (deployment.signer ? ` · signed with DPO key ${deployment.signer.slice(0, 16)}…` : ' · not signed')
    + ` · since ${time(deployment.loadedAt)}`;
  const inForce = h('span', { id: 'in-force' }, describe(policy.deployment));
  const reloadResult = h('p', { id: 'reload-result', role: 'status', 'aria-live': 'polite' });
  const reload = mayLint ? h('button', { type: 'button', class: 'secondary', id: 'reload' }, 'Reload from disk') : null;
  const report = async (result) => {
    inForce.textContent = describe(result.deployment);
    reloadResult.textContent = result.loaded ? `Loaded: version ${result.deployment.version} is in force.` : `Refused; version ${result.deployment.version} stays in force. ${result.message || ''}`;
    if (result.loaded) {
      // The editor shows the text now in force.
      const fresh = await api('/api/v1/policy');
      if (editor) editor.setValue(fresh.text); else textarea.value = fresh.text;
    }
    reloadResult.className = result.loaded ? 'status good' : 'error';
  };
  if (reload) {
    reload.addEventListener('click', async () => {
      try { await report(await api('/api/v1/policy/reload', { method: 'POST' })); } catch (error) { reloadResult.textContent = error.message; reloadResult.className = 'error'; }
    });
  }
  // A signed bundle from the DPO's machine: its YAML files, the files they reference and the signature, checked and
  // loaded by the gateway (only one started with --policy-key accepts them).
  const bundleFiles = h('input', { type: 'file', id: 'bundle-files', multiple: true, accept: '.yaml,.yml,.sig,.pem,.crt', 'aria-label': 'Signed bundle files' });
  const deploy = h('button', { type: 'button', class: 'secondary', id: 'deploy-bundle' }, 'Deploy signed bundle');
  const base64 = (buffer) => {
    const bytes = new Uint8Array(buffer);
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  };
  deploy.addEventListener('click', async () => {
    if (bundleFiles.files.length === 0) { reloadResult.textContent = 'Choose the bundle\'s files first: the YAML files and bundle.sig.'; reloadResult.className = 'error'; return; }
    try {
      const files = await Promise.all([...bundleFiles.files].map(async (file) => ({ name: file.name, content: base64(await file.arrayBuffer()) })));
      await report(await api('/api/v1/policy/bundle', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ files }) }));
    } catch (error) { reloadResult.textContent = `Refused: ${error.message}`; reloadResult.className = 'error'; }
  });
  const upload = mayLint && policy.deployment.requiresSignature
    ? h('span', { class: 'upload' }, h('label', { for: 'bundle-files' }, 'Signed bundle:'), bundleFiles, deploy) : null;
  show(h('h1', {}, 'Policy'),
    h('div', { class: 'toolbar' }, inForce, h('span', { class: 'badge' }, policy.file),
      policy.deployment.requiresSignature ? h('span', { class: 'badge live' }, 'only signed bundles load')
        : h('span', { class: 'badge warn', title: 'serve --policy-key DPO.pub makes the gateway load only bundles signed with the DPO key' }, 'unsigned policies load'),
      reload, upload),
    reloadResult,
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
  // Compare the draft with the policy in force, and take it away to sign: the console never deploys a policy itself.
  const diffOutput = h('pre', { class: 'diff', id: 'policy-diff', hidden: true });
  const compare = h('button', { type: 'button', id: 'compare' }, 'Compare with the policy in force');
  const download = h('button', { type: 'button', class: 'secondary', id: 'download' }, 'Download draft');
  compare.addEventListener('click', async () => {
    try {
      const result = await api('/api/v1/policy/diff', { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: text() });
      diffOutput.hidden = false;
      diffOutput.replaceChildren(...(result.diff === null || result.diff === undefined
        ? [h('span', { class: 'error-text' }, 'The draft has errors: fix them (see Lint) to compare it.')]
        : result.diff.split('\n').map((line) => h('span', { class: /^\s*\+/.test(line) ? 'gained' : /^\s*-/.test(line) ? 'lost' : /^\s*~/.test(line) ? 'changed' : '' }, line + '\n'))));
    } catch (error) { showLintError(error); }
  });
  const testOutput = h('div', { id: 'policy-tests', hidden: true });
  const runTests = h('button', { type: 'button', class: 'secondary', id: 'run-tests' }, 'Run the policy tests');
  runTests.addEventListener('click', async () => {
    try {
      const run = await api('/api/v1/policy/test', { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: text() });
      testOutput.hidden = false;
      if (run.problem) { testOutput.replaceChildren(h('p', { class: 'error-text', id: 'tests-summary' }, run.problem)); return; }
      if (run.files.length === 0) { testOutput.replaceChildren(h('p', { class: 'muted', id: 'tests-summary' }, 'The policy folder holds no policy tests (YAML files starting with veilgate: policy-tests/v1).')); return; }
      const failed = run.cases.filter((c) => !c.passed);
      testOutput.replaceChildren(
        h('p', { id: 'tests-summary', class: failed.length ? 'error-text' : 'gained' }, `${run.cases.length - failed.length} of ${run.cases.length} policy tests pass (${run.files.join(', ')}).`),
        h('ul', { class: 'test-results' }, failed.map((c) => h('li', { 'data-test': c.name },
          h('b', {}, `${c.file}:${c.line} ${c.name}`), h('ul', {}, c.failures.map((f) => h('li', {}, f)))))));
    } catch (error) { showLintError(error); }
  });
  download.addEventListener('click', () => {
    const link = h('a', { href: URL.createObjectURL(new Blob([text()], { type: 'application/yaml' })), download: policy.file });
    document.body.append(link);
    link.click();
    link.remove();
  });
  document.querySelector('.diagnostics').append(
    h('div', { class: 'toolbar draft-actions' }, compare, runTests, download),
    h('p', { class: 'muted' }, policy.deployment.requiresSignature
      ? 'To deploy: download the draft, sign it with the DPO key on your own machine (veilgate policy sign FOLDER --key dpo.key), then choose the folder\'s YAML files and bundle.sig above and Deploy signed bundle. The gateway checks the signature, loads it, and keeps the policy in force if anything is wrong.'
      : 'To deploy: download the draft, put it in the policy folder, then Reload from disk. This gateway loads policies unsigned; start it with --policy-key to require the DPO\'s signature (and to deploy from this page).'),
    testOutput, diffOutput);
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

const pages = { cameras: camerasPage, alerts: alertsPage, counts: countsPage, zones: zonesPage, evidence: evidencePage, partners: partnersPage, policy: policyPage, record: recordPage, audit: auditPage };

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
