// A tiny fake of the page's JavaScript world for node --test: window, document (elements found
// by a selector table), postMessage, WebGL prototypes and a google.maps with trap getters, so
// that extension/page/main_hooks.js + main_actions.js run in a node `vm` context as they run
// in the page. Every read of an answer field is recorded in `traps`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import vm from 'node:vm';

const EXT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PAGE_SCRIPTS = ['page/main_hooks.js', 'page/main_actions.js'].map((f) => path.join(EXT, f));

export class FakeElement {
  constructor(tag, attrs = {}) {
    Object.assign(this, { tag, attrs: { ...attrs }, children: [], parent: null, disabled: false, clicks: 0 });
    this.width = attrs.width || 0;
    this.height = attrs.height || 0;
  }
  append(...els) { for (const e of els) { e.parent = this; this.children.push(e); } return this; }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  removeAttribute(k) { delete this.attrs[k]; }
  contains(o) { for (let e = o; e; e = e.parent) if (e === this) return true; return false; }
  get isConnected() { let e = this; while (e.parent) e = e.parent; return e.tag === 'html'; }
  click() { this.clicks += 1; if (this.onclick) this.onclick(); }
  // selector lookups use the world's table, restricted to descendants
  querySelector(sel) { return this.world.lookup(sel, this)[0] || null; }
  querySelectorAll(sel) { return this.world.lookup(sel, this); }
}

/** A page world. `table`: selector -> [elements]; traps: [{trap, t}] recorded by answer getters. */
export function makeWorld({ origin = 'https://www.geoguessr.com' } = {}) {
  const listeners = [];
  const traps = [];
  const table = new Map();
  const html = new FakeElement('html');
  const world = {
    traps, table, html,
    lookup(sel, scope) {
      const out = [];
      for (const part of sel.split(',').map((s) => s.trim())) {
        for (const el of table.get(part) || []) if ((!scope || scope.contains(el)) && !out.includes(el)) out.push(el);
      }
      return out;
    },
    el(tag, attrs = {}, ...selectors) {
      const e = new FakeElement(tag, attrs);
      e.world = world;
      for (const s of selectors) table.set(s, [...(table.get(s) || []), e]);
      return e;
    },
  };
  html.world = world;
  class Element {}
  Object.setPrototypeOf(FakeElement.prototype, Element.prototype);
  class WebGLRenderingContext {
    constructor(canvas) { this.canvas = canvas; }
    drawArrays() {}
    texSubImage2D() {}
    texImage2D() {}
  }
  class HTMLCanvasElement { getContext(type, attrs) { this.lastContext = { type, attrs }; return new WebGLRenderingContext(this); } }
  const win = {
    location: { origin, pathname: '/duels/abc' },
    document: { documentElement: html, querySelector: (s) => world.lookup(s, null)[0] || null, querySelectorAll: (s) => world.lookup(s, null) },
    performance: { now: () => Number(process.hrtime.bigint() / 1000n) / 1000 },
    crypto: globalThis.crypto,
    Element, WebGLRenderingContext, HTMLCanvasElement,
    MouseEvent: class MouseEvent { constructor(type) { this.type = type; } },
    OffscreenCanvas: class { constructor(w, h) { this.width = w; this.height = h; } },
    btoa: (s) => Buffer.from(s, 'binary').toString('base64'),
    // the page scripts poll forever: their intervals must not keep node --test alive
    setTimeout, clearTimeout, setInterval: (...a) => setInterval(...a).unref(), clearInterval, queueMicrotask, Promise, Date, Object, Array, Math, Number,
    String, JSON, Uint8Array, Error, Map, WeakMap, Set, WeakSet, Symbol, Reflect, Proxy,
    addEventListener(type, fn) { if (type === 'message') listeners.push(fn); },
    removeEventListener(type, fn) { const i = listeners.indexOf(fn); if (i >= 0) listeners.splice(i, 1); },
    postMessage(data, targetOrigin, { source, fromOrigin } = {}) {
      // the page sees its window as the context's global (a proxy of `win` inside the vm)
      const ev = { data: structuredClone(data), origin: fromOrigin || origin, source: source === undefined ? world.self : source };
      if (targetOrigin !== origin && targetOrigin !== '*') return;
      setTimeout(() => { for (const fn of [...listeners]) fn(ev); }, 0);
    },
  };
  win.window = win;
  world.win = win;
  world.context = vm.createContext(win);
  world.self = vm.runInContext('window', world.context);
  world.run = (file) => vm.runInContext(readFileSync(file, 'utf8'), world.context, { filename: file });
  world.trap = (obj, key, value, name) => Object.defineProperty(obj, key, {
    get() { traps.push(name || key); return value; }, enumerable: true, configurable: true });
  return world;
}

/** A google.maps fake with the answer behind trap getters (installed on world.win.google). */
export function installMaps(world) {
  const events = new Map();
  const event = {
    addListener(obj, name, fn) { const k = [obj, name]; events.set(k, fn); return { remove() { events.delete(k); } }; },
    trigger(obj, name, arg) { for (const [[o, n], fn] of events) if (o === obj && n === name) fn(arg); },
  };
  class LatLng { constructor(lat, lng) { this._lat = lat; this._lng = lng; } lat() { return this._lat; } lng() { return this._lng; } }
  class StreetViewPanorama {
    constructor(div, opts = {}) { this.div = div; this.pov = { heading: 0, pitch: 0 }; this.opts = opts; this.setOptions({}); }
    setOptions() {}
    setPov(p) { this.pov = { heading: p.heading, pitch: p.pitch }; if (this.onPov) this.onPov(p); }
    getPov() { return { ...this.pov }; }
    getPosition() { world.traps.push('sv.getPosition'); return null; }
    getPano() { world.traps.push('sv.getPano'); return 'pano'; }
    getLocation() { world.traps.push('sv.getLocation'); return null; }
    getLinks() { world.traps.push('sv.getLinks'); return []; }
  }
  class GMap {
    constructor(div) { this.div = div; }
    getDiv() { return this.div; }
    setCenter() {}
  }
  const maps = { event, LatLng, StreetViewPanorama, Map: GMap };
  world.win.google = { maps };
  return maps;
}

/** Send a bridge request as the isolated side would, resolve with the answer message. */
export function ask(world, nonce, type, args = {}, { id = Math.floor(Math.random() * 1e9), source, fromOrigin, timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to ${type}`)), timeoutMs);
    const on = (ev) => {
      const d = ev.data;
      if (d && d.dir === 'res' && d.id === id) { clearTimeout(t); world.win.removeEventListener('message', on); resolve(d); }
    };
    world.win.addEventListener('message', on);
    world.win.postMessage({ ch: 'pigeon-bot', n: nonce, dir: 'req', id, type, args }, world.win.location.origin, { source, fromOrigin });
  });
}
