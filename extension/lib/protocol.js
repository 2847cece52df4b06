// Websocket protocol v1 (docs/protocol.md), the JS twin of backend/core/protocol.py.
// parseMessage(text) checks a frame and returns a plain object with every optional field
// filled (null, or {} for timings); serialize(obj) writes one frame. Both throw ProtocolError
// with the same codes as the Python side; tests/fixtures/protocol/*.json keep the two honest.

export const PROTOCOL_VERSION = 1;
export const CLIENT_KINDS = ['extension', 'arena', 'screen', 'test'];
export const SOURCES = ['geoguessr', 'arena', 'screen', 'test'];
export const GAME_MODES = ['classic', 'duels', 'battle-royale', 'challenge', 'streak', 'arena', 'unknown'];
export const ERROR_CODES = ['bad_json', 'bad_message', 'unknown_type', 'unsupported_version',
  'auth_required', 'auth_failed', 'message_too_large', 'too_many_views', 'bad_image',
  'image_too_large', 'busy', 'server_full', 'duplicate_round', 'unknown_round', 'storage_failed',
  'shutting_down', 'internal'];
export const DEFAULT_MAX_VIEWS = 4;
const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_TEXT = 200;
// control characters and lone surrogates (a valid pair is two code units: not matched)
const UNSAFE_TEXT_RE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const MAX_TOP_K = 32;

export class ProtocolError extends Error {
  constructor(code, message, roundId = null) {
    super(`${code}: ${message}`);
    this.code = code;
    this.detail = message;
    this.roundId = roundId;
  }
}

const bad = (what) => new ProtocolError('bad_message', what);
const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);

function need(d, key, where) {
  if (!(key in d)) throw bad(`${where}: missing field '${key}'`);
  return d[key];
}
function str(v, name, { max = MAX_TEXT, empty = false } = {}) {
  if (typeof v !== 'string') throw bad(`'${name}' must be a string, got ${typeof v}`);
  if (!empty && !v) throw bad(`'${name}' must not be empty`);
  if (v.length > max) throw bad(`'${name}' is longer than ${max} characters`);
  const unsafe = UNSAFE_TEXT_RE.exec(v);
  if (unsafe) {
    const what = /[\ud800-\udfff]/.test(unsafe[0]) ? 'a lone surrogate' : 'a control character';
    throw bad(`'${name}' holds ${what} at position ${unsafe.index}; send plain UTF-8 text`);
  }
  return v;
}
function optBool(v, name) {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') throw bad(`'${name}' must be true, false or null`);
  return v;
}
const optStr = (v, name, opts) => (v === undefined || v === null ? null : str(v, name, opts));
function ident(v, name) {
  if (typeof v !== 'string' || !ID_RE.test(v)) {
    throw bad(`'${name}' must be 1-128 characters of A-Z a-z 0-9 . _ : -, got ${JSON.stringify(v)}`);
  }
  return v;
}
function num(v, name, lo = null, hi = null) {
  if (typeof v !== 'number') throw bad(`'${name}' must be a number, got ${typeof v}`);
  if (!Number.isFinite(v)) throw bad(`'${name}' must be finite`);
  if ((lo !== null && v < lo) || (hi !== null && v > hi)) throw bad(`'${name}' must lie in [${lo}, ${hi}], got ${v}`);
  return v;
}
const optNum = (v, name, lo, hi) => (v === undefined || v === null ? null : num(v, name, lo, hi));
function int(v, name, lo, hi) {
  if (!Number.isInteger(v)) throw bad(`'${name}' must be an integer`);
  if (v < lo || v > hi) throw bad(`'${name}' must lie in [${lo}, ${hi}], got ${v}`);
  return v;
}
function choice(v, name, choices) {
  if (!choices.includes(v)) throw bad(`'${name}' must be one of ${choices.join(', ')}; got ${JSON.stringify(v)}`);
  return v;
}
function obj(v, name) {
  if (!isObj(v)) throw bad(`'${name}' must be an object`);
  return v;
}
const lat = (v, name) => num(v, name, -90, 90);
const lng = (v, name) => num(v, name, -180, 180);
const opt = (v) => (v === undefined ? null : v);

function place(d, name) {
  obj(d, name);
  return { lat: lat(need(d, 'lat', name), `${name}.lat`), lng: lng(need(d, 'lng', name), `${name}.lng`),
    prob: optNum(d.prob, `${name}.prob`, 0, 1), country: optStr(d.country, `${name}.country`, { max: 64 }) };
}

/** Decode the first bytes of a base64 string (enough to check the JPEG magic). */
function headBytes(b64, n = 3) {
  const bin = atob(b64.slice(0, 4 * Math.ceil(n / 3)));
  return Array.from(bin.slice(0, n), (c) => c.charCodeAt(0));
}

