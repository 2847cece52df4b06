// pigeon-bot in the page's own JavaScript world, part 1 of 2: hooks installed at
// document_start, before any page script runs (manifest: "world": "MAIN").
//
// What it touches, and nothing else:
// - google.maps.StreetViewPanorama and google.maps.Map, even when `google` arrives late: the
//   instances are remembered (a constructor subclass, and harmless prototype calls as a
//   fallback for an instance made before the hook) with the element each was built in;
//   Street View events are used as signals, never their values;
// - WebGL draw calls and texture uploads are COUNTED per canvas, to know when the view has
//   settled; their arguments (tile images, whose URL carries the pano id) are never read;
// - canvas.getContext asks WebGL contexts to keep their drawing buffer
//   (preserveDrawingBuffer), so the panorama canvas reads back the frame on screen.
// Never called: getPosition, getPano, getLocation, getLinks, StreetViewService; never read:
// tile URLs, resource timings, the constructor's pano/position options.
//
// A per-page nonce for the postMessage bridge is shared with the isolated content script
// through an attribute that the second of the two to run removes at once (both run before
// any page script). Part 2 (main_actions.js) takes this API over from a property that it
// deletes at once, so the page never sees either.
(() => {
  'use strict';
  const W = window;
  const NONCE_ATTR = 'data-pigeon-bot-nonce';
  const HANDOFF = '__pigeonBotMainHooks';
  const now = () => W.performance.now();
  const MAX_KEPT = 8;

  function randomHex(bytes) {
    const a = new Uint8Array(bytes);
    W.crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // ---- the nonce: whichever side runs second takes it and removes the attribute
  const root = W.document.documentElement;
  let nonce = root ? root.getAttribute(NONCE_ATTR) : null;
  if (nonce) root.removeAttribute(NONCE_ATTR);
  else {
    nonce = randomHex(16);
    if (root) root.setAttribute(NONCE_ATTR, nonce);
  }

  // ---- what was found
  const found = {
    googleMaps: false, streetViewHook: null, mapHook: null, webglHook: false, preserveBuffer: false,
  };
  const panos = [];            // [{pano, div, t}] newest last
  const maps = [];             // [{map, div, t}]
  const signals = { panoChanges: 0, lastPanoChange: 0 };
  const counters = new WeakMap();   // canvas -> {frames, uploads, last}
  const drawWaiters = new Map();    // canvas -> callbacks run right after its next draw call (microtask)
  const known = new WeakSet();      // instances already remembered

  function remember(list, obj, div, via, kind) {
    if (known.has(obj)) {   // seen through a prototype call first (the constructor calls setOptions)
      const e = list.find((x) => x.obj === obj);
      if (e && div && !e.div) e.div = div;
      if (e && via === 'constructor') e.via = via;
      if (via === 'constructor') found[kind === 'pano' ? 'streetViewHook' : 'mapHook'] = via;
      return;
    }
    known.add(obj);
    list.push({ obj, div: div || null, t: now(), via });
    if (list.length > MAX_KEPT) list.shift();
    const slot = kind === 'pano' ? 'streetViewHook' : 'mapHook';
    if (via === 'constructor' || !found[slot]) found[slot] = via;
    if (kind === 'pano') {
      try {   // a new panorama shown: a signal only (the value is the answer's id, never read)
        W.google.maps.event.addListener(obj, 'pano_changed', () => { signals.panoChanges += 1; signals.lastPanoChange = now(); });
      } catch { /* no event API: the signal is optional */ }
    }
  }

  const isElement = (x) => typeof W.Element === 'function' && x instanceof W.Element;

  // Subclass a google.maps class so that every new instance is remembered, and wrap a few
  // harmless methods the page calls on its instances anyway (for one made before the hook).
  const hookedClasses = new WeakSet();
  const PROTO_CALLS = {
    StreetViewPanorama: ['setPov', 'getPov', 'setZoom', 'setOptions', 'setVisible', 'setMotionTracking'],
    Map: ['setOptions', 'setCenter', 'setZoom', 'fitBounds', 'panTo', 'getDiv'],
  };
  function hookClass(gm, name, list, kind) {
    const Orig = gm[name];
    if (typeof Orig !== 'function' || hookedClasses.has(Orig)) return hookedClasses.has(Orig);
    const proto = Orig.prototype;
    for (const m of PROTO_CALLS[name]) {
      const orig = proto && proto[m];
      if (typeof orig !== 'function') continue;
      proto[m] = function pigeonSeen(...args) {
        if (this instanceof Orig) remember(list, this, null, 'prototype', kind);
        return orig.apply(this, args);
      };
    }
    const Hooked = class extends Orig {
      constructor(...args) {
        super(...args);
        remember(list, this, isElement(args[0]) ? args[0] : null, 'constructor', kind);
      }
    };
    try { Object.defineProperty(Hooked, 'name', { value: Orig.name }); } catch { /* cosmetic */ }
    hookedClasses.add(Orig);
    hookedClasses.add(Hooked);
    try { gm[name] = Hooked; } catch { /* read-only: the prototype calls still find instances */ }
    return true;
  }

  // See an assignment the moment it happens: window.google, then google.maps, then the two
  // classes. One-shot accessors: the first assignment turns the property back into a plain
  // value (and hooks it) before the page's next statement runs.
  function onAssign(obj, key, then) {
    let d;
    try { d = Object.getOwnPropertyDescriptor(obj, key); } catch { return; }
    if (d && 'value' in d && d.value !== undefined) { then(d.value); return; }
    if (d && !d.configurable) return;
    try {
      Object.defineProperty(obj, key, {
        configurable: true, enumerable: true, get() { return undefined; },
        set(v) {
          Object.defineProperty(obj, key, { value: v, writable: true, configurable: true, enumerable: true });
          try { then(v); } catch { /* a hook failed: the polling below tries again */ }
        },
      });
    } catch { /* not configurable: polling only */ }
  }
  onAssign(W, 'google', (g) => {
    if (!g || typeof g !== 'object') return;
    onAssign(g, 'maps', (gm) => {
      if (!gm || typeof gm !== 'object') return;
      found.googleMaps = true;
      onAssign(gm, 'StreetViewPanorama', () => hookClass(gm, 'StreetViewPanorama', panos, 'pano'));
      onAssign(gm, 'Map', () => hookClass(gm, 'Map', maps, 'map'));
    });
  });

  function tryHookMaps() {
    let gm = null;
    try { gm = W.google && W.google.maps; } catch { gm = null; }
    if (!gm) return false;
    found.googleMaps = true;
    const a = hookClass(gm, 'StreetViewPanorama', panos, 'pano');
    const b = hookClass(gm, 'Map', maps, 'map');
    return a && b;
  }
  // `google` comes late (the page adds the Maps script after its own start): look often until
  // both classes are hooked, then now and then (a reloaded Maps API brings new classes)
  let fast = setInterval(() => { if (tryHookMaps()) { clearInterval(fast); fast = null; } }, 10);
  setInterval(tryHookMaps, 500);
  tryHookMaps();

  // ---- WebGL: count draws and uploads per canvas; keep the drawing buffer
  function note(ctx, kind) {
    let canvas;
    try { canvas = ctx.canvas; } catch { return; }
    if (!canvas) return;
    let c = counters.get(canvas);
    if (!c) { c = { frames: 0, uploads: 0, last: 0 }; counters.set(canvas, c); }
    c[kind] += 1;
    c.last = now();
    const waiting = kind === 'frames' && drawWaiters.get(canvas);
    if (waiting) {   // after this task's draw calls, the frame is complete in the buffer
      drawWaiters.delete(canvas);
      queueMicrotask(() => { for (const fn of waiting) fn(); });
    }
  }
  const DRAWS = ['drawArrays', 'drawElements', 'drawArraysInstanced', 'drawElementsInstanced', 'drawRangeElements'];
  const UPLOADS = ['texImage2D', 'texSubImage2D', 'compressedTexImage2D', 'compressedTexSubImage2D', 'texImage3D', 'texSubImage3D'];
  for (const C of [W.WebGLRenderingContext, W.WebGL2RenderingContext]) {
    const P = C && C.prototype;
    if (!P) continue;
    for (const [names, kind] of [[DRAWS, 'frames'], [UPLOADS, 'uploads']]) {
      for (const m of names) {
        const orig = P[m];
        if (typeof orig !== 'function') continue;
        P[m] = function pigeonCount(...args) { note(this, kind); return orig.apply(this, args); };
        found.webglHook = true;
      }
    }
  }
  const CP = W.HTMLCanvasElement && W.HTMLCanvasElement.prototype;
  if (CP && typeof CP.getContext === 'function') {
    const getContext = CP.getContext;
    CP.getContext = function pigeonContext(type, attrs, ...rest) {
      if (/^(webgl2?|experimental-webgl)$/.test(String(type))) {
        attrs = Object.assign({}, attrs, { preserveDrawingBuffer: true });
        found.preserveBuffer = true;
      }
      return getContext.call(this, type, attrs, ...rest);
    };
  }

  // ---- the API part 2 takes over
  const divOf = (e, canAsk) => {
    if (e.div || !canAsk) return e.div;
    try { return e.obj.getDiv(); } catch { return null; }   // Map.getDiv: the container element
  };
  /** The newest instance still on the page (or with no known element), as {obj, div, via, t}. */
  const newest = (list, canAsk) => {
    for (let i = list.length - 1; i >= 0; i -= 1) {
      const div = divOf(list[i], canAsk);
      if (!div || div.isConnected) return { ...list[i], div };
    }
    return null;
  };
  const api = {
    nonce,
    found,
    signals,
    google: () => W.google.maps,
    panorama: () => newest(panos, false),
    maps: () => maps.map((e) => ({ ...e, div: divOf(e, true) })),
    counters: (canvas) => counters.get(canvas) || { frames: 0, uploads: 0, last: 0 },
    afterNextDraw: (canvas, fn) => {
      const list = drawWaiters.get(canvas) || [];
      list.push(fn);
      drawWaiters.set(canvas, list);
      return () => { const l = drawWaiters.get(canvas); if (l && l.includes(fn)) l.splice(l.indexOf(fn), 1); };
    },
  };
  Object.defineProperty(W, HANDOFF, { value: api, configurable: true, enumerable: false, writable: false });
})();
