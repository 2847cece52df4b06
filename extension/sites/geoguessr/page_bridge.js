// The isolated content script's end of the bridge to the main-world script
// (extension/page/main_actions.js): requests over window.postMessage with the per-page nonce,
// answers accepted only from this window and origin, with the nonce, for a request we made,
// and only when they pass their type's checks below (the main world shares its JavaScript
// with the page: whatever comes back is untrusted data). The checks are pure (node --test).

export const CHANNEL = 'pigeon-bot';
const MAX_DATA_URL = 8 * 1024 * 1024;
const JPEG_URL = /^data:image\/jpeg;base64,[A-Za-z0-9+/]+=*$/;

export class BridgeError extends Error {}

const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
function must(cond, what) { if (!cond) throw new BridgeError(`the page sent a bad answer: ${what}`); }
const isBool = (v) => typeof v === 'boolean';
const isNum = (v, lo = -Infinity, hi = Infinity) => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;
const isNumOrNull = (v, lo, hi) => v === null || isNum(v, lo, hi);
const isText = (v, max = 64) => typeof v === 'string' && v.length <= max;
const isTextOrNull = (v, max) => v === null || isText(v, max);
const isFlag = (v) => v === null || isBool(v);

function checkContext(c) {
  must(isObj(c), 'context is not an object');
  must(isTextOrNull(c.gameId) && (c.gameId === null || /^[A-Za-z0-9_-]{1,64}$/.test(c.gameId)), 'context.gameId');
  for (const k of ['status', 'competitive', 'contextType']) must(isTextOrNull(c[k]), `context.${k}`);
  for (const k of ['isPaused', 'teamDuels', 'timedOut', 'guessed', 'guessing', 'canPin']) must(isBool(c[k]), `context.${k}`);
  for (const k of ['isRated', 'forbidMoving', 'forbidZooming', 'forbidRotating']) must(isFlag(c[k]), `context.${k}`);
  must(c.roundNumber === null || (Number.isInteger(c.roundNumber) && c.roundNumber > 0 && c.roundNumber < 1000), 'context.roundNumber');
  must(isNumOrNull(c.startMs, 0, 1e14), 'context.startMs');
  const keys = ['gameId', 'status', 'isPaused', 'isRated', 'competitive', 'teamDuels', 'contextType', 'forbidMoving',
    'forbidZooming', 'forbidRotating', 'roundNumber', 'startMs', 'timedOut', 'guessed', 'guessing', 'canPin'];
  return Object.fromEntries(keys.map((k) => [k, c[k]]));
}

