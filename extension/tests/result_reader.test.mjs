// What the extension reads after a round, in what order, from where (sites/geoguessr/
// result_reader.js), with a fake fetch: the phonebook first, the live gs2 node while the game
// runs, the archive only once the phonebook says finished; classic rounds matched by our pin;
// the guest id; nothing outside the allowed URLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResultReader } from '../sites/geoguessr/result_reader.js';

const GAME = '6aa29d5f364a2fb2ff228fd3';
const NODE = '8572118768954f1b877ded5bd7c29b1e';

function fakeFetch(routes) {
  const calls = [];
  const impl = async (url, init) => {
    calls.push({ url, init });
    const hit = Object.entries(routes).find(([prefix]) => url.startsWith(prefix));
    if (!hit) return { ok: false, status: 404, json: async () => ({}) };
    const body = typeof hit[1] === 'function' ? hit[1](calls.length) : hit[1];
    return { ok: true, status: 200, json: async () => structuredClone(body) };
  };
  return { impl, calls };
}

const duel = (status) => ({ gameId: GAME, status, currentRoundNumber: 1,
  rounds: [{ roundNumber: 1, hasProcessedRoundTimeout: true, panorama: { lat: 48.85, lng: 2.35 } }],
  teams: [{ players: [{ playerId: 'guest-1', guesses: [{ roundNumber: 1, lat: 48, lng: 2, score: 4800, distance: 95000 }] }] },
    { players: [{ playerId: 'other', guesses: [{ roundNumber: 1, lat: 0, lng: 0, score: 100, distance: 5e6 }] }] }] });

test('a live duel: phonebook, then the gs2 node, credentials from the page, a guest\'s id', async () => {
  const f = fakeFetch({
    'https://www.geoguessr.com/api/v4/game-server/phonebook/': { gameId: GAME, gameServerNodeId: NODE, status: 'Active' },
    [`https://gs2.geoguessr.com/${NODE}/${GAME}`]: duel('Ongoing'),
    'https://www.geoguessr.com/api/v4/guest-users/id': { id: 'guest-1' },
  });
  const reader = new ResultReader({ fetchImpl: f.impl, nextDataText: () => '{"props":{"accountProps":{}}}',
    userIdFrom: () => null });
  const r = await reader.duelRound(GAME, 1);
  assert.deepEqual({ truth: r.truth, score: r.score, km: r.distanceKm, opp: r.opponent.score, source: r.source },
    { truth: { lat: 48.85, lng: 2.35 }, score: 4800, km: 95, opp: 100, source: 'gs2' });
  assert.deepEqual(f.calls.map((c) => c.url), [
    `https://www.geoguessr.com/api/v4/game-server/phonebook/${GAME}`, `https://gs2.geoguessr.com/${NODE}/${GAME}`,
    'https://www.geoguessr.com/api/v4/guest-users/id']);
  assert.ok(f.calls.every((c) => c.init.credentials === 'include' && !c.init.headers), 'no header of ours');
});

test('the archive is read only once the phonebook says the game is finished', async () => {
  const f = fakeFetch({
    'https://www.geoguessr.com/api/v4/game-server/phonebook/': { gameId: GAME, gameServerNodeId: null, status: 'Finished' },
    'https://game-server.geoguessr.com/api/duels/': duel('Finished'),
  });
  const reader = new ResultReader({ fetchImpl: f.impl, userIdFrom: () => 'guest-1', nextDataText: () => 'x' });
  const [r] = await reader.duelRounds(GAME, [1]);
  assert.equal(r.source, 'archive');
  assert.ok(!f.calls.some((c) => c.url.includes('gs2.')));
});

test('a phonebook with no node and no end is asked again, the archive never', async () => {
  const f = fakeFetch({ 'https://www.geoguessr.com/api/v4/game-server/phonebook/': { gameId: GAME, gameServerNodeId: null, status: 'Active' } });
  const reader = new ResultReader({ fetchImpl: f.impl, userIdFrom: () => 'me', nextDataText: () => 'x' });
  await assert.rejects(reader.duelRound(GAME, 1), /no live node/);
  assert.equal(f.calls.length, 3);
  assert.ok(f.calls.every((c) => c.url.includes('/phonebook/')));
});

test('classic at the game\'s end: each round found by our own pin, even when two pins are the same', async () => {
  const game = { token: 'GAbC', state: 'finished', rounds: [{ lat: 10, lng: 10 }, { lat: 20, lng: 20 }, { lat: 30, lng: 30 }],
    player: { guesses: [{ lat: -25, lng: 135, roundScoreInPoints: 1, distanceInMeters: 1000 },
      { lat: -25, lng: 135, roundScoreInPoints: 2, distanceInMeters: 2000 }, { lat: 48, lng: 2, roundScoreInPoints: 3, distanceInMeters: 3000 }] } };
  const f = fakeFetch({ 'https://www.geoguessr.com/api/v3/games/GAbC': game });
  const reader = new ResultReader({ fetchImpl: f.impl });
  const pin = (lat, lng) => ({ lat, lng });
  const rs = await reader.classicRounds('classic', 'GAbC', [
    { number: 1, pin: pin(-25, 135) }, { number: 2, pin: pin(-25, 135) }, { number: 3, pin: pin(48, 2) }]);
  assert.deepEqual(rs.map((r) => [r.roundNumber, r.truth.lat, r.score]), [[1, 10, 1], [2, 20, 2], [3, 30, 3]]);
  // a counter that was off (the page was opened mid-game): the pin puts it right
  const [late] = await reader.classicRounds('classic', 'GAbC', [{ number: 1, pin: pin(48, 2) }]);
  assert.equal(late.roundNumber, 3);
  // a challenge reads its game through the challenge
  const g = fakeFetch({ 'https://www.geoguessr.com/api/v3/challenges/Cxyz/game': game });
  await new ResultReader({ fetchImpl: g.impl }).classicRounds('challenge', 'Cxyz', [{ number: 1, pin: null }]);
  assert.equal(g.calls[0].url, 'https://www.geoguessr.com/api/v3/challenges/Cxyz/game');
});

test('a URL outside the allowed reads is refused before any request', async () => {
  const f = fakeFetch({});
  const reader = new ResultReader({ fetchImpl: f.impl });
  await assert.rejects(reader.getJson('https://www.geoguessr.com/api/v3/games/GAbC?client=web'), /does not read/);
  await assert.rejects(reader.getJson('https://streetviewpixels-pa.googleapis.com/v1/tile?panoid=x'), /does not read/);
  assert.equal(f.calls.length, 0);
});
