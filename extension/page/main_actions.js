// pigeon-bot in the page's own JavaScript world, part 2 of 2: the bridge to the isolated
// content script and what it may ask for. Loaded right after main_hooks.js (document_start).
//
// Bridge: window.postMessage with {ch: 'pigeon-bot', n: <per-page nonce>, dir, id, type, ...};
// a request counts only from this window, this origin, with the nonce and arguments that pass
// the type's checks. The isolated side checks every answer the same way: the page shares this
// JavaScript world and could forge them.
//
// What it may do (and all it does):
//   configure {selectors}        the hooks' selectors (they live in sites/geoguessr/selectors.js)
//   state                        answer-free round state: the duels React context's status,
//                                isPaused, isRated, round number / startTime / timeout flag,
//                                whether we guessed; which hooks were found
//   turn {heading, pitch, ...}   setPov (heading null: no turn), then wait until no frame and no
//                                tile upload for a quiet window (or a cap); answers getPov's heading
//   grab {maxWidth, quality}     the Street View canvas as a JPEG data URL (no HUD in it)
//   placeDuels {lat, lng}        the page's own onPlacedPin({lat, lng}), then onGuess()
//   placeMap {lat, lng}          a click on the hooked guess map at LatLng(lat, lng), then the
//                                guess button once the page enables it
// Never read: currentRound.panorama, gameState.rounds (nor any spread/clone/JSON of the
// objects that hold them), the panorama's position/pano/location/links, tile URLs.
(() => {
  'use strict';
  const W = window;
  const HANDOFF = '__pigeonBotMainHooks';
  const hooks = W[HANDOFF];
  if (!hooks) return;
  delete W[HANDOFF];
  const CH = 'pigeon-bot';
  const post = W.postMessage.bind(W);
  const origin = W.location.origin;
  const { OffscreenCanvas: Offscreen, MouseEvent: Mouse, btoa: toBase64 } = W;
  const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const now = () => W.performance.now();
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const cfg = { panorama: [], sceneCanvas: [], guessMap: [], performGuess: [], reactRoot: ['#__next'] };

  function q(sels, scope = W.document) {
    for (const s of sels) {
      try { const el = scope.querySelector(s); if (el) return el; } catch { /* a bad selector: next */ }
    }
    return null;
  }

  // ---- the duels React context (found by walking the fiber tree from the React root)
  function fiberRoots() {
    const out = [];
    for (const sel of cfg.reactRoot) {
      const el = q([sel]);
      if (!el) continue;
      for (const k of Object.keys(el)) {   // React's expando on its container element
        if (k.startsWith('__reactContainer$')) {
          const f = el[k];
          out.push((f && f.stateNode && f.stateNode.current) || f);   // the current HostRoot fiber
        } else if (k === '_reactRootContainer') {
          const r = el[k] && el[k]._internalRoot;
          if (r && r.current) out.push(r.current);
        }
      }
    }
    return out;
  }
  const isObj = (x) => x !== null && typeof x === 'object';
  const isDuelsContext = (v) => isObj(v) && typeof v.onGuess === 'function' && isObj(v.gameState);

  function findContext() {
    for (const start of fiberRoots()) {
      const stack = [start];
      for (let n = 0; stack.length && n < 50000; n += 1) {
        const f = stack.pop();
        if (!isObj(f)) continue;
        let d = isObj(f.dependencies) ? f.dependencies.firstContext : null;
        for (let k = 0; isObj(d) && k < 64; k += 1, d = d.next) {
          if (isDuelsContext(d.memoizedValue)) return d.memoizedValue;
        }
        if (f.sibling) stack.push(f.sibling);
        if (f.child) stack.push(f.child);
      }
    }
    return null;
  }

  const text = (v, max = 64) => (typeof v === 'string' ? v.slice(0, max) : null);
  const flag = (v) => (v === true ? true : v === false ? false : null);
  function timeMs(v) {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    return Number.isFinite(t) ? t : null;
  }
  /** Only the answer-free fields, one by one (no spread, no clone: those would read every getter). */
  function readContext(v) {
    const g = v.gameState;
    const o = isObj(g.options) ? g.options : {};
    const mo = isObj(o.movementOptions) ? o.movementOptions : (isObj(g.movementOptions) ? g.movementOptions : {});
    const c = isObj(g.context) ? g.context : {};
    const r = isObj(v.currentRound) ? v.currentRound : {};
    const n = r.roundNumber;
    return {
      gameId: text(g.gameId), status: text(g.status), isPaused: g.isPaused === true, isRated: flag(o.isRated),
      competitive: text(o.competitiveGameMode), teamDuels: o.isTeamDuels === true, contextType: text(c.type),
      forbidMoving: flag(mo.forbidMoving), forbidZooming: flag(mo.forbidZooming), forbidRotating: flag(mo.forbidRotating),
      roundNumber: Number.isInteger(n) && n > 0 && n < 1000 ? n : null, startMs: timeMs(r.startTime),
      timedOut: r.hasProcessedRoundTimeout === true, guessed: v.currentPlayerHasGuessed === true,
      guessing: v.isGuessing === true, canPin: typeof v.onPlacedPin === 'function',
    };
  }

  // ---- Street View: its canvas, turning, settling, reading it back
  function sceneCanvas() {
    const p = hooks.panorama();
    const scope = (p && p.div && p.div.isConnected && p.div) || q(cfg.panorama);
    if (!scope) return null;
    const c = q(cfg.sceneCanvas, scope);
    if (c) return c;
    let best = null;   // else the largest canvas in the panorama (chatguessr does the same)
    for (const x of scope.querySelectorAll('canvas')) if (!best || x.width * x.height > best.width * best.height) best = x;
    return best;
  }

  function settle(canvas, before, t0, quietMs, capMs) {
    return new Promise((resolve) => {
      const tick = () => {
        const c = canvas ? hooks.counters(canvas) : null;
        const t = now();
        if (!c || c.frames === 0) {   // nothing counted on this canvas, ever: a fixed wait
          if (t - t0 >= quietMs + 50) { resolve('fixed'); return; }
        } else if (c.frames > before.frames && t - c.last >= quietMs) { resolve('quiet'); return; }
        if (t - t0 >= capMs) { resolve('cap'); return; }
        setTimeout(tick, 8);
      };
      tick();
    });
  }

  const finite = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

  async function turn({ heading, pitch, quietMs, capMs }) {
    const p = hooks.panorama();
    if (!p) throw new Error('no Street View panorama was hooked');
    const canvas = sceneCanvas();
    const before = { ...hooks.counters(canvas) };
    const t0 = now();
    if (heading !== null) p.obj.setPov({ heading, pitch });   // null: stay (no-move games), just settle
    const settled = await settle(canvas, before, t0, quietMs, capMs);
    const after = hooks.counters(canvas);
    const pov = p.obj.getPov() || {};
    return { heading: finite(pov.heading), pitch: finite(pov.pitch), settled, waitedMs: Math.round(now() - t0),
      frames: after.frames - before.frames, uploads: after.uploads - before.uploads };
  }

  async function grab({ maxWidth, quality, afterDraw }) {
    const canvas = sceneCanvas();
    if (!canvas) return { dataUrl: null, reason: 'no Street View canvas on the page' };
    if (!canvas.width || !canvas.height) return { dataUrl: null, reason: 'the Street View canvas has no size' };
    const scale = Math.min(1, maxWidth / canvas.width);
    const w = Math.max(1, Math.round(canvas.width * scale));
    const h = Math.max(1, Math.round(canvas.height * scale));
    const off = new Offscreen(w, h);
    const ctx = off.getContext('2d');
    let drew = false;
    if (afterDraw) {   // read right after the next frame, while its buffer is still there
      drew = await new Promise((resolve) => {
        const cancel = hooks.afterNextDraw(canvas, () => { ctx.drawImage(canvas, 0, 0, w, h); resolve(true); });
        setTimeout(() => { cancel(); resolve(false); }, 600);
      });
    }
    if (!drew) ctx.drawImage(canvas, 0, 0, w, h);
    const bytes = new Uint8Array(await (await off.convertToBlob({ type: 'image/jpeg', quality })).arrayBuffer());
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return { dataUrl: `data:image/jpeg;base64,${toBase64(bin)}`, width: w, height: h, afterDraw: drew };
  }

  // ---- guesses through the page's own mechanism
  async function placeDuels({ lat, lng }) {
    const v = findContext();
    if (!v) throw new Error('the duels game context was not found');
    if (typeof v.onPlacedPin !== 'function') throw new Error('the duels context has no onPlacedPin');
    await v.onPlacedPin({ lat, lng });
    // the page re-renders with the pin; its fresh onGuess submits that pin
    let fresh = v;
    for (const t0 = now(); now() - t0 < 1500;) {
      await sleep(25);
      const c = findContext();
      if (c && c !== v) { fresh = c; break; }
    }
    await fresh.onGuess();
    return { rerendered: fresh !== v };
  }

  function guessMapInstance() {
    const el = q(cfg.guessMap);
    if (!el) return { el: null, map: null };
    const hit = hooks.maps().filter((e) => e.div && e.div.isConnected && (el.contains(e.div) || e.div.contains(el))).pop();
    return { el, map: hit ? hit.obj : null };
  }

  async function placeMap({ lat, lng, buttonTimeoutMs }) {
    const { el, map } = guessMapInstance();
    if (!el) throw new Error('no guess map on the page');
    if (!map) throw new Error('the guess map is on the page but its google.maps.Map was not hooked');
    const gm = hooks.google();
    gm.event.trigger(map, 'click', { latLng: new gm.LatLng(lat, lng), domEvent: new Mouse('click'), pixel: null, stop() {} });
    // the page enables its guess button once its pin is on the map
    for (const t0 = now(); now() - t0 < buttonTimeoutMs; await sleep(20)) {
      const b = q(cfg.performGuess);
      if (b && !b.disabled) { b.click(); return { clicked: true }; }
    }
    throw new Error('the guess button did not become enabled after the pin was placed');
  }

  function state() {
    const canvas = sceneCanvas();
    const c = hooks.counters(canvas);
    const v = findContext();
    const { el, map } = guessMapInstance();
    return {
      hooks: { ...hooks.found }, panorama: Boolean(hooks.panorama()), sceneCanvas: Boolean(canvas),
      frames: c.frames, uploads: c.uploads, panoChanges: hooks.signals.panoChanges,
      guessMap: Boolean(el), guessMapHooked: Boolean(map), context: v ? readContext(v) : null,
    };
  }

  // ---- argument checks (the request passed the nonce, but stay strict)
  const num = (v, lo, hi, name) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new Error(`${name} must be a number in [${lo}, ${hi}]`);
    return v;
  };
  const latlng = (a) => ({ lat: num(a.lat, -90, 90, 'lat'), lng: num(a.lng, -180, 180, 'lng') });
  function selectorList(v, name) {
    if (!Array.isArray(v) || v.length > 24 || !v.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 200)) {
      throw new Error(`${name} must be a list of at most 24 selectors`);
    }
    return v.slice();
  }
  const HANDLERS = {
    configure: (a) => {
      for (const k of Object.keys(cfg)) if (hasOwn(a.selectors || {}, k)) cfg[k] = selectorList(a.selectors[k], k);
      return { ok: true };
    },
    state: () => state(),
    turn: (a) => turn({ heading: a.heading === null ? null : num(a.heading, 0, 360, 'heading'), pitch: num(a.pitch, -90, 90, 'pitch'),
      quietMs: num(a.quietMs, 0, 5000, 'quietMs'), capMs: num(a.capMs, 0, 10000, 'capMs') }),
    grab: (a) => grab({ maxWidth: num(a.maxWidth, 64, 4096, 'maxWidth'), quality: num(a.quality, 0.3, 1, 'quality'),
      afterDraw: a.afterDraw === true }),
    placeDuels: (a) => placeDuels(latlng(a)),
    placeMap: (a) => placeMap({ ...latlng(a), buttonTimeoutMs: num(a.buttonTimeoutMs, 0, 10000, 'buttonTimeoutMs') }),
  };

  W.addEventListener('message', (ev) => {
    if (ev.source !== W || ev.origin !== origin) return;
    const d = ev.data;
    if (!isObj(d) || d.ch !== CH || d.n !== hooks.nonce || d.dir !== 'req') return;
    if (!Number.isInteger(d.id) || typeof d.type !== 'string' || !hasOwn(HANDLERS, d.type)) return;
    const reply = (ok, payload) => post({ ch: CH, n: hooks.nonce, dir: 'res', id: d.id, type: d.type, ok,
      ...(ok ? { value: payload } : { error: String(payload).slice(0, 300) }) }, origin);
    Promise.resolve()
      .then(() => HANDLERS[d.type](isObj(d.args) ? d.args : {}))
      .then((value) => reply(true, value), (err) => reply(false, err && err.message ? err.message : err));
  });
})();
