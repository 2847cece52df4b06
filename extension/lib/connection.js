// One websocket to the backend: hello/welcome, ping every 20 s, reconnect with backoff,
// rounds matched to guesses by round_id. The WebSocket class and timers are injected, so
// node tests drive it with a fake socket and a fake clock.
import { Backoff } from './backoff.js';
import { hello, parseMessage, ping, serialize } from './protocol.js';

export const PING_MS = 20000;          // < 30 s: keeps a Manifest V3 service worker alive
export const ROUND_TIMEOUT_MS = 30000;

export class BackendConnection {
  /**
   * @param {object} o
   * @param {string} o.url  ws:// URL of `pigeon serve`
   * @param {string} o.token  the pairing token
   * @param {string} o.version  extension version (goes into hello)
   * @param {Function} [o.WebSocketImpl]  WebSocket class
   * @param {Function} [o.onState]  called with (state, detail) on every change
   */
  constructor({ url, token, version, WebSocketImpl = globalThis.WebSocket, onState = () => {},
    timers = globalThis, backoff = new Backoff() }) {
    Object.assign(this, { url, token, version, WebSocketImpl, onState, timers, backoff });
    this.state = 'idle';
    this.detail = '';
    this.ws = null;
    this.pending = new Map();   // round_id -> {resolve, reject, timer, kind}
    this.waiters = [];          // resolved when connected
    this.closed = false;
    this.welcome = null;
    this.pingTimer = null;
    this.retryTimer = null;
    this.lastPongAt = null;
  }

  setState(state, detail = '') {
    this.state = state;
    this.detail = detail;
    this.onState(state, detail);
  }

  connect() {
    if (this.closed || this.ws) return;
    if (!this.token) { this.setState('unpaired', 'no token: paste the token `pigeon serve` printed into the extension options'); return; }
    this.setState('connecting', this.url);
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch (err) {
      this.scheduleRetry(`cannot open ${this.url}: ${err.message}`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => ws.send(serialize(hello(this.token, this.version)));
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onerror = () => {};
    ws.onclose = (ev) => this.onClose(ev);
  }

  onFrame(text) {
    let msg;
    try { msg = parseMessage(text); } catch (err) { this.setState(this.state, `bad frame from the backend: ${err.message}`); return; }
    if (msg.type === 'welcome') {
      this.welcome = msg;
      this.backoff.reset();
      this.setState('connected', `${msg.model.id} on ${msg.model.device}`);
      this.startPing();
      const w = this.waiters.splice(0);
      w.forEach((f) => f.resolve());
    } else if (msg.type === 'ping') {
      this.send({ v: 1, type: 'pong', ...(msg.nonce ? { nonce: msg.nonce } : {}) });
    } else if (msg.type === 'pong') {
      this.lastPongAt = Date.now();
    } else if (msg.type === 'guess' || msg.type === 'ack') {
      this.settle(msg.round_id, msg.type, (p) => p.resolve(msg));
    } else if (msg.type === 'error') {
      if (msg.fatal) {
        this.fatal = msg;
        this.setState(msg.code === 'auth_failed' ? 'auth_failed' : 'error', msg.message);
      }
      if (msg.round_id) this.settle(msg.round_id, null, (p) => p.reject(new Error(`${msg.code}: ${msg.message}`)));
    }
  }

  settle(roundId, kind, fn) {
    const key = this.pending.has(`${kind}:${roundId}`) ? `${kind}:${roundId}` :
      [...this.pending.keys()].find((k) => k.endsWith(`:${roundId}`));
    const p = key && this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    this.timers.clearTimeout(p.timer);
    fn(p);
  }

  onClose(ev) {
    this.ws = null;
    this.stopPing();
    const why = this.fatal ? this.fatal.message : `connection closed (${ev && ev.code ? ev.code : 'no answer'})`;
    for (const [key, p] of this.pending) { this.timers.clearTimeout(p.timer); p.reject(new Error(`backend down: ${why}`)); this.pending.delete(key); }
    if (this.closed) { this.setState('idle'); return; }
    if (this.fatal && this.fatal.code === 'auth_failed') return;   // retrying cannot help
    this.fatal = null;
    this.scheduleRetry(why);
  }

  scheduleRetry(why) {
    const delay = this.backoff.next();
    this.setState('down', `${why}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.retryTimer = this.timers.setTimeout(() => { this.retryTimer = null; this.connect(); }, delay);
  }

  startPing() {
    this.stopPing();
    let n = 0;
    this.pingTimer = this.timers.setInterval(() => { n += 1; this.send(ping(`k-${n}`)); }, PING_MS);
  }

  stopPing() { if (this.pingTimer) this.timers.clearInterval(this.pingTimer); this.pingTimer = null; }

  send(msg) {
    if (!this.ws || this.state !== 'connected') throw new Error(`backend not connected (${this.state}: ${this.detail})`);
    this.ws.send(serialize(msg));
  }

  /** Resolve once connected (or reject after timeoutMs). */
  ready(timeoutMs = 5000) {
    if (this.state === 'connected') return Promise.resolve();
    if (!this.ws && !this.retryTimer) this.connect();
    return new Promise((resolve, reject) => {
      const entry = { resolve: () => { this.timers.clearTimeout(t); resolve(); } };
      const t = this.timers.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== entry);
        reject(new Error(`backend not reachable (${this.state}: ${this.detail})`));
      }, timeoutMs);
      this.waiters.push(entry);
    });
  }

  /** Send a round or result message; resolves with the guess / ack. */
  request(msg, timeoutMs = ROUND_TIMEOUT_MS) {
    const kind = msg.type === 'round' ? 'guess' : 'ack';
    return new Promise((resolve, reject) => {
      const key = `${kind}:${msg.round_id}`;
      const timer = this.timers.setTimeout(() => { this.pending.delete(key); reject(new Error(`no ${kind} for ${msg.round_id} within ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(key, { resolve, reject, timer });
      try { this.send(msg); } catch (err) { this.pending.delete(key); this.timers.clearTimeout(timer); reject(err); }
    });
  }

  close() {
    this.closed = true;
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.stopPing();
    if (this.ws) this.ws.close(1000, 'bye');
  }
}
