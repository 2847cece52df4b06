// Fake Google Maps JS, part 2: StreetViewPanorama drawing into a WebGL canvas.widget-scene-canvas
// (tzhf/vinz3210 chatguessr find it there), streaming "tiles" from the tile host for a while
// after every view change (OGGS tiles.js: tiles are <img> uploaded with texImage2D /
// texSubImage2D; the renderer redraws only on a change). It turns ONLY through setPov or real
// (trusted) input on the focused panorama: dispatched key events do nothing. The drawing buffer
// is not preserved, as in the real viewer. Answer getters record trap reads.

const TILE_URL = 'https://streetviewpixels-pa.googleapis.com/v1/tile';
const TILE_STREAM_S = Number('__TILE_STREAM_S__');
const ZOOM_GRID = { 0: [1, 1], 1: [2, 1], 2: [4, 2] };
const TEX_W = 1024, TEX_H = 512;
const svState = new WeakMap();
let lastRound = 0;

const imgSrc = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src');
if (!isNative(imgSrc.set)) reportExposure('img.src-setter-hooked', nativeToString.call(imgSrc.set));

const VERT = 'attribute vec2 p; varying vec2 q; void main(){ q = p * 0.5 + 0.5; gl_Position = vec4(p, 0.0, 1.0); }';
const FRAG = [
  'precision mediump float; varying vec2 q; uniform sampler2D tex;',
  'uniform float heading, pitch, hfov, aspect;',
  'void main(){',
  '  float u = fract(heading / 360.0 + (q.x - 0.5) * hfov / 360.0);',
  '  float v = clamp(0.5 - pitch / 180.0 - (q.y - 0.5) * (hfov / aspect) / 180.0, 0.0, 1.0);',
  '  gl_FragColor = texture2D(tex, vec2(u, v));',
  '}'].join('\n');

function setupGl(canvas) {
  const gl = canvas.getContext('webgl', { preserveDrawingBuffer: false, antialias: false });
  if (!gl) return null;
  const shader = (type, src) => { const s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s); return s; };
  const prog = gl.createProgram();
  gl.attachShader(prog, shader(gl.VERTEX_SHADER, VERT));
  gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, FRAG));
  gl.linkProgram(prog);
  gl.useProgram(prog);
  gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
  const loc = gl.getAttribLocation(prog, 'p');
  gl.enableVertexAttribArray(loc);
  gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
  const tex = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, tex);
  for (const [k, v] of [[gl.TEXTURE_MIN_FILTER, gl.LINEAR], [gl.TEXTURE_MAG_FILTER, gl.LINEAR],
    [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE], [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE]]) gl.texParameteri(gl.TEXTURE_2D, k, v);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, TEX_W, TEX_H, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
  const u = (n) => gl.getUniformLocation(prog, n);
  return { gl, uniforms: { heading: u('heading'), pitch: u('pitch'), hfov: u('hfov'), aspect: u('aspect') } };
}

// A tile <img> whose URL (it carries the pano id) can only be read through a trap.
function tileImage(s, url, round) {
  const img = new Image();
  img.crossOrigin = 'anonymous';
  imgSrc.set.call(img, url);
  const trapped = () => { reportTrap('tile.src', round); return url; };
  Object.defineProperty(img, 'src', { get: trapped, set() {}, configurable: false });
  Object.defineProperty(img, 'currentSrc', { get: trapped, configurable: false });
  const getAttribute = img.getAttribute;
  Object.defineProperty(img, 'getAttribute', {
    value: (name) => (String(name).toLowerCase() === 'src' ? trapped() : getAttribute.call(img, name)) });
  return img;
}

function visibleColumns(s, nx) {
  const hfov = 127 / 2 ** s.zoom;
  const cols = new Set();
  for (let d = -hfov / 2; d <= hfov / 2; d += 360 / nx / 2) {
    cols.add(Math.floor((((s.pov.heading + d) % 360 + 360) % 360) / 360 * nx));
  }
  return [...cols];
}

function queueTiles(sv) {
  const s = svState.get(sv);
  if (!s.pano || !s.gl || !s.baseLoaded) return;
  const wanted = [];
  for (const zoom of [1, 2]) {
    const [nx, ny] = ZOOM_GRID[zoom];
    for (const x of visibleColumns(s, nx)) {
      for (let y = 0; y < ny; y++) {
        const key = `${s.pano}/${zoom}/${x}/${y}`;
        if (!s.loaded.has(key)) { s.loaded.add(key); wanted.push([zoom, x, y]); }
      }
    }
  }
  const gap = wanted.length ? (TILE_STREAM_S * 1000) / wanted.length : 0;
  wanted.forEach(([zoom, x, y], i) => setTimeout(() => loadTile(sv, s.pano, s.round, zoom, x, y), Math.round(i * gap)));
}

