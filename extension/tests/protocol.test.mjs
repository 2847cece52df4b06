// The JS protocol against the golden messages the Python side is tested with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseMessage, serialize, checkMessage, ProtocolError, round, result, hello, stripDataUrl, safeId } from '../lib/protocol.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../tests/fixtures/protocol');
const files = readdirSync(fixtures).filter((f) => f.endsWith('.json'));

test('the golden fixtures are there', () => {
  assert.ok(files.length >= 20, `only ${files.length} fixtures in ${fixtures}`);
});

function sameWithDefaults(actual, expected, where) {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual) && actual.length === expected.length, where);
    expected.forEach((e, i) => sameWithDefaults(actual[i], e, `${where}[${i}]`));
  } else if (expected !== null && typeof expected === 'object') {
    for (const [k, v] of Object.entries(expected)) sameWithDefaults(actual[k], v, `${where}.${k}`);
    for (const [k, v] of Object.entries(actual)) {
      if (!(k in expected)) assert.ok(v === null || (typeof v === 'object' && Object.keys(v).length === 0), `${where}: extra ${k}=${JSON.stringify(v)}`);
    }
  } else {
    assert.deepEqual(actual, expected, where);
  }
}

for (const file of files) {
  const fx = JSON.parse(readFileSync(path.join(fixtures, file), 'utf8'));
  const frame = fx.raw !== undefined ? fx.raw : JSON.stringify(fx.message);
  test(`golden ${fx.name}: ${fx.valid ? 'accepted' : `refused with ${fx.error_code}`}`, () => {
    if (fx.valid) {
      const parsed = parseMessage(frame);
      const again = JSON.parse(serialize(parsed));
      // every field of the fixture survives; fields the fixture left out come back empty
      sameWithDefaults(again, fx.message, fx.name);
    } else {
      assert.throws(() => parseMessage(frame), (err) => err instanceof ProtocolError && err.code === fx.error_code);
    }
  });
}

test('builders make valid messages', () => {
  const jpeg = '/9j/4AAQSkZJRgABAQAAAQABAAD/';
  const r = round({ roundId: 'arena-g1:1', gameId: 'arena-g1', roundNumber: 1, source: 'arena', mode: 'arena', views: [{ jpeg, heading: 0 }] });
  assert.equal(checkMessage(r).views[0].heading, 0);
  assert.throws(() => checkMessage(round({ roundId: 'a b', source: 'arena', mode: 'arena', views: [{ jpeg }] })), /round_id/);
  assert.equal(checkMessage(result({ roundId: 'r', truth: { lat: 1, lng: 2 }, score: 100 })).score, 100);
  assert.throws(() => checkMessage(result({ roundId: 'r', score: 5001 })), ProtocolError);
  assert.equal(checkMessage(hello('tok', '0.1.0')).client.kind, 'extension');
  assert.equal(stripDataUrl('data:image/jpeg;base64,/9j/AA'), '/9j/AA');
  assert.equal(safeId('game one/2'), 'game-one-2');
});
