// The main-world scripts (extension/page/*.js) in a fake page world: the nonce handshake, the
// google.maps hooks (late google, prototype fallback), WebGL counting, the bridge's checks,
// the duels React context read field by field (the answer fields are traps), turning, and the
// guesses through the page's own callbacks. No answer getter may be read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SCRIPTS, ask, installMaps, makeWorld } from './helpers/page_world.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const NONCE_ATTR = 'data-pigeon-bot-nonce';
const plain = (x) => JSON.parse(JSON.stringify(x));   // objects from the vm realm

function boot({ isolatedFirst = true } = {}) {
  const world = makeWorld();
  let nonce = null;
  if (isolatedFirst) { nonce = 'a'.repeat(32); world.html.setAttribute(NONCE_ATTR, nonce); }
  for (const f of PAGE_SCRIPTS) world.run(f);
  if (!isolatedFirst) { nonce = world.html.getAttribute(NONCE_ATTR); world.html.removeAttribute(NONCE_ATTR); }
  return { world, nonce };
}

test('the nonce is shared through the attribute, which never stays on the page', () => {
  const a = boot({ isolatedFirst: true });
  assert.equal(a.world.html.getAttribute(NONCE_ATTR), null);
  const b = boot({ isolatedFirst: false });
  assert.match(b.nonce, /^[0-9a-f]{32}$/);
  assert.equal(b.world.win.__pigeonBotMainHooks, undefined, 'the hand-over property is gone');
});

test('the bridge ignores a wrong nonce, a foreign source or origin, and checks arguments', async () => {
  const { world, nonce } = boot();
  await assert.rejects(ask(world, 'b'.repeat(32), 'state', {}, { timeoutMs: 200 }), /no answer/);
  await assert.rejects(ask(world, nonce, 'state', {}, { source: null, timeoutMs: 200 }), /no answer/);
  await assert.rejects(ask(world, nonce, 'state', {}, { fromOrigin: 'https://evil.example', timeoutMs: 200 }), /no answer/);
  await assert.rejects(ask(world, nonce, 'toString', {}, { timeoutMs: 200 }), /no answer/);
  const bad = await ask(world, nonce, 'turn', { heading: 999, pitch: 0, quietMs: 10, capMs: 100 });
  assert.equal(bad.ok, false);
  assert.match(bad.error, /heading must be a number/);
  const ok = await ask(world, nonce, 'state');
  assert.equal(ok.ok, true);
  assert.equal(ok.value.context, null);
  assert.equal(ok.value.hooks.googleMaps, false);
});

test('google.maps arriving late is hooked; the constructor options are never read', async () => {
  const { world, nonce } = boot();
  await sleep(30);
  const maps = installMaps(world);
  await sleep(40);
  const div = world.el('div', {}, '[data-qa="panorama"]');
  world.html.append(div);
  const opts = {};
  world.trap(opts, 'pano', 'PANO', 'sv.options.pano');
  world.trap(opts, 'position', { lat: 1, lng: 2 }, 'sv.options.position');
  const sv = new world.win.google.maps.StreetViewPanorama(div, opts);
  assert.ok(sv instanceof maps.StreetViewPanorama);
  const st = (await ask(world, nonce, 'state')).value;
  assert.equal(st.hooks.googleMaps, true);
  assert.equal(st.hooks.streetViewHook, 'constructor');
  assert.equal(st.panorama, true);
  assert.deepEqual(world.traps, []);
});

test('a panorama made before the hook is found through the page\'s own setPov calls', async () => {
  const world = makeWorld();
  world.html.setAttribute(NONCE_ATTR, 'c'.repeat(32));
  const maps = installMaps(world);
  const early = new maps.StreetViewPanorama(null, {});
  for (const f of PAGE_SCRIPTS) world.run(f);
  let st = (await ask(world, 'c'.repeat(32), 'state')).value;
  assert.equal(st.panorama, false);
  early.setPov({ heading: 10, pitch: 0 });     // the page turns its own panorama
  st = (await ask(world, 'c'.repeat(32), 'state')).value;
  assert.equal(st.hooks.streetViewHook, 'prototype');
  assert.equal(st.panorama, true);
});