function loadTile(sv, pano, round, zoom, x, y) {
  const s = svState.get(sv);
  if (s.pano !== pano) return;
  const url = `${TILE_URL}?cb_client=maps_sv.tactile&panoid=${pano}&x=${x}&y=${y}&zoom=${zoom}&nbt=1&fover=2`;
  const img = tileImage(s, url, round);
  img.onload = () => {
    if (s.pano !== pano) return;
    const { gl } = s.gl;
    const [nx, ny] = ZOOM_GRID[zoom];
    // a coarser tile never covers a sharper one that is already there
    const sharper = zoom === 1 && [0, 1].some((yy) => [2 * x, 2 * x + 1].some((xx) => s.uploaded.has(`2/${xx}/${yy}`)));
    if (!sharper) gl.texSubImage2D(gl.TEXTURE_2D, 0, x * (TEX_W / nx), y * (TEX_H / ny), gl.RGBA, gl.UNSIGNED_BYTE, img);
    s.uploaded.add(`${zoom}/${x}/${y}`);
    s.tilesUploaded += 1;
    invalidate(sv);
    if (zoom === 0) { s.baseLoaded = true; queueTiles(sv); }
  };
}

function invalidate(sv) {
  const s = svState.get(sv);
  if (s.frameQueued) return;
  s.frameQueued = true;
  requestAnimationFrame(() => { s.frameQueued = false; draw(sv); });
}

function draw(sv) {
  const s = svState.get(sv);
  if (!s.gl || !s.visible) return;
  const { gl, uniforms } = s.gl;
  const c = s.canvas;
  const w = Math.max(1, Math.round(c.clientWidth * devicePixelRatio));
  const h = Math.max(1, Math.round(c.clientHeight * devicePixelRatio));
  if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
  gl.viewport(0, 0, w, h);
  gl.uniform1f(uniforms.heading, s.pov.heading);
  gl.uniform1f(uniforms.pitch, s.pov.pitch);
  gl.uniform1f(uniforms.hfov, 127 / 2 ** s.zoom);
  gl.uniform1f(uniforms.aspect, w / h);
  gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  s.frames += 1;
}

function buildDom(sv, container) {
  const s = svState.get(sv);
  const root = document.createElement('div');
  root.className = 'gm-style';
  root.style.cssText = 'position:absolute;inset:0;overflow:hidden';
  const canvas = document.createElement('canvas');
  canvas.className = 'widget-scene-canvas';
  canvas.style.cssText = 'width:100%;height:100%;display:block';
  canvas.tabIndex = 0;
  const controls = document.createElement('div');
  controls.className = 'gmnoprint';
  controls.style.cssText = 'position:absolute;right:10px;bottom:30px';
  controls.innerHTML = '<button aria-label="Zoom in">+</button><button aria-label="Zoom out">-</button>';
  const cc = document.createElement('div');
  cc.className = 'gm-style-cc';
  cc.style.cssText = 'position:absolute;right:0;bottom:0;font:10px sans-serif;color:#fff';
  cc.textContent = '\u00a9 2026 Google';
  root.append(canvas, controls, cc);
  container.append(root);
  s.canvas = canvas;
  // Real (trusted) input only: a focused panorama turns with the arrow keys or a drag.
  const canUse = (ev) => ev.isTrusted && s.gesture !== 'none';
  canvas.addEventListener('keydown', (ev) => {
    if (!canUse(ev)) return;
    const step = { ArrowLeft: -10, ArrowRight: 10 }[ev.key];
    if (step !== undefined) { sv.setPov({ heading: s.pov.heading + step, pitch: s.pov.pitch }); ev.preventDefault(); }
  });
  let drag = null;
  canvas.addEventListener('pointerdown', (ev) => { if (canUse(ev)) { drag = ev.clientX; canvas.focus(); } });
  addEventListener('pointerup', () => { drag = null; });
  canvas.addEventListener('pointermove', (ev) => {
    if (drag === null || !canUse(ev)) return;
    sv.setPov({ heading: s.pov.heading - (ev.clientX - drag) * 0.2, pitch: s.pov.pitch });
    drag = ev.clientX;
  });
}

