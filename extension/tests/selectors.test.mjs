// geoguessr.com selectors against hand-made fixtures with expected match counts
// (fixtures/geoguessr/expected_counts.json; the same counts are checked in real Chromium by
// tests/test_extension_selectors.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { SELECTORS, pageOf, parseCompassRotation, parseRoundNumber } from '../sites/geoguessr/selectors.js';
import { classicRoundResult, duelsRoundResult } from '../sites/geoguessr/results.js';
import { parseHTML, querySelectorAll, textOf } from './helpers/mini_dom.mjs';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'geoguessr');
const expected = JSON.parse(readFileSync(path.join(dir, 'expected_counts.json'), 'utf8'));

test('every selector has an expected count in every fixture', () => {
  for (const [file, counts] of Object.entries(expected)) {
    assert.deepEqual(Object.keys(counts).sort(), Object.keys(SELECTORS).sort(), file);
  }
});

for (const [file, counts] of Object.entries(expected)) {
  test(`selectors on ${file}`, () => {
    const doc = parseHTML(readFileSync(path.join(dir, file), 'utf8'));
    for (const [name, want] of Object.entries(counts)) {
      assert.equal(querySelectorAll(doc, SELECTORS[name]).length, want, `${name} (${SELECTORS[name]}) in ${file}`);
    }
  });
}

test('round number and compass heading are read from the fixtures', () => {
  const duel = parseHTML(readFileSync(path.join(dir, 'duels_round.html'), 'utf8'));
  assert.equal(parseRoundNumber(textOf(querySelectorAll(duel, SELECTORS.roundNumber)[0])), 3);
  const needle = querySelectorAll(duel, SELECTORS.compassNeedle)[0];
  assert.equal(parseCompassRotation(needle.attrs.style), 90);
  const classic = parseHTML(readFileSync(path.join(dir, 'classic_round.html'), 'utf8'));
  assert.equal(parseRoundNumber(textOf(querySelectorAll(classic, SELECTORS.roundNumber)[0])), 2);
  assert.equal(parseRoundNumber(''), null);
  assert.equal(parseCompassRotation('none'), null);
  assert.equal(parseCompassRotation('rotate(45deg)'), 315);
  // a computed style gives a matrix: rotate(-90deg) = matrix(0, -1, 1, 0, 0, 0)
  assert.equal(parseCompassRotation('matrix(6.12323e-17, -1, 1, 6.12323e-17, 0, 0)'), 90);
  assert.equal(parseCompassRotation('matrix(1, 0, 0, 1, 0, 0)'), 0);
});

test('page kinds from URLs', () => {
  assert.deepEqual(pageOf('/duels/5f1e-duel-7c1e'), { kind: 'duels', gameId: '5f1e-duel-7c1e' });
  assert.deepEqual(pageOf('/de/duels/abc-1/'), { kind: 'duels', gameId: 'abc-1' });
  assert.deepEqual(pageOf('/game/AbC123xyz'), { kind: 'classic', gameId: 'AbC123xyz' });
  assert.deepEqual(pageOf('/maps/world'), { kind: null, gameId: null });
});

test('results are read from the game answers (after the round)', () => {
  const game = JSON.parse(readFileSync(path.join(dir, 'classic_game.json'), 'utf8'));
  assert.deepEqual(classicRoundResult(game, 2), { truth: { lat: -33.87, lng: 151.21 }, score: 3412, distanceKm: 443.21, opponent: null });
  assert.equal(classicRoundResult(game, 4), null);
  const duel = JSON.parse(readFileSync(path.join(dir, 'duel.json'), 'utf8'));
  const r = duelsRoundResult(duel, 3, 'me-123');
  assert.deepEqual(r.truth, { lat: 48.1173, lng: -1.6778 });
  assert.equal(r.score, 4210);
  assert.equal(r.distanceKm, 102.3456);
  assert.deepEqual(r.opponent, { lat: 45.0, lng: 1.0, score: 3155 });
  assert.equal(duelsRoundResult(duel, 9, 'me-123'), null);
});

test('the mini DOM refuses selectors it does not understand', () => {
  assert.throws(() => querySelectorAll(parseHTML('<p></p>'), 'p:hover'), /cannot parse/);
});
