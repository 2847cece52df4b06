// Round state from answer-free facts (sites/geoguessr/round_state.js), the auto-mode refusal
// for rated games, round keys across "play again", page kinds, and where the pin goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundTracker, autoRefusal } from '../sites/geoguessr/round_state.js';
import { isMatchmakingPath, pageOf, parseRoundNumber, userIdFromNextData } from '../sites/geoguessr/selectors.js';
import { pinFor } from '../sites/geoguessr/guess_point.js';

const NOW = Date.parse('2026-09-10T12:10:00Z');
const dom = (over = {}) => ({ panorama: true, guessMap: true, roundResult: false, resultNumber: null, splashNumber: null,
  classicResult: false, playAgain: false, summary: false, roundNumber: null, nmpz: false, ...over });
const ctx = (over = {}) => ({ gameId: '6aa29d5f364a2fb2ff228fd3', status: 'Ongoing', isPaused: false, isRated: false,
  competitive: 'None', teamDuels: false, contextType: 'Party', forbidMoving: false, forbidZooming: false, forbidRotating: false,
  roundNumber: 2, startMs: NOW - 1000, timedOut: false, guessed: false, guessing: false, canPin: true, ...over });
const duels = pageOf('/duels/6aa29d5f364a2fb2ff228fd3');

test('page kinds from URLs, with locale prefixes', () => {
  assert.deepEqual(pageOf('/duels/6aa29d5f364a2fb2ff228fd3'), { kind: 'duels', gameId: '6aa29d5f364a2fb2ff228fd3', mode: 'duels' });
  assert.equal(pageOf('/de/team-duels/abc').kind, 'team-duels');
  assert.deepEqual(pageOf('/pt-BR/game/GAbC123xyz'), { kind: 'classic', gameId: 'GAbC123xyz', mode: 'classic' });
  assert.equal(pageOf('/ja/challenge/Cx1').mode, 'challenge');
  assert.deepEqual(pageOf('/party/lobby/PZM2F'), { kind: 'party', gameId: 'PZM2F', mode: 'duels' });
  assert.equal(pageOf('/battle-royale/br1').mode, 'battle-royale');
  assert.equal(pageOf('/live-challenge/lc1').kind, 'live-challenge');
  for (const p of ['/maps/world', '/', '/me/profile', '/game', '/duels/']) assert.equal(pageOf(p).kind, null, p);
  assert.ok(isMatchmakingPath('/multiplayer') && isMatchmakingPath('/de/competitive/duels') && !isMatchmakingPath('/party'));
});

test('localised numbers and the logged-in user id', () => {
  assert.equal(parseRoundNumber('ラウンド 1'), 1);
  assert.equal(parseRoundNumber('RUNDE 4'), 4);
  assert.equal(parseRoundNumber('2 / 5'), 2);
  assert.equal(parseRoundNumber(''), null);
  assert.equal(userIdFromNextData('{"props":{"accountProps":{"account":{"user":{"userId":"5f00aa"}}}}}'), '5f00aa');
  assert.equal(userIdFromNextData('{"props":{"accountProps":{}}}'), null);   // a guest
  assert.equal(userIdFromNextData('not json'), null);
});

test('duels: open from the context; the splash, a pause, a timeout or a result card close it', () => {
  const t = new RoundTracker();
  let r = t.update(duels, ctx(), dom(), NOW);
  assert.equal(r.key, '6aa29d5f364a2fb2ff228fd3:2');
  assert.equal(r.roundId, r.key);
  assert.ok(r.open && !r.guessed && r.via === 'context' && r.autoRefusal === null);
  assert.equal(t.update(duels, ctx(), dom({ splashNumber: 2 }), NOW).open, false);
  assert.equal(t.update(duels, ctx({ startMs: NOW + 3000 }), dom(), NOW).open, false, 'before its start time');
  assert.equal(t.update(duels, ctx({ isPaused: true }), dom(), NOW).open, false);
  assert.equal(t.update(duels, ctx({ timedOut: true }), dom(), NOW).open, false);
  assert.equal(t.update(duels, ctx(), dom({ roundResult: true, resultNumber: 2 }), NOW).open, false);
  r = t.update(duels, ctx({ guessed: true }), dom(), NOW);
  assert.ok(r.open && r.guessed);
  assert.equal(t.update(duels, ctx({ forbidRotating: true }), dom(), NOW).noMove, true);
});