test('WebGL draws and uploads are counted, their arguments never read; contexts keep their buffer', async () => {
  const { world, nonce } = boot();
  const canvas = new world.win.HTMLCanvasElement();
  const gl = canvas.getContext('webgl', { antialias: false });
  assert.deepEqual(plain(canvas.lastContext.attrs), { antialias: false, preserveDrawingBuffer: true });
  const tile = {};
  world.trap(tile, 'src', 'https://streetviewpixels/tile?panoid=SECRET', 'tile.src');
  gl.texSubImage2D(0, 0, 0, 0, 0, 0, tile);
  gl.drawArrays(5, 0, 4);
  installMaps(world);
  const pano = world.el('div', {}, '[data-qa="panorama"]');
  world.html.append(pano.append(Object.assign(world.el('canvas', {}, 'canvas.widget-scene-canvas'), { width: 10, height: 10 })));
  await ask(world, nonce, 'configure', { selectors: { panorama: ['[data-qa="panorama"]'], sceneCanvas: ['canvas.widget-scene-canvas'] } });
  assert.deepEqual(world.traps, []);
});

function duelsPage(world, { guessed = false, onPin, onGuess } = {}) {
  // a React 18 root: container expando -> HostRoot fiber -> stateNode.current -> children
  const ctxValue = { currentPlayerHasGuessed: guessed, isGuessing: false };
  const gameState = { gameId: '6aa29d5f364a2fb2ff228fd3', status: 'Ongoing', isPaused: false,
    options: { isRated: false, competitiveGameMode: 'None', movementOptions: { forbidRotating: false } },
    context: { type: 'Party', id: 'p1' } };
  world.trap(gameState, 'rounds', [{ panorama: { lat: 1, lng: 2 } }], 'gameState.rounds');
  const currentRound = { roundNumber: 3, startTime: '2026-09-10T12:07:01.6043209Z', hasProcessedRoundTimeout: false };
  world.trap(currentRound, 'panorama', { lat: 1, lng: 2, panoId: 'X' }, 'currentRound.panorama');
  Object.assign(ctxValue, { gameState, currentRound, onPlacedPin: onPin || (() => {}), onGuess: onGuess || (() => {}) });
  // a Proxy records every property the reader touches
  const touched = new Set();
  const spy = (o, prefix) => new Proxy(o, { get(t, k, r) { touched.add(`${prefix}${String(k)}`); return Reflect.get(t, k, r); } });
  const value = spy({ ...ctxValue, gameState: spy(gameState, 'gameState.'), currentRound: spy(currentRound, 'currentRound.') }, '');
  const other = { memoizedValue: { theme: 'dark' }, next: null };
  const item = { memoizedValue: value, next: null };
  const consumer = { dependencies: { firstContext: { memoizedValue: null, next: item } }, child: null, sibling: null };
  // placing the pin re-renders the page: a new context value with fresh callbacks
  const rerender = (patch) => { item.memoizedValue = spy({ ...ctxValue, ...patch, gameState: spy(gameState, 'gameState.'), currentRound: spy(currentRound, 'currentRound.') }, ''); };
  const sibling = { dependencies: { firstContext: other }, child: consumer, sibling: null };
  const current = { child: sibling, sibling: null };
  const hostRoot = { stateNode: { current } };
  const root = world.el('div', {}, '#__next');
  root['__reactContainer$x1y2'] = hostRoot;
  world.html.append(root);
  return { touched, value, rerender };
}

