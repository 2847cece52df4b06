// The arena's game page: panorama viewer, guess map, timer, round results.
// It talks only to the JSON game API (see bot/arena/api.py). The page exposes its state on
// <body data-phase data-round data-game-id data-guessed> and the viewer's on
// [data-qa=panorama] data-view-index / data-heading / data-view-ready, so the extension's
// arena adapter can follow the game without reading any round data.
/* global L */
const $ = (sel) => document.querySelector(sel);
const gid = location.pathname.split('/').pop();
const token = new URLSearchParams(location.search).get('t') || '';
const api = (path) => `/api/games/${gid}${path}${path.includes('?') ? '&' : '?'}t=${encodeURIComponent(token)}`;

const ui = {
  state: null, round: 0, views: 0, view: 0, pin: null, marker: null,
  shownResult: 0, deadline: null, failures: 0,
};

async function call(path, body) {
  const opts = body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  };
  const res = await fetch(api(path), opts);
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

function status(text, isError = false) {
  $('#status').textContent = text;
  $('#status').className = isError ? 'error' : '';
}

// ---------------------------------------------------------------- viewer
function showView(i) {
  if (!ui.views) return;
  if ($('#viewer').dataset.layout === 'grid') { $('#viewer').dataset.layout = 'single'; $('#view-grid').hidden = true; $('#view-img').hidden = false; }
  ui.view = ((i % ui.views) + ui.views) % ui.views;
  const viewer = $('#viewer');
  viewer.dataset.viewReady = 'false';
  viewer.dataset.viewIndex = String(ui.view);
  const heading = Math.round((360 / ui.views) * ui.view) % 360;
  viewer.dataset.heading = String(heading);
  $('#compass').textContent = `${heading}°`;
  const img = $('#view-img');
  $('#view-missing').hidden = true;
  img.onload = () => {
    img.decode().catch(() => {}).then(() => {
      // two frames later the pixels are on screen: this is the page's "view ready" signal
      requestAnimationFrame(() => requestAnimationFrame(() => {
        if (viewer.dataset.viewIndex === String(ui.view) && viewer.dataset.layout !== 'grid') viewer.dataset.viewReady = 'true';
      }));
    });
  };
  img.onerror = async () => {
    const res = await fetch(img.src).catch(() => null);
    const msg = res ? (await res.json().catch(() => ({}))).error : 'the arena is not answering';
    $('#view-missing').textContent = msg || 'this view could not be loaded';
    $('#view-missing').hidden = false;
    viewer.dataset.viewReady = 'true';  // settled: an error message is what there is to see
  };
  img.src = api(`/rounds/${ui.round}/views/${ui.view}`);
}

// The grid layout shows every heading at once, 2 x 2 in heading order (a contact sheet):
// data-layout="grid", and data-view-ready="true" once every image is decoded and painted.
function setLayout(layout) {
  const viewer = $('#viewer');
  const grid = $('#view-grid');
  if (layout === 'grid' && ui.views > 1) {
    viewer.dataset.viewReady = 'false';
    viewer.dataset.layout = 'grid';
    $('#view-img').hidden = true;
    grid.hidden = false;
    const key = `${ui.round}`;
    const imgs = [...Array(ui.views).keys()].map((k) => {
      const img = new Image();
      img.alt = `heading ${k + 1}`;
      img.src = api(`/rounds/${ui.round}/views/${k}`);
      return img;
    });
    grid.replaceChildren(...imgs);
    Promise.allSettled(imgs.map((im) => im.decode())).then(() => {
      requestAnimationFrame(() => requestAnimationFrame(() => {
        if (viewer.dataset.layout === 'grid' && `${ui.round}` === key) viewer.dataset.viewReady = 'true';
      }));
    });
  } else {
    viewer.dataset.layout = 'single';
    grid.hidden = true;
    grid.replaceChildren();
    $('#view-img').hidden = false;
    showView(ui.view);
  }
}

function setupViewer() {
  $('#toggle-grid').addEventListener('click', () => setLayout($('#viewer').dataset.layout === 'grid' ? 'single' : 'grid'));
  $('#turn-left').addEventListener('click', () => showView(ui.view - 1));
  $('#turn-right').addEventListener('click', () => showView(ui.view + 1));
  document.addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement) return;
    if (ev.key === 'ArrowLeft' || ev.key === 'a') showView(ui.view - 1);
    else if (ev.key === 'ArrowRight' || ev.key === 'd') showView(ui.view + 1);
    else if (ev.key === 'g') setLayout($('#viewer').dataset.layout === 'grid' ? 'single' : 'grid');
    else if (ev.key === ' ' && !$('#guess-button').disabled) submitGuess();
  });
  let dragX = null;
  const viewer = $('#viewer');
  viewer.addEventListener('pointerdown', (ev) => { dragX = ev.clientX; });
  viewer.addEventListener('pointerup', () => { dragX = null; });
  viewer.addEventListener('pointermove', (ev) => {
    if (dragX === null) return;
    const dx = ev.clientX - dragX;
    if (Math.abs(dx) > 80) { showView(ui.view + (dx < 0 ? 1 : -1)); dragX = ev.clientX; }
  });
}

