// The isolated side of the bridge (sites/geoguessr/page_bridge.js): answers are accepted only
// from this window and origin, with the nonce, for a pending request of the same type, and
// only when they pass their checks; only known fields are kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANSWER_CHECKS, BridgeError, PageBridge, checkAnswer, pageNonce } from '../sites/geoguessr/page_bridge.js';

const NONCE = '0123456789abcdef0123456789abcdef';
const goodState = () => ({ hooks: { googleMaps: true, streetViewHook: 'constructor', mapHook: 'prototype', webglHook: true, preserveBuffer: true },
  panorama: true, sceneCanvas: true, frames: 12, uploads: 3, panoChanges: 1, guessMap: true, guessMapHooked: true,
  context: { gameId: '6aa29d5f364a2fb2ff228fd3', status: 'Ongoing', isPaused: false, isRated: false, competitive: 'None',
    teamDuels: false, contextType: 'Party', forbidMoving: false, forbidZooming: false, forbidRotating: false, roundNumber: 2,
    startMs: 1789000000000, timedOut: false, guessed: false, guessing: false, canPin: true } });

test('answers are checked field by field; unknown fields are dropped', () => {
  const s = goodState();
  s.context.panorama = { lat: 1, lng: 2 };        // something the page slipped in
  s.extra = 'x';
  const clean = checkAnswer('state', s);
  assert.equal(clean.context.panorama, undefined);
  assert.equal(clean.extra, undefined);
  assert.equal(clean.context.roundNumber, 2);
  for (const [mutate, what] of [[(x) => { x.context.roundNumber = 'two'; }, /roundNumber/],
    [(x) => { x.hooks.streetViewHook = 'evil'; }, /streetViewHook/], [(x) => { x.frames = -1; }, /frames/],
    [(x) => { x.context.gameId = '../../x'; }, /gameId/], [(x) => { x.context.isPaused = 'no'; }, /isPaused/]]) {
    const bad = goodState();
    mutate(bad);
    assert.throws(() => checkAnswer('state', bad), what);
  }
  assert.throws(() => checkAnswer('grab', { dataUrl: 'javascript:alert(1)', width: 1, height: 1 }), /not a JPEG data URL/);
  assert.throws(() => checkAnswer('grab', { dataUrl: 'data:image/jpeg;base64,/9j/', width: 0, height: 5 }), /size/);
  assert.deepEqual(checkAnswer('grab', { dataUrl: null, reason: 'no canvas' }), { dataUrl: null, reason: 'no canvas' });
  assert.throws(() => checkAnswer('turn', { heading: 1, pitch: 0, settled: 'maybe', waitedMs: 1, frames: 1, uploads: 0 }), /settled/);
  assert.throws(() => checkAnswer('eval', {}), /unknown bridge request/);
  assert.ok(Object.keys(ANSWER_CHECKS).includes('placeDuels'));
});

test('the nonce must look like ours', () => {
  assert.equal(pageNonce({ __pigeonBotNonce: NONCE }), NONCE);
  assert.equal(pageNonce({ __pigeonBotNonce: 'short' }), null);
  assert.equal(pageNonce({}), null);
  assert.throws(() => new PageBridge({ nonce: null, win: {} }), /reload the tab/);
});

function fakeWindow() {
  const listeners = [];
  const win = { location: { origin: 'https://www.geoguessr.com' }, sent: [],
    addEventListener: (t, fn) => listeners.push(fn), removeEventListener: () => {},
    postMessage: (data) => win.sent.push(data),
    deliver: (data, { source = win, origin = 'https://www.geoguessr.com' } = {}) => listeners.forEach((fn) => fn({ data, source, origin })) };
  return win;
}

test('a forged or foreign answer is ignored; a good one resolves the request', async () => {
  const win = fakeWindow();
  const bridge = new PageBridge({ nonce: NONCE, win, timeoutMs: 300 });
  const p = bridge.request('placeMap', { lat: 1, lng: 2 });
  const req = win.sent[0];
  assert.deepEqual({ ch: req.ch, n: req.n, dir: req.dir, type: req.type }, { ch: 'pigeon-bot', n: NONCE, dir: 'req', type: 'placeMap' });
  const answer = { ch: 'pigeon-bot', n: NONCE, dir: 'res', id: req.id, type: 'placeMap', ok: true, value: { clicked: true } };
  win.deliver({ ...answer, n: 'f'.repeat(32) });                      // wrong nonce
  win.deliver(answer, { origin: 'https://evil.example' });             // wrong origin
  win.deliver(answer, { source: {} });                                 // another window
  win.deliver({ ...answer, type: 'state' });                           // another type
  win.deliver(answer);
  assert.deepEqual(await p, { clicked: true });
  const q = bridge.request('placeMap', {});
  win.deliver({ ...answer, id: win.sent[1].id, value: { clicked: 'yes' } });
  await assert.rejects(q, BridgeError);
  await assert.rejects(bridge.request('state'), /did not answer state in 300 ms/);
  bridge.close();
});
