// BackendConnection with a fake WebSocket and fake timers: hello, welcome, ping every 20 s,
// guesses matched by round_id, reconnect with backoff, no retry after a wrong token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendConnection, PING_MS } from '../lib/connection.js';
import { Backoff } from '../lib/backoff.js';

class FakeTimers {
  constructor() { this.now = 0; this.seq = 0; this.items = new Map(); }
  setTimeout(fn, ms) { const id = ++this.seq; this.items.set(id, { fn, at: this.now + ms }); return id; }
  clearTimeout(id) { this.items.delete(id); }
  setInterval(fn, ms) { const id = ++this.seq; this.items.set(id, { fn, at: this.now + ms, every: ms }); return id; }
  clearInterval(id) { this.items.delete(id); }
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.items.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, t] = due;
      this.now = t.at;
      if (t.every) t.at += t.every; else this.items.delete(id);
      t.fn();
    }
    this.now = end;
  }
}

const WELCOME = { v: 1, type: 'welcome', session_id: 's-1', server_version: '0.1.0', model: { id: 'm', backbone: 'tiny', geocells: 6, device: 'cpu' },
  limits: { max_message_bytes: 1000, max_views: 4, max_pixels: 100, max_in_flight: 4 } };
const JPEG = '/9j/4AAQSkZJRgABAQAAAQABAAD/';

function fakeSocketClass(log) {
  return class FakeWS {
    constructor(url) { this.url = url; this.sent = []; log.push(this); }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() { this.onclose && this.onclose({ code: 1000 }); }
    open() { this.onopen(); }
    deliver(msg) { this.onmessage({ data: JSON.stringify(msg) }); }
  };
}

function setup() {
  const sockets = [];
  const timers = new FakeTimers();
  const states = [];
  const conn = new BackendConnection({ url: 'ws://127.0.0.1:1/', token: 'tok', version: '0.1.0', WebSocketImpl: fakeSocketClass(sockets),
    timers, backoff: new Backoff({ rand: () => 0.5 }), onState: (s) => states.push(s) });
  return { sockets, timers, states, conn };
}

test('hello, welcome, ping every 20 s, pong answered', () => {
  const { sockets, timers, conn } = setup();
  conn.connect();
  sockets[0].open();
  assert.equal(sockets[0].sent[0].type, 'hello');
  assert.equal(sockets[0].sent[0].token, 'tok');
  sockets[0].deliver(WELCOME);
  assert.equal(conn.state, 'connected');
  timers.advance(PING_MS * 3);
  assert.equal(sockets[0].sent.filter((m) => m.type === 'ping').length, 3);
  sockets[0].deliver({ v: 1, type: 'ping', nonce: 'n1' });
  assert.deepEqual(sockets[0].sent.at(-1), { v: 1, type: 'pong', nonce: 'n1' });
});

test('a round resolves with its guess, matched by round_id', async () => {
  const { sockets, conn } = setup();
  conn.connect(); sockets[0].open(); sockets[0].deliver(WELCOME);
  const round = { v: 1, type: 'round', round_id: 'g:1', source: 'arena', mode: 'arena', map: 'world', views: [{ jpeg: JPEG, heading: 0 }] };
  const p = conn.request(round);
  assert.equal(sockets[0].sent.at(-1).round_id, 'g:1');
  sockets[0].deliver({ v: 1, type: 'guess', round_id: 'other', lat: 0, lng: 0, projected_score: 1, confidence: 0, top_k: [], latency_ms: 1, model_id: 'm' });
  sockets[0].deliver({ v: 1, type: 'guess', round_id: 'g:1', lat: 1, lng: 2, projected_score: 3000, confidence: 0.5, top_k: [], latency_ms: 5, model_id: 'm' });
  const g = await p;
  assert.equal(g.lat, 1);
  const bad = conn.request({ ...round, round_id: 'g:2' });
  sockets[0].deliver({ v: 1, type: 'error', code: 'bad_image', message: 'nope', round_id: 'g:2', fatal: false });
  await assert.rejects(bad, /bad_image/);
});

test('reconnects with growing backoff after the backend goes away', () => {
  const { sockets, timers, conn, states } = setup();
  conn.connect(); sockets[0].open(); sockets[0].deliver(WELCOME);
  sockets[0].onclose({ code: 1006 });
  assert.equal(conn.state, 'down');
  timers.advance(499);
  assert.equal(sockets.length, 1);
  timers.advance(1);
  assert.equal(sockets.length, 2);          // first retry after 0.5 s
  sockets[1].onclose({ code: 1006 });
  timers.advance(999);
  assert.equal(sockets.length, 2);
  timers.advance(1);
  assert.equal(sockets.length, 3);          // then 1 s
  sockets[2].open(); sockets[2].deliver(WELCOME);
  assert.equal(conn.state, 'connected');
  assert.ok(states.includes('down'));
});

test('pending rounds fail fast when the connection drops', async () => {
  const { sockets, conn } = setup();
  conn.connect(); sockets[0].open(); sockets[0].deliver(WELCOME);
  const p = conn.request({ v: 1, type: 'round', round_id: 'g:1', source: 'arena', mode: 'arena', map: 'world', views: [{ jpeg: JPEG }] });
  sockets[0].onclose({ code: 1006 });
  await assert.rejects(p, /backend down/);
});

test('a wrong token is reported and not retried', () => {
  const { sockets, timers, conn } = setup();
  conn.connect(); sockets[0].open();
  sockets[0].deliver({ v: 1, type: 'error', code: 'auth_failed', message: 'wrong token', round_id: null, fatal: true });
  sockets[0].onclose({ code: 1008 });
  assert.equal(conn.state, 'auth_failed');
  timers.advance(60000);
  assert.equal(sockets.length, 1);
});

test('no token: unpaired, no socket', () => {
  const sockets = [];
  const conn = new BackendConnection({ url: 'ws://x/', token: '', version: '0', WebSocketImpl: fakeSocketClass(sockets), timers: new FakeTimers() });
  conn.connect();
  assert.equal(conn.state, 'unpaired');
  assert.equal(sockets.length, 0);
  assert.throws(() => conn.send({ v: 1, type: 'ping' }), /not connected/);
});