test('the duels context is read field by field: no answer getter is touched', async () => {
  const { world, nonce } = boot();
  const { touched } = duelsPage(world);
  const st = (await ask(world, nonce, 'state')).value;
  assert.deepEqual(world.traps, []);
  assert.equal(st.context.gameId, '6aa29d5f364a2fb2ff228fd3');
  assert.equal(st.context.roundNumber, 3);
  assert.equal(st.context.isRated, false);
  assert.equal(st.context.contextType, 'Party');
  assert.equal(st.context.startMs, Date.parse('2026-09-10T12:07:01.6043209Z'));
  for (const k of touched) assert.ok(!/panorama|rounds/.test(k), `read ${k}`);
});

test('duels guess: onPlacedPin({lat, lng}) then onGuess(), the page\'s own callbacks', async () => {
  const { world, nonce } = boot();
  const calls = [];
  let page = null;
  page = duelsPage(world, {
    onPin: (p) => { calls.push(['pin', p]); setTimeout(() => page.rerender({ onGuess: () => calls.push(['fresh guess']) }), 10); },
    onGuess: () => calls.push(['stale guess']) });
  const r = await ask(world, nonce, 'placeDuels', { lat: 48.5, lng: 2.25 });
  assert.equal(r.ok, true, r.error);
  assert.deepEqual(plain(calls), [['pin', { lat: 48.5, lng: 2.25 }], ['fresh guess']]);
  assert.equal(r.value.rerendered, true);
  const bad = await ask(world, nonce, 'placeDuels', { lat: 91, lng: 0 });
  assert.match(bad.error, /lat must be a number/);
  assert.deepEqual(world.traps, []);
});

test('turning: setPov to the heading, settled after a quiet window; answers getPov', async () => {
  const { world, nonce } = boot();
  const maps = installMaps(world);
  await sleep(30);
  const pano = world.el('div', {}, '[data-qa="panorama"]');
  const canvas = Object.assign(world.el('canvas', {}, 'canvas.widget-scene-canvas'), { width: 64, height: 32 });
  world.html.append(pano.append(canvas));
  const sv = new world.win.google.maps.StreetViewPanorama(pano, {});
  const gl = new world.win.WebGLRenderingContext(canvas);
  gl.drawArrays(5, 0, 4);
  sv.onPov = () => { for (const ms of [5, 20, 40]) setTimeout(() => gl.drawArrays(5, 0, 4), ms); };
  await ask(world, nonce, 'configure', { selectors: { panorama: ['[data-qa="panorama"]'], sceneCanvas: ['canvas.widget-scene-canvas'] } });
  const r = await ask(world, nonce, 'turn', { heading: 90, pitch: 0, quietMs: 50, capMs: 2000 });
  assert.equal(r.ok, true, r.error);
  assert.equal(r.value.heading, 90);
  assert.equal(r.value.settled, 'quiet');
  assert.ok(r.value.frames >= 3 && r.value.waitedMs >= 80, JSON.stringify(r.value));
  assert.ok(maps);
  assert.deepEqual(world.traps, []);
});

test('classic guess: a click on the hooked guess map, then the enabled guess button', async () => {
  const { world, nonce } = boot();
  installMaps(world);
  await sleep(30);
  const gmEl = world.el('div', {}, '[data-qa="guess-map"]');
  const mapDiv = world.el('div');
  const button = world.el('button', {}, '[data-qa="perform-guess"]');
  button.disabled = true;
  world.html.append(gmEl.append(mapDiv, button));
  const map = new world.win.google.maps.Map(mapDiv, {});
  let clicked = null;
  world.win.google.maps.event.addListener(map, 'click', (e) => { clicked = [e.latLng.lat(), e.latLng.lng()]; button.disabled = false; });
  await ask(world, nonce, 'configure', { selectors: { guessMap: ['[data-qa="guess-map"]'], performGuess: ['[data-qa="perform-guess"]'] } });
  const r = await ask(world, nonce, 'placeMap', { lat: -33.9, lng: 151.2, buttonTimeoutMs: 1000 });
  assert.equal(r.ok, true, r.error);
  assert.deepEqual(clicked, [-33.9, 151.2]);
  assert.equal(button.clicks, 1);
});
