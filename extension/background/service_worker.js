// The service worker: one websocket to the backend, one handler map for every message from
// the content scripts and the popup, the tab capture, and the site requests (content-script
// fetches are bound by the page's CORS rules, so network calls go through here).
import { BackendConnection } from '../lib/connection.js';
import { loadSettings, saveSettings, validateSettings } from '../lib/settings.js';
import { checkMessage, result as resultMessage, round as roundMessage } from '../lib/protocol.js';
import { isAllowedSiteUrl } from '../lib/site_requests.js';
import { ResultOutbox } from '../lib/result_outbox.js';

const VERSION = chrome.runtime.getManifest().version;
const startedAt = Date.now();
let settings = null;
let conn = null;
const requestLog = [];       // every site request this worker made: {t, method, url, status}
const MAX_LOG = 500;

// results wait here (chrome.storage.local) until the backend acks them: an ack means stored
const outbox = new ResultOutbox({
  storage: chrome.storage.local,
  send: async (m) => (await requireConnection()).request(m, 10000),
});

function connect() {
  if (conn) conn.close();
  conn = null;
  if (!settings || settings.mode === 'off') return;
  conn = new BackendConnection({ url: settings.backendUrl, token: settings.token, version: VERSION,
    onState: (state) => { if (state === 'connected') outbox.flush(); } });
  conn.connect();
}

const ready = (async () => {
  settings = await loadSettings();
  await outbox.load();          // results kept by an earlier life of this worker
  connect();
})();

function status() {
  return {
    state: conn ? conn.state : 'off', detail: conn ? conn.detail : 'mode is off',
    model: conn && conn.welcome ? conn.welcome.model : null, mode: settings.mode,
    views: settings.views, overlay: settings.overlay, workerStartedAt: startedAt,
    resultsWaiting: outbox.size, resultsDropped: outbox.dropped.length,
    lastDropped: outbox.dropped.length ? outbox.dropped[outbox.dropped.length - 1].reason : null,
  };
}

async function capture(sender) {
  const windowId = sender.tab ? sender.tab.windowId : chrome.windows.WINDOW_ID_CURRENT;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const dataUrl = await chrome.tabs.captureVisibleTab(windowId, { format: 'jpeg', quality: 85 });
      return { dataUrl, t: Date.now() };
    } catch (err) {
      // Chrome allows about 2 captures a second: wait for the quota, do not give up
      if (attempt < 20 && /MAX_CAPTURE|quota|exceeds/i.test(String(err.message))) {
        await new Promise((r) => setTimeout(r, 150));
        continue;
      }
      throw err;
    }
  }
}

async function siteFetch({ url, method = 'GET', body = null, headers = {}, credentials = 'omit', retryOn400 = 0 }) {
  if (!isAllowedSiteUrl(url)) throw new Error(`the extension does not call ${url}`);
  for (let attempt = 0; ; attempt += 1) {
    const res = await fetch(url, {
      method, credentials,
      headers: { ...(body !== null ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body !== null ? JSON.stringify(body) : undefined,
    });
    requestLog.push({ t: Date.now(), method, url, status: res.status });
    if (requestLog.length > MAX_LOG) requestLog.shift();
    if (res.status === 400 && attempt < retryOn400) { await new Promise((r) => setTimeout(r, 300 * (attempt + 1))); continue; }
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: res.status, ok: res.ok, json, text: json === null ? text.slice(0, 500) : null };
  }
}

async function requireConnection() {
  if (!conn) throw new Error(settings.mode === 'off' ? 'the extension is off' : 'not paired');
  await conn.ready(4000);
  return conn;
}

/** Cut one capture into a cols x rows grid of JPEGs (base64, row by row). */
async function cropGrid(dataUrl, cols, rows) {
  const bitmap = await createImageBitmap(await (await fetch(dataUrl)).blob());
  const w = Math.floor(bitmap.width / cols);
  const h = Math.floor(bitmap.height / rows);
  const out = [];
  for (let r = 0; r < rows; r += 1) {
    for (let c = 0; c < cols; c += 1) {
      const canvas = new OffscreenCanvas(w, h);
      canvas.getContext('2d').drawImage(bitmap, c * w, r * h, w, h, 0, 0, w, h);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 })).arrayBuffer());
      let bin = '';
      for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      out.push(btoa(bin));
    }
  }
  bitmap.close();
  return out;
}

const handlers = {
  async status() { return status(); },
  async getSettings() { return { ...settings }; },
  async saveSettings(msg) {
    const before = settings;
    settings = await saveSettings(msg.settings);
    if (!before || ['backendUrl', 'token', 'mode'].some((k) => before[k] !== settings[k]) || !conn ||
        conn.state === 'auth_failed') connect();
    return { ...settings };
  },
  async checkSettings(msg) { return validateSettings(msg.settings).errors; },
  async capture(msg, sender) {
    const shot = await capture(sender);
    if (!msg.grid) return shot;
    const cols = Math.max(1, Math.min(4, Number(msg.grid.cols) || 1));
    const rows = Math.max(1, Math.min(4, Number(msg.grid.rows) || 1));
    return { jpegs: await cropGrid(shot.dataUrl, cols, rows), t: shot.t };
  },
  async predict(msg) {
    const c = await requireConnection();
    const m = checkMessage(roundMessage(msg.round));
    const t0 = Date.now();
    const guess = await c.request(m);
    return { ...guess, roundTripMs: Date.now() - t0 };
  },
  async result(msg) {
    // kept until stored: resolves with the ack, or says the result waits in the outbox
    const m = checkMessage(resultMessage(msg.result));
    const t0 = Date.now();
    await outbox.add(m);
    if (outbox.has(m.round_id)) return { queued: true, round_id: m.round_id, waiting: outbox.size };
    const dropped = outbox.dropped.find((d) => d.round_id === m.round_id && d.at >= t0);
    if (dropped) throw new Error(`result not stored: ${dropped.reason}`);
    return { v: 1, type: 'ack', round_id: m.round_id, of: 'result' };
  },
  async outbox() { await outbox.load(); return { waiting: outbox.items.slice(), dropped: outbox.dropped.slice() }; },
  async siteFetch(msg) { return siteFetch(msg.request); },
  async requestLog() { return requestLog.slice(); },
  async reconnect() { connect(); return status(); },
};

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  const handler = msg && handlers[msg.type];
  if (!handler) { sendResponse({ ok: false, error: `unknown request ${msg && msg.type}` }); return false; }
  ready
    .then(() => handler(msg, sender))
    .then((value) => sendResponse({ ok: true, value }))
    .catch((err) => sendResponse({ ok: false, error: String(err && err.message ? err.message : err) }));
  return true;   // the answer comes asynchronously
});

chrome.storage.onChanged.addListener((changes, area) => {
  if (area !== 'local' || !changes.settings) return;
  const next = validateSettings(changes.settings.newValue).settings;
  const relink = !settings || ['backendUrl', 'token', 'mode'].some((k) => next[k] !== settings[k]) ||
    (conn === null) !== (next.mode === 'off');
  settings = next;
  if (relink) connect();
});

// for tests and debugging from the worker's console
globalThis.pigeon = { handlers, status, outbox, get settings() { return settings; }, get conn() { return conn; }, requestLog };