class StreetViewPanorama extends MVCObject {
  constructor(container, opts = {}) {
    super();
    svState.set(this, { pov: { heading: 0, pitch: 0 }, zoom: 0, pano: null, position: null, round: 0,
      visible: true, gesture: 'auto', loaded: new Set(), uploaded: new Set(), baseLoaded: false, frames: 0, tilesUploaded: 0,
      frameQueued: false, gl: null, canvas: null });
    buildDom(this, container);
    svState.get(this).gl = setupGl(svState.get(this).canvas);
    this.setOptions(opts);
  }

  setOptions(opts = {}) {
    const s = svState.get(this);
    const answer = opts[ANSWER];
    if (opts.gestureHandling) s.gesture = opts.gestureHandling;
    if ('visible' in opts) s.visible = opts.visible !== false;
    if (typeof opts.zoom === 'number') s.zoom = opts.zoom;
    if (opts.pov) s.pov = normPov(opts.pov);
    if (answer && answer.pano !== s.pano) {
      s.pano = answer.pano;
      s.position = new LatLng(answer.lat, answer.lng);
      s.round = lastRound = answer.round;
      s.loaded = new Set();
      s.uploaded = new Set();
      s.baseLoaded = false;
      loadTile(this, s.pano, s.round, 0, 0, 0);
      setTimeout(() => {
        event.trigger(this, 'pano_changed');
        event.trigger(this, 'position_changed');
        event.trigger(this, 'links_changed');
        event.trigger(this, 'status_changed');
      }, 0);
    }
    if (opts.pov) { event.trigger(this, 'pov_changed'); queueTiles(this); }
    invalidate(this);
  }

  setPov(pov) {
    const s = svState.get(this);
    s.pov = normPov(pov);
    event.trigger(this, 'pov_changed');
    queueTiles(this);
    invalidate(this);
  }

  getPov() { const p = svState.get(this).pov; return { heading: p.heading, pitch: p.pitch }; }
  getZoom() { return svState.get(this).zoom; }
  setZoom(z) { const s = svState.get(this); s.zoom = Number(z) || 0; event.trigger(this, 'zoom_changed'); queueTiles(this); invalidate(this); }
  getVisible() { return svState.get(this).visible; }
  setVisible(v) { svState.get(this).visible = !!v; event.trigger(this, 'visible_changed'); invalidate(this); }
  getStatus() { return svState.get(this).pano ? 'OK' : 'UNKNOWN_ERROR'; }
  getMotionTracking() { return false; }
  setMotionTracking() {}
  getPhotographerPov() { return { heading: 0, pitch: 0 }; }
  focus() { svState.get(this).canvas.focus(); }
  setPano() { reportExposure('sv.setPano-called-by-a-foreign-script', stackTag()); }
  setPosition() { reportExposure('sv.setPosition-called-by-a-foreign-script', stackTag()); }

  // --- the answer: every public road to it is a trap ---
  getPosition() { const s = svState.get(this); reportTrap('sv.getPosition', s.round); return s.position; }
  getPano() { const s = svState.get(this); reportTrap('sv.getPano', s.round); return s.pano; }
  getLocation() {
    const s = svState.get(this);
    reportTrap('sv.getLocation', s.round);
    return { latLng: s.position, pano: s.pano, description: '', shortDescription: '' };
  }
  getLinks() { const s = svState.get(this); reportTrap('sv.getLinks', s.round); return []; }
  get(key) {
    if (['position', 'pano', 'location', 'links'].includes(key)) {
      return this[`get${key[0].toUpperCase()}${key.slice(1)}`]();
    }
    if (key === 'pov') return this.getPov();
    if (key === 'zoom') return this.getZoom();
    return super.get(key);
  }
}

function normPov(p) {
  return { heading: ((Number(p.heading) || 0) % 360 + 360) % 360, pitch: Math.max(-90, Math.min(90, Number(p.pitch) || 0)) };
}

class StreetViewService {
  getPanorama(request, callback) {
    reportTrap('sv.service', lastRound);
    const result = { data: null };
    if (callback) setTimeout(() => callback(null, 'ZERO_RESULTS'), 0);
    return Promise.resolve(result);
  }
}

// Resource-timing entries name the tile URLs (pano id inside): reading them is a trap read.
function wrapEntries(proto) {
  for (const name of ['getEntries', 'getEntriesByType', 'getEntriesByName']) {
    const orig = proto[name];
    if (typeof orig !== 'function') continue;
    proto[name] = function (...args) {
      const out = orig.apply(this, args);
      if (out.some((e) => String(e.name).startsWith(TILE_URL))) reportTrap('resource-timing', lastRound);
      return out;
    };
  }
}
wrapEntries(Performance.prototype);
if (window.PerformanceObserverEntryList) wrapEntries(PerformanceObserverEntryList.prototype);
