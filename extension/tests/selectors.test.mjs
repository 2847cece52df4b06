// geoguessr.com hooks (sites/geoguessr/selectors.js) against fixtures reduced from the public
// 2026 captures (fixtures/geoguessr/, SOURCES.md): the expected match count of every hook in
// every fixture (hook_counts.json, also checked in Chromium by tests/test_extension_selectors.py),
// the raw evidence selectors against the counts the site-mock took in Chromium
// (expected_hooks.json), the localised numbers, and the result parsers on the JSON samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { HOOKS, SELECTORS, parseRoundNumber } from '../sites/geoguessr/selectors.js';
import { classicRoundResult, duelRoundSettled, duelsRoundResult, phonebookRoute } from '../sites/geoguessr/results.js';
import { parseHTML, querySelectorAll, textOf } from './helpers/mini_dom.mjs';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'geoguessr');
const read = (f) => readFileSync(path.join(dir, f), 'utf8');
const json = (f) => JSON.parse(read(f));
const hookCounts = json('hook_counts.json').counts;
const evidence = json('expected_hooks.json').counts;
const doc = (f) => parseHTML(read(f));

test('every hook has an expected count in every HTML fixture', () => {
  assert.deepEqual(Object.keys(hookCounts).sort(), Object.keys(evidence).sort());
  for (const [file, counts] of Object.entries(hookCounts)) assert.deepEqual(Object.keys(counts).sort(), Object.keys(SELECTORS).sort(), file);
});

for (const [file, counts] of Object.entries(hookCounts)) {
  test(`hooks on ${file}`, () => {
    const d = doc(file);
    for (const [name, want] of Object.entries(counts)) {
      assert.equal(querySelectorAll(d, SELECTORS[name]).length, want, `${name} (${SELECTORS[name]}) in ${file}`);
    }
  });
}

test('our selectors that the evidence names agree with the counts taken in Chromium', () => {
  let checked = 0;
  for (const [file, counts] of Object.entries(evidence)) {
    const d = doc(file);
    for (const sel of Object.values(HOOKS).flat()) {
      if (!(sel in counts)) continue;
      assert.equal(querySelectorAll(d, sel).length, counts[sel], `${sel} in ${file}`);
      checked += 1;
    }
    // the 2026 pages have no round counter: a round comes from the splash or the result card
    assert.equal(querySelectorAll(d, '[data-qa="round-number"]').length, 0, file);
  }
  assert.ok(checked >= 100, `only ${checked} evidence counts checked`);
});

test('the round number is read from the splash and the (localised) result cards', () => {
  const first = (f, hook) => textOf(querySelectorAll(doc(f), SELECTORS[hook])[0]);
  assert.equal(parseRoundNumber(first('duels_splash.html', 'roundSplash')), 3);
  assert.equal(parseRoundNumber(first('duels_round_result.html', 'roundResultNumber')), 1);   // ラウンド 1
  assert.equal(parseRoundNumber(first('duels_damage_result.html', 'roundResultNumber')), 2);
  // the playing HUD holds numbers (health, x1.5) but no round: no hook reads a round there
  const hud = doc('duels_hud_playing.html');
  for (const hook of ['roundSplash', 'roundResultNumber', 'roundNumber']) assert.equal(querySelectorAll(hud, SELECTORS[hook]).length, 0);
});

test('duel results from the captured gs2 state: our guess, the opponent, no answer invented', () => {
  const state = json('gs2_round_timed_out.json').duel.state;
  assert.equal(duelsRoundResult(state, 1, 'player-blue'), null, 'the answer was removed: no truth, no result');
  const withTruth = structuredClone(state);
  withTruth.rounds[0].panorama = { lat: -2.0, lng: -79.9 };   // what the live state holds after the round
  const r = duelsRoundResult(withTruth, 1, 'player-blue');
  assert.deepEqual(r.truth, { lat: -2.0, lng: -79.9 });
  assert.equal(r.score, 1640);
  assert.ok(Math.abs(r.distanceKm - 2066.247) < 0.01);
  assert.deepEqual({ score: r.opponent.score, lat: Math.round(r.opponent.lat * 100) / 100 }, { score: 1660, lat: -4.39 });
  assert.equal(duelRoundSettled(withTruth, 1), true);
  assert.equal(duelRoundSettled(json('gs2_duel_started.json').duel.state, 1), false);
  // team duels: a player whose team-mate's guess counted has a null score: it stays null
  const team = structuredClone(withTruth);
  team.teams[0].players.push({ playerId: 'me', guesses: [{ roundNumber: 1, lat: 1, lng: 2, distance: null, score: null }] });
  const mine = duelsRoundResult(team, 1, 'me');
  assert.equal(mine.score, null);
  assert.equal(mine.distanceKm, null);
  assert.equal(mine.opponent.score, 1660);
});

test('the phonebook: live node, or the archive only once finished', () => {
  assert.deepEqual(phonebookRoute(json('phonebook_active.json')), { node: '8572118768954f1b877ded5bd7c29b1e', finished: false });
  assert.deepEqual(phonebookRoute(json('phonebook_finished.json')), { node: null, finished: true });
  assert.deepEqual(phonebookRoute({ gameServerNodeId: '../x', status: 'Active' }), { node: null, finished: false });
});

test('classic results from the finished game JSON', () => {
  const game = json('classic_game_finished.json');
  assert.equal(classicRoundResult(game, 1), null, 'the answer was removed');
  game.rounds[0].lat = -12.1;
  game.rounds[0].lng = -77.0;
  assert.deepEqual(classicRoundResult(game, 1), { roundNumber: 1, truth: { lat: -12.1, lng: -77.0 }, score: 3305,
    distanceKm: 765.8434375052782, opponent: null });
  assert.equal(classicRoundResult(game, null).roundNumber, 1, 'no number: the last round guessed');
  assert.equal(classicRoundResult(json('classic_game_started.json'), null), null);
});

test('the mini DOM refuses selectors it does not understand', () => {
  assert.throws(() => querySelectorAll(parseHTML('<p></p>'), 'p:hover'), /cannot parse/);
});