/** type → check(value) returning a clean copy (only the known fields), or throwing BridgeError. */
export const ANSWER_CHECKS = {
  configure(v) { must(isObj(v) && v.ok === true, 'configure'); return { ok: true }; },
  state(v) {
    must(isObj(v) && isObj(v.hooks), 'state');
    const h = v.hooks;
    must(isBool(h.googleMaps) && isBool(h.webglHook) && isBool(h.preserveBuffer), 'state.hooks');
    for (const k of ['streetViewHook', 'mapHook']) must(h[k] === null || h[k] === 'constructor' || h[k] === 'prototype', `state.hooks.${k}`);
    for (const k of ['panorama', 'sceneCanvas', 'guessMap', 'guessMapHooked']) must(isBool(v[k]), `state.${k}`);
    for (const k of ['frames', 'uploads', 'panoChanges']) must(Number.isInteger(v[k]) && v[k] >= 0, `state.${k}`);
    return {
      hooks: { googleMaps: h.googleMaps, streetViewHook: h.streetViewHook, mapHook: h.mapHook, webglHook: h.webglHook,
        preserveBuffer: h.preserveBuffer },
      panorama: v.panorama, sceneCanvas: v.sceneCanvas, frames: v.frames, uploads: v.uploads, panoChanges: v.panoChanges,
      guessMap: v.guessMap, guessMapHooked: v.guessMapHooked, context: v.context === null ? null : checkContext(v.context),
    };
  },
  turn(v) {
    must(isObj(v), 'turn');
    must(isNumOrNull(v.heading, -1e6, 1e6) && isNumOrNull(v.pitch, -90, 90), 'turn.heading/pitch');
    must(['quiet', 'cap', 'fixed'].includes(v.settled), 'turn.settled');
    for (const k of ['waitedMs', 'frames', 'uploads']) must(isNum(v[k], -1e9, 1e9), `turn.${k}`);
    return { heading: v.heading, pitch: v.pitch, settled: v.settled, waitedMs: v.waitedMs, frames: v.frames, uploads: v.uploads };
  },
  grab(v) {
    must(isObj(v), 'grab');
    if (v.dataUrl === null) {
      must(isText(v.reason, 200), 'grab.reason');
      return { dataUrl: null, reason: v.reason };
    }
    must(typeof v.dataUrl === 'string' && v.dataUrl.length <= MAX_DATA_URL && JPEG_URL.test(v.dataUrl), 'grab.dataUrl is not a JPEG data URL');
    must(Number.isInteger(v.width) && Number.isInteger(v.height) && v.width > 0 && v.height > 0 && v.width <= 4096 && v.height <= 4096, 'grab.size');
    return { dataUrl: v.dataUrl, width: v.width, height: v.height, afterDraw: v.afterDraw === true };
  },
  placeDuels(v) { must(isObj(v) && isBool(v.rerendered), 'placeDuels'); return { rerendered: v.rerendered }; },
  placeMap(v) { must(isObj(v) && v.clicked === true, 'placeMap'); return { clicked: true }; },
};

/** Check an answer of `type`; returns the clean value or throws BridgeError. */
export function checkAnswer(type, value) {
  if (!Object.prototype.hasOwnProperty.call(ANSWER_CHECKS, type)) throw new BridgeError(`unknown bridge request ${type}`);
  return ANSWER_CHECKS[type](value);
}

/** The nonce the loader took at document_start (content/loader.js), or null. */
export function pageNonce(scope = globalThis) {
  const n = scope.__pigeonBotNonce;
  return typeof n === 'string' && /^[0-9a-f]{32}$/.test(n) ? n : null;
}

export class PageBridge {
  constructor({ nonce, win = window, timeoutMs = 5000 } = {}) {
    if (!nonce) throw new BridgeError('no bridge nonce: the page script did not start with the page (reload the tab)');
    Object.assign(this, { nonce, win, timeoutMs });
    this.nextId = 1;
    this.pending = new Map();
    this.onMessage = (ev) => this.receive(ev);
    win.addEventListener('message', this.onMessage);
  }

  receive(ev) {
    if (ev.source !== this.win || ev.origin !== this.win.location.origin) return;
    const d = ev.data;
    if (!isObj(d) || d.ch !== CHANNEL || d.n !== this.nonce || d.dir !== 'res' || !this.pending.has(d.id)) return;
    const p = this.pending.get(d.id);
    if (d.type !== p.type) return;
    this.pending.delete(d.id);
    clearTimeout(p.timer);
    if (d.ok !== true) { p.reject(new BridgeError(`page script: ${isText(d.error, 300) ? d.error : 'failed'}`)); return; }
    try { p.resolve(checkAnswer(p.type, d.value)); } catch (err) { p.reject(err); }
  }

  /** Ask the main-world script; resolves with the checked answer. */
  request(type, args = {}, { timeoutMs = this.timeoutMs } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BridgeError(`the page script did not answer ${type} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { type, resolve, reject, timer });
      this.win.postMessage({ ch: CHANNEL, n: this.nonce, dir: 'req', id, type, args }, this.win.location.origin);
    });
  }

  close() {
    this.win.removeEventListener('message', this.onMessage);
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new BridgeError('bridge closed')); }
    this.pending.clear();
  }
}