function view(d, i) {
  obj(d, `views[${i}]`);
  const raw = need(d, 'jpeg', `views[${i}]`);
  if (typeof raw !== 'string') throw bad(`views[${i}].jpeg must be a base64 string`);
  if (!B64_RE.test(raw) || raw.length % 4 !== 0) {
    throw bad(`views[${i}].jpeg is not valid base64; send the JPEG bytes base64-encoded without a data: URL prefix`);
  }
  if (!raw) throw bad(`views[${i}].jpeg must hold the JPEG bytes (base64 on the wire)`);
  const head = headBytes(raw);
  if (!(head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff)) {
    throw new ProtocolError('bad_image', `views[${i}] is not a JPEG; capture the view as image/jpeg`);
  }
  return { heading: optNum(d.heading, `views[${i}].heading`, 0, 360), jpeg: raw };
}

const CHECKS = {
  hello(d) {
    const c = obj(need(d, 'client', 'hello'), 'client');
    return { token: str(need(d, 'token', 'hello'), 'token', { max: 256 }),
      client: { kind: choice(need(c, 'kind', 'client'), 'client.kind', CLIENT_KINDS),
        version: str(need(c, 'version', 'client'), 'client.version', { max: 64 }),
        name: optStr(c.name, 'client.name') } };
  },
  welcome(d) {
    const m = obj(need(d, 'model', 'welcome'), 'model');
    const l = obj(need(d, 'limits', 'welcome'), 'limits');
    return { session_id: ident(need(d, 'session_id', 'welcome'), 'session_id'),
      server_version: str(need(d, 'server_version', 'welcome'), 'server_version', { max: 64 }),
      model: { id: str(need(m, 'id', 'model'), 'model.id'), backbone: str(need(m, 'backbone', 'model'), 'model.backbone', { empty: true }),
        geocells: int(need(m, 'geocells', 'model'), 'model.geocells', 0, 10_000_000), device: str(need(m, 'device', 'model'), 'model.device', { max: 32 }) },
      limits: { max_message_bytes: int(need(l, 'max_message_bytes', 'limits'), 'limits.max_message_bytes', 1, 2 ** 31),
        max_views: int(need(l, 'max_views', 'limits'), 'limits.max_views', 1, 64),
        max_pixels: int(need(l, 'max_pixels', 'limits'), 'limits.max_pixels', 1, 2 ** 31),
        max_in_flight: int(need(l, 'max_in_flight', 'limits'), 'limits.max_in_flight', 1, 4096) } };
  },
  round(d, { maxViews = DEFAULT_MAX_VIEWS } = {}) {
    const roundId = ident(need(d, 'round_id', 'round'), 'round_id');
    try {
      const views = need(d, 'views', 'round');
      if (!Array.isArray(views)) throw bad("'views' must be a list of {heading, jpeg} objects");
      if (views.length > maxViews) throw new ProtocolError('too_many_views', `a round has at most ${maxViews} views, got ${views.length}`);
      if (!views.length) throw bad("'views' must hold 1 to 4 views");
      const out = { round_id: roundId,
        game_id: d.game_id === undefined || d.game_id === null ? null : ident(d.game_id, 'game_id'),
        round_number: d.round_number === undefined || d.round_number === null ? null : int(d.round_number, 'round_number', 1, 10000),
        source: choice(need(d, 'source', 'round'), 'source', SOURCES),
        mode: choice(need(d, 'mode', 'round'), 'mode', GAME_MODES),
        map: str(need(d, 'map', 'round'), 'map'), views: null };
      out.views = views.map(view);
      return out;
    } catch (err) {
      if (err instanceof ProtocolError) err.roundId = roundId;
      throw err;
    }
  },
  guess(d) {
    const topK = need(d, 'top_k', 'guess');
    if (!Array.isArray(topK) || topK.length > MAX_TOP_K) throw bad(`'top_k' must be a list of at most ${MAX_TOP_K} places`);
    const timings = d.timings === undefined || d.timings === null ? {} : d.timings;
    if (!isObj(timings)) throw bad("'timings' must be an object of name -> milliseconds");
    for (const [k, v] of Object.entries(timings)) { str(k, 'timings key', { max: 64 }); num(v, `timings.${k}`, 0); }
    return { round_id: ident(need(d, 'round_id', 'guess'), 'round_id'), lat: lat(need(d, 'lat', 'guess'), 'lat'),
      lng: lng(need(d, 'lng', 'guess'), 'lng'),
      projected_score: num(need(d, 'projected_score', 'guess'), 'projected_score', 0, 5000),
      confidence: num(need(d, 'confidence', 'guess'), 'confidence', 0, 1),
      country: optStr(d.country, 'country', { max: 64 }),
      top_k: topK.map((p, i) => place(p, `top_k[${i}]`)),
      latency_ms: num(need(d, 'latency_ms', 'guess'), 'latency_ms', 0), timings,
      model_id: str(need(d, 'model_id', 'guess'), 'model_id'), logged: optBool(d.logged, 'logged') };
  },
  result(d) {
    const roundId = ident(need(d, 'round_id', 'result'), 'round_id');
    const t = opt(d.truth);
    const o = opt(d.opponent);
    let opponent = null;
    if (o !== null) {
      obj(o, 'opponent');
      if ((opt(o.lat) === null) !== (opt(o.lng) === null)) throw bad("'opponent.lat' and 'opponent.lng' go together (both or neither)");
      opponent = { lat: optNum(o.lat, 'opponent.lat', -90, 90), lng: optNum(o.lng, 'opponent.lng', -180, 180),
        score: optNum(o.score, 'opponent.score', 0, 5000) };
    }
    const truth = t === null ? null : place(t, 'truth');
    return { round_id: roundId, truth: truth && { lat: truth.lat, lng: truth.lng },
      score: optNum(d.score, 'score', 0, 5000), distance_km: optNum(d.distance_km, 'distance_km', 0, 20100), opponent };
  },
  ack(d) {
    return { round_id: ident(need(d, 'round_id', 'ack'), 'round_id'), of: choice(d.of === undefined ? 'result' : d.of, 'of', ['result']) };
  },
  error(d) {
    const fatal = d.fatal === undefined ? false : d.fatal;
    if (typeof fatal !== 'boolean') throw bad("'fatal' must be true or false");
    const rid = opt(d.round_id);
    return { code: choice(need(d, 'code', 'error'), 'code', ERROR_CODES), message: str(need(d, 'message', 'error'), 'message', { max: 1000 }),
      round_id: rid === null ? null : ident(rid, 'round_id'), fatal };
  },
  ping(d) {
    const nonce = optStr(d.nonce, 'nonce', { max: 64 });
    return nonce === null ? {} : { nonce };
  },
};
CHECKS.pong = CHECKS.ping;
export const MESSAGE_TYPES = Object.keys(CHECKS);

