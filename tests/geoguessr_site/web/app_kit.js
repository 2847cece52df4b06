// The mock site's page code, part 1: what every game page shares. Runs inside one function with
// BOOT (the server's per-page config) in scope; nothing is put on `window` except what the real
// site also exposes (React's own fiber keys, google.maps once loaded). The page keeps round
// answers in closures (ANSWERS); wherever the real page hands them to outside-visible objects
// (React context, props, Street View options) this page hands trapped getters instead.

const h = React.createElement;
const ANSWER_KEY = Symbol.for('geoguessr-mock.answer');
const PLANTING_KEY = Symbol.for('geoguessr-mock.planting');
const ANSWERS = new Map();                    // round number -> {lat, lng, pano, heading}
const fnSource = Function.prototype.toString;
const looksNative = (fn) => typeof fn === 'function' && /\[native code\]/.test(fnSource.call(fn));
const pageFetch = window.fetch;
const PageSocket = window.WebSocket;

function t(key, vars = {}) {
  const text = (BOOT.texts[key] ?? key);
  return text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

function beacon(path, payload) {
  try { navigator.sendBeacon(path, new Blob([JSON.stringify(payload)], { type: 'text/plain' })); } catch (e) { /* closing */ }
}

function pageTrap(trap, round) {
  const lines = String(new Error().stack || '').split('\n').slice(1);
  const foreign = lines.filter((l) => !/www\.geoguessr\.com|maps\.googleapis\.com/.test(l));
  beacon('/__mock/trap', { trap, round, t: Date.now() / 1000, planted: !!window[PLANTING_KEY],
    tag: (foreign.length ? foreign : lines).slice(0, 4).map((l) => l.trim()).join(' | ').slice(0, 400) });
}

function exposure(what, detail) { beacon('/__mock/exposure', { what, detail: String(detail).slice(0, 300), t: Date.now() / 1000 }); }

// The page's own requests carry its per-load marker, so the server can tell them from others.
async function ownFetch(url, init = {}) {
  if (!looksNative(window.fetch) || window.fetch !== pageFetch) exposure('fetch-replaced', url);
  const headers = { ...(init.headers || {}), 'x-mock-own': BOOT.nonce };
  if (init.body && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
  return pageFetch.call(window, url, { credentials: 'include', ...init, headers });
}

async function ownJson(url, init) {
  const res = await ownFetch(url, init);
  if (!res.ok) throw new Error(`${init && init.method || 'GET'} ${url}: HTTP ${res.status}`);
  return res.status === 204 ? null : res.json();
}

function openSocket(url) {
  if (!looksNative(window.WebSocket) || window.WebSocket !== PageSocket) exposure('websocket-replaced', url);
  const ws = new PageSocket(url);
  let ours = null;
  const add = ws.addEventListener.bind(ws);
  Object.defineProperty(ws, 'addEventListener', { value(type, fn, opts) {
    if (type === 'message' && ours) exposure('foreign-listener-on-game-socket', url);
    if (type === 'message' && !ours) ours = fn;
    return add(type, fn, opts);
  } });
  Object.defineProperty(ws, 'onmessage', { set() { exposure('foreign-onmessage-on-game-socket', url); }, get() { return null; } });
  return ws;
}

// An answer-shaped object whose every field records a read.
function trappedPlace(trap, round) {
  const a = ANSWERS.get(round) || {};
  const out = {};
  for (const [key, value] of [['panoId', a.pano], ['lat', a.lat], ['lng', a.lng], ['heading', a.heading],
    ['pitch', 0], ['zoom', 0], ['countryCode', '']]) {
    Object.defineProperty(out, key, { enumerable: true, get() { pageTrap(trap, round); return value; } });
  }
  return out;
}

let mapsPromise = null;
let liveSv = null;                            // the page's panorama (for planted reads only)
// The page adds the Maps script itself, after its own scripts have started (a hook must catch
// a late `google`): `https://maps.googleapis.com/maps/api/js?...`, ready on its load event.
function loadMaps() {
  if (!mapsPromise) {
    mapsPromise = new Promise((resolve) => {
      const s = document.createElement('script');
      s.src = `https://maps.googleapis.com/maps/api/js?key=mock-key&v=weekly&language=${BOOT.lang}&region=SE`;
      s.async = true;
      s.onload = () => resolve(window.google.maps);
      document.head.append(s);
    });
  }
  return mapsPromise;
}

function useMaps() {
  const [maps, setMaps] = React.useState(null);
  React.useEffect(() => { loadMaps().then(setMaps); }, []);
  return maps;
}

// The site's view telemetry (like gs2 LiveStreamSamples PanoPov / PanoZoom); `by` says whether
// the page itself set the view (a round's start view, the compass button) or something else did.
let pageSettingPov = false;
function sendPov(round, sv) {
  const pov = sv.getPov();
  beacon('/__mock/pov', { round, heading: pov.heading, pitch: pov.pitch, zoom: sv.getZoom(), t: Date.now() / 1000,
    by: pageSettingPov ? 'page' : 'other' });
}
function pageSetsPov(fn) { pageSettingPov = true; try { fn(); } finally { pageSettingPov = false; } }

function StreetView({ maps, round, nmpz, onHeading, className }) {
  const box = React.useRef(null);
  const sv = React.useRef(null);
  const roundRef = React.useRef(round);
  roundRef.current = round;
  React.useEffect(() => {
    if (!maps || sv.current) return;
    const opts = { disableDefaultUI: true, showRoadLabels: false, clickToGo: !nmpz, linksControl: false,
      gestureHandling: nmpz ? 'none' : 'greedy', motionTracking: false };
    sv.current = new maps.StreetViewPanorama(box.current, opts);
    liveSv = sv.current;
    maps.event.addListener(sv.current, 'pov_changed', () => {
      sendPov(roundRef.current, sv.current);
      if (onHeading) onHeading(sv.current.getPov().heading);
    });
  }, [maps]);
  React.useEffect(() => {
    const a = ANSWERS.get(round);
    if (!sv.current || !a) return;
    const opts = { [ANSWER_KEY]: { pano: a.pano, lat: a.lat, lng: a.lng, round },
      pov: { heading: a.heading, pitch: 0 }, zoom: 0 };
    for (const key of ['pano', 'position']) {
      Object.defineProperty(opts, key, { enumerable: true, get() { pageTrap('sv.options', round); return key === 'pano' ? a.pano : { lat: a.lat, lng: a.lng }; } });
    }
    pageSetsPov(() => sv.current.setOptions(opts));
  }, [maps, round]);
  return h('div', { ref: box, className, style: { position: 'absolute', inset: 0 } });
}

function GuessMap({ maps, onPin, pin, disabled, onGuess, guessLabel }) {
  const box = React.useRef(null);
  const map = React.useRef(null);
  const marker = React.useRef(null);
  const onPinRef = React.useRef(onPin);
  onPinRef.current = onPin;
  React.useEffect(() => {
    if (!maps || map.current) return;
    map.current = new maps.Map(box.current, { center: { lat: 20, lng: 0 }, zoom: 0, disableDefaultUI: true,
      clickableIcons: false, backgroundColor: '#a9c8e8' });
    maps.event.addListener(map.current, 'click', (e) => onPinRef.current({ lat: e.latLng.lat(), lng: e.latLng.lng() }));
  }, [maps]);
  React.useEffect(() => {
    if (!map.current) return;
    if (!pin) { if (marker.current) marker.current.setMap(null); marker.current = null; return; }
    if (!marker.current) marker.current = new maps.Marker({ map: map.current });
    marker.current.setPosition(pin);
  }, [pin, maps]);
  return h('div', { className: 'guess-map_guessMap__QlC3z', 'data-qa': 'guess-map' },
    h('div', { style: { position: 'relative', flex: 1 } },
      h('div', { className: 'guess-map_canvas__cvpqv', ref: box })),
    h('div', null,
      h('button', { className: 'button_button__aR6_e button_variantPrimary__u3WzI guess-map_guessButton__Jfo5S',
        'data-qa': 'perform-guess', disabled: disabled || !pin, onClick: onGuess },
        h('div', { className: 'button_wrapper__NkcHZ' }, h('span', null, pin ? guessLabel : t('placePin'))))));
}

function StripCompass({ heading }) {
  return h('div', { className: 'panorama-compass_compassContainer__VAYam' },
    h('div', { className: 'panorama-compass_compass__eUgKD' },
      h('div', { className: 'panorama-compass_latitude___jexD',
        style: { transform: `translateX(${-((heading || 0) / 360) * 400}px)` } }, 'N  E  S  W  N')));
}

// Planted reads: the page itself reads a trap through its public surface, marked as planted.
async function plantReads(round, read) {
  let names = [];
  try { names = (await ownJson(`/__mock/plant?round=${round}`)).plant || []; } catch (e) { return; }
  for (const name of names) {
    window[PLANTING_KEY] = true;
    try { await read(name); } catch (e) { /* a missing surface is not an error */ } finally { window[PLANTING_KEY] = false; }
  }
}

function plantServerRead(url) { return pageFetch.call(window, url, { credentials: 'include', headers: { 'x-mock-planted': '1' } }); }
