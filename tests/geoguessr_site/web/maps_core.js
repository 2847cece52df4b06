// Fake Google Maps JS, part 1: the namespace, LatLng, events, MVCObject, and the trap reporter.
// Served from https://maps.googleapis.com/maps/api/js?... as ONE script (maps_core.js,
// street_view.js, guess_map.js and maps_boot.js concatenated inside one function), added by the
// page itself after its own scripts started, like the real loader. Classes are real ES classes
// so `class extends google.maps.StreetViewPanorama` hooks work (miraclewhips, chatguessr, OGGS).
// The page's answer reaches this code through ANSWER (a Symbol the app shares); every public way
// to the answer records a trap read.

const ANSWER = Symbol.for('geoguessr-mock.answer');
const PLANTING = Symbol.for('geoguessr-mock.planting');
const nativeToString = Function.prototype.toString;
const isNative = (fn) => typeof fn === 'function' && /\[native code\]/.test(nativeToString.call(fn));

function stackTag() {
  const lines = String(new Error().stack || '').split('\n').slice(1);
  const foreign = lines.filter((l) => !/maps\.googleapis\.com|www\.geoguessr\.com/.test(l));
  return (foreign.length ? foreign : lines).slice(0, 4).map((l) => l.trim()).join(' | ').slice(0, 400);
}

function reportTrap(trap, round) {
  const body = JSON.stringify({ trap, round, t: Date.now() / 1000, tag: stackTag(),
                                planted: !!window[PLANTING] });
  try { navigator.sendBeacon('/__mock/trap', new Blob([body], { type: 'text/plain' })); } catch (e) { /* page closing */ }
}

function reportExposure(what, detail) {
  const body = JSON.stringify({ what, detail: String(detail).slice(0, 300), t: Date.now() / 1000 });
  try { navigator.sendBeacon('/__mock/exposure', new Blob([body], { type: 'text/plain' })); } catch (e) { /* closing */ }
}

class LatLng {
  #lat; #lng;
  constructor(lat, lng) {
    if (lat && typeof lat === 'object') { lng = typeof lat.lng === 'function' ? lat.lng() : lat.lng; lat = typeof lat.lat === 'function' ? lat.lat() : lat.lat; }
    this.#lat = Math.max(-90, Math.min(90, Number(lat)));
    this.#lng = ((Number(lng) + 540) % 360) - 180;
  }
  lat() { return this.#lat; }
  lng() { return this.#lng; }
  toJSON() { return { lat: this.#lat, lng: this.#lng }; }
  toString() { return `(${this.#lat}, ${this.#lng})`; }
  equals(o) { return !!o && o.lat() === this.#lat && o.lng() === this.#lng; }
}

class LatLngBounds {
  constructor(sw, ne) { this.sw = sw ? new LatLng(sw) : null; this.ne = ne ? new LatLng(ne) : null; }
  getSouthWest() { return this.sw; }
  getNorthEast() { return this.ne; }
  extend(p) {
    const q = new LatLng(p);
    if (!this.sw) { this.sw = q; this.ne = q; return this; }
    this.sw = new LatLng(Math.min(this.sw.lat(), q.lat()), Math.min(this.sw.lng(), q.lng()));
    this.ne = new LatLng(Math.max(this.ne.lat(), q.lat()), Math.max(this.ne.lng(), q.lng()));
    return this;
  }
}

class Size { constructor(w, h) { this.width = w; this.height = h; } }
class Point { constructor(x, y) { this.x = x; this.y = y; } }

const listeners = new WeakMap();          // instance -> Map(event -> Set(fn))
function listenersOf(obj, name) {
  if (!listeners.has(obj)) listeners.set(obj, new Map());
  const m = listeners.get(obj);
  if (!m.has(name)) m.set(name, new Set());
  return m.get(name);
}

const event = {
  addListener(obj, name, fn) {
    listenersOf(obj, name).add(fn);
    return { remove: () => listenersOf(obj, name).delete(fn) };
  },
  addListenerOnce(obj, name, fn) {
    const h = event.addListener(obj, name, (...a) => { h.remove(); fn.apply(obj, a); });
    return h;
  },
  removeListener(handle) { if (handle && handle.remove) handle.remove(); },
  clearInstanceListeners(obj) { listeners.delete(obj); },
  clearListeners(obj, name) { listenersOf(obj, name).clear(); },
  trigger(obj, name, ...args) {
    for (const fn of [...listenersOf(obj, name)]) {
      try { fn.apply(obj, args); } catch (e) { setTimeout(() => { throw e; }); }
    }
  },
  addDomListener(el, name, fn) { el.addEventListener(name, fn); return { remove: () => el.removeEventListener(name, fn) }; },
};

class MVCObject {
  addListener(name, fn) { return event.addListener(this, name, fn); }
  notify(key) { event.trigger(this, `${key}_changed`); }
  get(key) { return this[`__mvc_${key}`]; }
  set(key, value) { this[`__mvc_${key}`] = value; this.notify(key); }
  setValues(values) { for (const [k, v] of Object.entries(values || {})) this.set(k, v); }
  bindTo() {}
  unbind() {}
}