test('auto mode refuses rated, competitive and unreadable duels, and public battle royales', () => {
  assert.match(autoRefusal('duels', ctx({ isRated: true })), /rated/);
  assert.match(autoRefusal('duels', ctx({ isRated: null })), /rated/, 'a game that does not say it is unrated');
  assert.match(autoRefusal('team-duels', ctx({ competitive: 'StandardDuels' })), /competitive/);
  assert.match(autoRefusal('duels', null), /could not be read/);
  assert.equal(autoRefusal('party', ctx()), null);
  assert.equal(autoRefusal('classic', null), null);
  assert.match(autoRefusal('battle-royale', null), /party lobby/);
  assert.equal(autoRefusal('battle-royale', null, { cameFromParty: true }), null);
  const r = new RoundTracker().update(duels, ctx({ isRated: true, competitive: 'StandardDuels' }), dom(), NOW);
  assert.ok(r.open && /suggest mode still/.test(r.autoRefusal));
});

test('party lobby: the next game on the same URL has new keys (the context game id)', () => {
  const t = new RoundTracker();
  const party = pageOf('/party/lobby/PZM2F');
  const a = t.update(party, ctx({ roundNumber: 1 }), dom(), NOW);
  const b = t.update(party, ctx({ gameId: '7bb000000000000000000001', roundNumber: 1 }), dom(), NOW);
  assert.notEqual(a.key, b.key);
  assert.equal(b.gameId, '7bb000000000000000000001');
});

test('classic without a round counter: rounds counted, a play-again on the same URL opens a new epoch', () => {
  const t = new RoundTracker();
  const page = pageOf('/game/GAbC123xyz');
  const keys = [];
  const step = (d) => { const r = t.update(page, null, dom(d), NOW); if (r && r.open) keys.push(r.key); return r; };
  step({});                                   // round 1
  step({});
  assert.equal(step({ classicResult: true }).guessed, true);
  step({});                                   // round 2
  step({ classicResult: true, playAgain: true });
  step({});                                   // play again: round 1 of a new game, same token
  assert.deepEqual([...new Set(keys)], ['GAbC123xyz:1', 'GAbC123xyz:2', 'GAbC123xyz.1:1']);
  // a page that shows its counter is read directly
  assert.equal(new RoundTracker().update(page, null, dom({ roundNumber: 4 }), NOW).number, 4);
  assert.equal(t.update(page, null, dom({ nmpz: true }), NOW).noMove, true);
  assert.equal(new RoundTracker().update(pageOf('/maps/x'), null, dom(), NOW), null);
});

test('duels without the context (DOM only): the splash number, auto refused', () => {
  const t = new RoundTracker();
  t.update(duels, null, dom({ splashNumber: 3, panorama: true, roundResult: false }), NOW);
  const r = t.update(duels, null, dom(), NOW);
  assert.equal(r.number, 3);
  assert.equal(r.via, 'dom');
  assert.match(r.autoRefusal, /could not be read/);
});

test('the pin: the backend\'s, or in battle royale countries the best candidate inside the predicted country', () => {
  const guess = { lat: 43.3, lng: 5.37, country: 'FR', top_k: [
    { lat: 41.4, lng: 2.17, prob: 0.5, country: 'ES' }, { lat: 45.76, lng: 4.84, prob: 0.3, country: 'FR' },
    { lat: 48.86, lng: 2.35, prob: 0.1, country: 'FR' }] };
  assert.deepEqual(pinFor(guess), { lat: 43.3, lng: 5.37 });
  assert.deepEqual(pinFor(guess, { countries: true }), { lat: 45.76, lng: 4.84 });
  assert.deepEqual(pinFor({ ...guess, country: null }, { countries: true }), { lat: 43.3, lng: 5.37 });
});

test('battle royale: the round is on while its guess map is; the next one is a new round', () => {
  const t = new RoundTracker();
  const page = pageOf('/battle-royale/br1');
  const keys = [];
  for (const d of [{}, { guessMap: false }, { guessMap: false }, {}, {}]) {
    const r = t.update(page, null, dom(d), NOW, { cameFromParty: true });
    keys.push(r && r.open ? r.key : null);
  }
  assert.deepEqual(keys, ['br1:1', null, null, 'br1:2', 'br1:2']);
});