// ---------------------------------------------------------------- maps
const borderStyle = { color: '#203040', weight: 0.8, fillColor: '#e9e4d4', fillOpacity: 1 };
const admin1Style = { color: '#8a8170', weight: 0.4, fill: false };
let countries = null;
let admin1 = null;

async function loadLayer(level) {
  const res = await fetch(`/api/map/${level}.geojson`);
  return res.ok ? res.json() : { features: [] };
}

function makeMap(el, interactive) {
  const map = L.map(el, { worldCopyJump: true, minZoom: 1, maxZoom: 12, zoomSnap: 0.5,
                          attributionControl: false });
  map.setView([20, 0], 1);
  const paint = () => {
    if (countries) L.geoJSON(countries, { style: borderStyle, interactive: false }).addTo(map);
  };
  if (countries) paint(); else loadLayer('admin0').then((g) => { countries = g; paint(); });
  let a1layer = null;
  map.on('zoomend', async () => {
    if (map.getZoom() >= 4 && !a1layer) {
      admin1 = admin1 || await loadLayer('admin1');
      a1layer = L.geoJSON(admin1, { style: admin1Style, interactive: false }).addTo(map);
    } else if (map.getZoom() < 4 && a1layer) { a1layer.remove(); a1layer = null; }
  });
  if (interactive) map.on('click', (ev) => placePin(ev.latlng.wrap()));
  return map;
}

let guessMap = null;
let resultMap = null;
let resultPins = null;

function placePin(latlng) {
  if (document.body.dataset.phase !== 'guessing' || document.body.dataset.guessed === 'true') return;
  ui.pin = latlng;
  if (ui.marker) ui.marker.setLatLng(latlng);
  else ui.marker = L.circleMarker(latlng, { radius: 7, color: '#111', fillColor: '#fca311', fillOpacity: 1 }).addTo(guessMap);
  const btn = $('#guess-button');
  btn.disabled = false;
  btn.textContent = 'Guess';
}

async function submitGuess() {
  if (!ui.pin) return;
  const btn = $('#guess-button');
  btn.disabled = true;
  try {
    await call('/guess', { lat: ui.pin.lat, lng: ui.pin.lng, round: ui.round });
    document.body.dataset.guessed = 'true';
    btn.textContent = 'Guessed — waiting for the others';
  } catch (err) {
    status(err.message, true);
    btn.disabled = false;
  }
  poll();
}

// ---------------------------------------------------------------- state
function renderPlayers(state) {
  const box = $('#players');
  box.replaceChildren();
  for (const p of state.players) {
    const span = document.createElement('span');
    span.className = 'hp';
    span.dataset.player = p.id;
    const me = p.id === state.you ? ' (you)' : '';
    if (state.mode === 'duel') {
      span.textContent = `${p.name}${me}: ${p.hp} HP`;
      const bar = document.createElement('i');
      bar.style.width = `${(100 * p.hp) / state.rules.start_hp}%`;
      span.append(bar);
    } else {
      span.textContent = `${p.name}${me}: ${p.total_score}`;
    }
    if (!p.connected) span.textContent += ' (left)';
    box.append(span);
  }
}

function startRound(state) {
  ui.round = state.round.number;
  ui.views = state.round.views;
  $('#viewer').dataset.views = String(ui.views);
  ui.pin = null;
  if (ui.marker) { ui.marker.remove(); ui.marker = null; }
  $('#result').hidden = true;
  $('#guess-button').disabled = true;
  $('#guess-button').textContent = 'Place a pin on the map';
  document.body.dataset.guessed = 'false';
  document.body.dataset.round = String(ui.round);
  $('#round-number').textContent = String(ui.round);
  $('#multiplier').textContent = state.mode === 'duel' ? `×${state.round.multiplier}` : '';
  $('#viewer').dataset.layout = 'single';
  $('#view-grid').hidden = true;
  $('#view-img').hidden = false;
  showView(0);
  $('#viewer').focus();
}