/** Check a message object; returns its canonical form ({v, type, ...fields}). */
export function checkMessage(m, opts = {}) {
  if (!isObj(m)) throw new ProtocolError('bad_json', `a message must be a JSON object, got ${Array.isArray(m) ? 'list' : typeof m}`);
  if (!('v' in m)) throw bad("missing field 'v' (the protocol version, 1)");
  if (m.v !== PROTOCOL_VERSION) {
    throw new ProtocolError('unsupported_version', `this client speaks protocol v${PROTOCOL_VERSION}, the message has v=${JSON.stringify(m.v)}; update the extension or the server`);
  }
  const check = typeof m.type === 'string' && Object.hasOwn(CHECKS, m.type) ? CHECKS[m.type] : null;
  if (!check) throw new ProtocolError('unknown_type', `unknown message type ${JSON.stringify(m.type)}; v1 types are ${MESSAGE_TYPES.join(', ')}`);
  return { v: PROTOCOL_VERSION, type: m.type, ...check(m, opts) };
}

/** Parse one text frame. Throws ProtocolError (bad_json, unsupported_version, ...). */
export function parseMessage(text, opts = {}) {
  if (typeof text !== 'string') throw new ProtocolError('bad_json', 'the frame is not text; protocol v1 uses JSON text frames');
  let m;
  try { m = JSON.parse(text); } catch (err) {
    throw new ProtocolError('bad_json', `the frame is not valid JSON (${String(err.message).slice(0, 120)})`);
  }
  return checkMessage(m, opts);
}

/** Check and write a message as one frame's text. */
export function serialize(m) {
  return JSON.stringify(checkMessage(m));
}

// ---------------------------------------------------------------- builders
export const hello = (token, version, name = 'pigeon-bot extension') => ({ v: 1, type: 'hello', token, client: { kind: 'extension', version, name } });
export const ping = (nonce = null) => (nonce === null ? { v: 1, type: 'ping' } : { v: 1, type: 'ping', nonce });

/** A round message. views: [{jpeg: base64 (no data: prefix), heading}] */
export function round({ roundId, gameId = null, roundNumber = null, source, mode, map = 'world', views }) {
  return { v: 1, type: 'round', round_id: roundId, game_id: gameId, round_number: roundNumber, source, mode, map, views };
}

export function result({ roundId, truth = null, score = null, distanceKm = null, opponent = null }) {
  return { v: 1, type: 'result', round_id: roundId, truth, score, distance_km: distanceKm, opponent };
}

/** Strip a data: URL prefix (captureVisibleTab's answer) to bare base64. */
export function stripDataUrl(dataUrl) {
  const i = dataUrl.indexOf('base64,');
  return i >= 0 ? dataUrl.slice(i + 7) : dataUrl;
}

/** A protocol-safe id from free text (GeoGuessr game ids are already safe). */
export function safeId(text) {
  const s = String(text).replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128);
  return s || 'x';
}
