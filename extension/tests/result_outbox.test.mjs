// ResultOutbox with a fake chrome.storage.local and a fake backend: a result is kept until the
// backend acks it (stored), kept across a restart of the service worker, sent again after a
// passing failure, dropped (with the reason) when the backend can never store it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResultOutbox, OUTBOX_KEY, errorCode } from '../lib/result_outbox.js';

class FakeStorage {
  constructor() { this.data = {}; this.writes = 0; }
  async get(key) { return key in this.data ? { [key]: structuredClone(this.data[key]) } : {}; }
  async set(obj) { this.writes += 1; Object.assign(this.data, structuredClone(obj)); }
}

class FakeTimers {
  constructor() { this.pending = []; }
  setTimeout(fn, ms) { this.pending.push({ fn, ms }); return this.pending.length; }
  clearTimeout() { this.pending = []; }
  fire() { const due = this.pending.splice(0); due.forEach((t) => t.fn()); }
}

/** A backend whose answer to each result is decided by `reply(msg)`: 'ack' or an error code. */
function backend(reply) {
  const seen = [];
  const send = async (msg) => {
    seen.push(msg.round_id);
    const r = reply(msg);
    if (r === 'ack') return { v: 1, type: 'ack', round_id: msg.round_id, of: 'result' };
    throw new Error(r === 'down' ? 'backend not connected (down: ...)' : `${r}: the backend says no`);
  };
  return { seen, send };
}

const result = (id, score = 100) => ({ v: 1, type: 'result', round_id: id, truth: { lat: 1, lng: 2 }, score, distance_km: null, opponent: null });

test('an acked result leaves the outbox; the storage never held it unsent', async () => {
  const storage = new FakeStorage();
  const b = backend(() => 'ack');
  const box = new ResultOutbox({ storage, send: b.send, timers: new FakeTimers() });
  const out = await box.add(result('g:1'));
  assert.deepEqual(out, { sent: ['g:1'], pending: 0 });
  assert.equal(box.size, 0);
  assert.deepEqual(storage.data[OUTBOX_KEY], []);
  assert.ok(storage.writes >= 2, 'written before sending, then emptied');
});

test('storage_failed keeps the result, persisted, and it is sent again until acked', async () => {
  const storage = new FakeStorage();
  const timers = new FakeTimers();
  let full = true;
  const b = backend(() => (full ? 'storage_failed' : 'ack'));
  const box = new ResultOutbox({ storage, send: b.send, timers, retryMs: 1000 });
  assert.deepEqual(await box.add(result('g:1')), { sent: [], pending: 1 });
  assert.deepEqual(await box.add(result('g:2')), { sent: [], pending: 2 });
  assert.equal(storage.data[OUTBOX_KEY].length, 2);
  assert.match(storage.data[OUTBOX_KEY][0].lastError, /storage_failed/);
  // the service worker is stopped and starts again: a new outbox reads what was kept
  const again = new ResultOutbox({ storage, send: b.send, timers, retryMs: 1000 });
  full = false;
  assert.deepEqual(await again.flush(), { sent: ['g:1', 'g:2'], pending: 0 });
  assert.deepEqual(storage.data[OUTBOX_KEY], []);
});

test('a retry is scheduled while the backend is down, and it sends the results in order', async () => {
  const storage = new FakeStorage();
  const timers = new FakeTimers();
  let up = false;
  const b = backend(() => (up ? 'ack' : 'down'));
  const box = new ResultOutbox({ storage, send: b.send, timers, retryMs: 1000 });
  await box.add(result('a:1'));
  await box.add(result('a:2'));
  assert.equal(timers.pending.length, 1, 'one retry timer, not one per result');
  up = true;
  timers.fire();
  await box.flush();
  assert.equal(box.size, 0);
  assert.deepEqual(b.seen.filter((id, i) => b.seen.indexOf(id) === i), ['a:1', 'a:2']);
});

test('results the backend can never store are dropped with the reason; the rest go on', async () => {
  const storage = new FakeStorage();
  const answers = { 'x:1': 'unknown_round', 'x:2': 'duplicate_round', 'x:3': 'ack' };
  const b = backend((m) => answers[m.round_id]);
  const box = new ResultOutbox({ storage, send: b.send, timers: new FakeTimers() });
  for (const id of ['x:1', 'x:2', 'x:3']) await box.add(result(id));
  assert.equal(box.size, 0);
  assert.deepEqual(box.dropped.map((d) => d.round_id), ['x:1', 'x:2']);
  assert.match(box.dropped[0].reason, /unknown_round/);
});

test('a newer result of the same round replaces the waiting one; the outbox is bounded', async () => {
  const storage = new FakeStorage();
  const b = backend(() => 'busy');
  const box = new ResultOutbox({ storage, send: b.send, timers: new FakeTimers(), maxItems: 3 });
  await box.add(result('r:1', 10));
  await box.add(result('r:1', 20));
  assert.equal(box.size, 1);
  assert.equal(storage.data[OUTBOX_KEY][0].msg.score, 20);
  for (const id of ['r:2', 'r:3', 'r:4']) await box.add(result(id));
  assert.equal(box.size, 3);
  assert.deepEqual(box.dropped.map((d) => [d.round_id, d.reason]), [['r:1', 'outbox full']]);
});

test('error codes are read from the connection\'s error messages', () => {
  assert.equal(errorCode(new Error('storage_failed: disk full')), 'storage_failed');
  assert.equal(errorCode(new Error('backend down: connection closed (1006)')), null);
  assert.equal(errorCode(new Error('no ack for r within 10000 ms')), null);
});
