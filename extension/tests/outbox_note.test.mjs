// The popup's outbox line from the worker's status(): how many results wait to be stored,
// how many the backend refused for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboxNote } from '../popup/outbox_note.js';

test('nothing waiting, nothing lost: no line', () => {
  assert.equal(outboxNote({ resultsWaiting: 0 }), '');
  assert.equal(outboxNote({}), '');
  assert.equal(outboxNote(null), '');
});

test('the results waiting in the outbox are counted', () => {
  assert.equal(outboxNote({ resultsWaiting: 1 }),
    '1 result waiting to be stored in the score log (kept here and sent again when the backend can store it)');
  assert.match(outboxNote({ resultsWaiting: 3 }), /^3 results waiting to be stored .* store them\)$/);
});

test('results refused for good are said, with the last reason', () => {
  const line = outboxNote({ resultsWaiting: 2, resultsDropped: 1,
    lastDropped: "duplicate_round: round 'g:2' already has a result" });
  assert.match(line, /^2 results waiting .*\. 1 result refused by the backend, not stored; last: duplicate_round: /);
  assert.equal(outboxNote({ resultsDropped: 2 }), '2 results refused by the backend, not stored');
});

test('odd values from an old worker read as none', () => {
  for (const v of [-1, 1.5, '3', NaN, undefined]) assert.equal(outboxNote({ resultsWaiting: v, resultsDropped: v }), '');
});