async function showResult(state, n) {
  ui.shownResult = n;
  let res;
  try { res = await call(`/rounds/${n}/result`); } catch (err) { status(err.message, true); ui.shownResult = 0; return; }
  $('#result').hidden = false;
  const finished = state.phase === 'finished';
  $('#result-title').textContent = finished ? gameOverText(state) : `Round ${n} result`;
  const names = Object.fromEntries(state.players.map((p) => [p.id, p.name]));
  const rows = [['player', 'distance', 'score', 'damage', 'HP']];
  for (const g of res.guesses) {
    rows.push([names[g.player_id] || g.player_id,
      g.timed_out ? 'timed out' : `${g.distance_km.toFixed(1)} km`, String(g.score),
      state.mode === 'duel' ? String(g.damage) : '', state.mode === 'duel' ? String(res.hp[g.player_id]) : '']);
  }
  const table = $('#result-table');
  table.replaceChildren(...rows.map((r, i) => {
    const tr = document.createElement('tr');
    for (const c of r) { const td = document.createElement(i ? 'td' : 'th'); td.textContent = c; tr.append(td); }
    return tr;
  }));
  if (!resultMap) { resultMap = makeMap('result-map', false); resultPins = L.layerGroup().addTo(resultMap); }
  resultPins.clearLayers();
  const truth = [res.truth.lat, res.truth.lng];
  const pts = [truth];
  L.circleMarker(truth, { radius: 8, color: '#111', fillColor: '#2e7d32', fillOpacity: 1 }).addTo(resultPins);
  for (const g of res.guesses) {
    if (g.timed_out) continue;
    const p = [g.lat, g.lng];
    pts.push(p);
    L.circleMarker(p, { radius: 6, color: '#111', fillColor: g.player_id === state.you ? '#fca311' : '#e53935', fillOpacity: 1 }).addTo(resultPins);
    L.polyline([p, truth], { color: '#222', dashArray: '4 4', weight: 1.5 }).addTo(resultPins);
  }
  setTimeout(() => { resultMap.invalidateSize(); resultMap.fitBounds(L.latLngBounds(pts).pad(0.3), { maxZoom: 6 }); }, 50);
  $('#next-button').hidden = finished;
  $('#lobby-link').hidden = !finished;
  askQuestion(state);
}

// Blind experiments: after the game, one question; the answer goes to the game log.
function askQuestion(state) {
  const q = state.experiment && state.experiment.question;
  const box = $('#question');
  if (!q || box.dataset.asked === 'true') return;
  box.dataset.asked = 'true';
  box.hidden = false;
  $('#question-text').textContent = q;
  $('#lobby-link').hidden = true;
  $('#answers').replaceChildren(...state.experiment.answers.map((a) => {
    const b = document.createElement('button');
    b.textContent = a;
    b.dataset.answer = a;
    b.addEventListener('click', async () => {
      try {
        await call('/answer', { answer: a });
        box.replaceChildren(Object.assign(document.createElement('p'), { textContent: 'Thank you — answer saved.' }));
        $('#lobby-link').hidden = false;
        $('#lobby-link').textContent = 'Next game';
      } catch (err) { status(err.message, true); }
    });
    return b;
  }));
}

function gameOverText(state) {
  if (!state.winner) return 'Game over — a draw';
  return state.winner === state.you ? 'Game over — you won' : 'Game over — you lost';
}

function render(state) {
  ui.state = state;
  const body = document.body;
  body.dataset.phase = state.phase;
  body.dataset.gameId = state.game_id;
  body.dataset.mode = state.mode;
  body.dataset.you = state.you;
  renderPlayers(state);
  if (state.phase === 'lobby') { status('waiting for the opponent to join…'); return; }
  const r = state.round;
  if (r.number !== ui.round && state.phase === 'guessing') startRound(state);
  if (state.phase === 'guessing') {
    const mine = r.guessed.includes(state.you);
    body.dataset.guessed = String(mine);
    const others = r.guessed.filter((p) => p !== state.you).length;
    status(others ? 'your opponent has guessed' : '');
    ui.deadline = r.time_left_s === null ? null : performance.now() + 1000 * r.time_left_s;
  } else {
    ui.deadline = null;
    status('');
    if (ui.shownResult !== r.number) showResult(state, r.number);
  }
}

let firstPoll = true;

async function poll() {
  try {
    const state = await call(firstPoll ? '/state?hello=1' : '/state');
    firstPoll = false;
    ui.failures = 0;
    render(state);
  } catch (err) {
    ui.failures += 1;
    status(`${err.message}${ui.failures > 2 ? ' (retrying)' : ''}`, true);
  }
}

function tickTimer() {
  const el = $('#timer');
  if (ui.deadline === null) { el.textContent = ''; return; }
  const left = Math.max(0, (ui.deadline - performance.now()) / 1000);
  el.textContent = `${Math.floor(left / 60)}:${String(Math.floor(left % 60)).padStart(2, '0')}`;
  el.className = left < 15 ? 'error' : '';
}

function main() {
  if (!token) { status('this link has no player token; start a game from the lobby', true); return; }
  setupViewer();
  guessMap = makeMap('map', true);
  $('#guess-button').addEventListener('click', submitGuess);
  $('#next-button').addEventListener('click', async () => {
    $('#next-button').disabled = true;
    try { await call('/next', {}); } catch (err) { status(err.message, true); }
    $('#next-button').disabled = false;
    poll();
  });
  window.addEventListener('pagehide', () => {
    navigator.sendBeacon(api('/leave'), new Blob(['{}'], { type: 'text/plain' }));
  });
  poll();
  setInterval(poll, 250);
  setInterval(tickTimer, 200);
}

main();
