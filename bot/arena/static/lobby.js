// The arena's lobby and join pages: create a game (or take the second seat) and go to it.
const $ = (sel) => document.querySelector(sel);

async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

function showError(err) { $('#lobby-error').textContent = String(err.message || err); }

async function study(exp) {
  $('#new-game').hidden = true;
  $('#study').hidden = false;
  $('#study-name').textContent = exp.name;
  $('#consent').textContent = exp.consent;
  $('#study').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      const game = await api('/api/experiment/start', { code: form.get('code'), consent: form.get('consent') === 'on' });
      location.href = game.play_url;
    } catch (err) { showError(err); }
  });
}

async function lobby() {
  const info = await api('/api/info');
  if (info.experiment) { await study(info.experiment); }
  $('#dataset-info').textContent = `${info.locations} locations from ${info.dataset}` +
    (info.skipped_rows ? ` (${info.skipped_rows} bad rows skipped; see the server log)` : '');
  const sel = $('#opponent');
  for (const name of info.opponents) {
    const opt = document.createElement('option');
    opt.value = name; opt.textContent = name;
    sel.append(opt);
  }
  $('#new-game').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      const game = await api('/api/games', {
        mode: form.get('mode'), opponent: form.get('opponent'), name: form.get('name'),
      });
      if (game.join_url) {
        const url = new URL(game.join_url, location.href).href;
        $('#join-url').href = url; $('#join-url').textContent = url;
        $('#join-link').hidden = false;
        setTimeout(() => { location.href = game.play_url; }, 4000);
      } else {
        location.href = game.play_url;
      }
    } catch (err) { showError(err); }
  });
}

async function join() {
  const gid = location.pathname.split('/').pop();
  $('#join-game').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const seat = await api(`/api/games/${gid}/join`, { name: new FormData(ev.target).get('name') });
      location.href = seat.play_url;
    } catch (err) { showError(err); }
  });
}

(document.querySelector('#join-game') ? join() : lobby()).catch(showError);
