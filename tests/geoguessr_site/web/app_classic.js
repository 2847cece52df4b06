// The mock site's page code, part 3: classic `/game/<token>` and challenge `/challenge/<token>`.
// The page reads its game from `/api/v3/games/<token>` (challenges: `/api/v3/challenges/<token>`
// then its game), guesses with a click on the guess map (its Maps click listener places the
// pin) and the guess button, which POSTs `{token, lat, lng, timedOut}` to `/api/v3/games/<token>`
// and shows the result view from the answer (result-layout_root__, data-qa result-view-top /
// -bottom, close-round-result; at the end play-again-button). A guess posted by anyone else is
// never seen by this page: it stays on the round.

function classicClient() {
  const listeners = new Set();
  const self = { game: null, token: null, round: 0, view: 'loading', result: null, pin: null };
  const publish = () => { for (const fn of listeners) fn({ token: self.token, round: self.round, view: self.view,
    result: self.result, pin: self.pin, roundCount: self.game && self.game.roundCount,
    total: self.game ? Number(self.game.player.totalScore.amount) : 0,
    nmpz: !!(self.game && self.game.forbidRotating) }); };
  const learn = (game) => {
    self.game = game;
    self.token = game.token;
    game.rounds.forEach((r, i) => ANSWERS.set(i + 1, { lat: r.lat, lng: r.lng, pano: r.panoId, heading: r.heading }));
  };
  self.subscribe = (fn) => { listeners.add(fn); fn && publish(); return () => listeners.delete(fn); };
  self.start = async () => {
    if (BOOT.mode === 'challenge') {
      await ownJson(`/api/v3/challenges/${BOOT.challengeToken}`);
      learn(await ownJson(`/api/v3/challenges/${BOOT.challengeToken}`, { method: 'POST', body: '{}' }));
    } else {
      learn(await ownJson(`/api/v3/games/${BOOT.gameId}?client=web`));
    }
    self.round = self.game.round;
    self.view = self.game.state === 'finished' ? 'final' : 'playing';
    publish();
  };
  self.placePin = (p) => { if (self.view === 'playing') { self.pin = p; publish(); } };
  self.guess = async () => {
    if (!self.pin || self.view !== 'playing') return;
    const body = { token: self.token, lat: self.pin.lat, lng: self.pin.lng, timedOut: false, stepsCount: 0 };
    const game = await ownJson(`/api/v3/games/${self.token}`, { method: 'POST', body: JSON.stringify(body) });
    learn(game);
    const g = game.player.guesses[self.round - 1];
    self.result = g ? { round: self.round, score: g.roundScoreInPoints, km: g.distanceInMeters / 1000, guess: { lat: g.lat, lng: g.lng } } : null;
    self.pin = null;
    self.view = game.state === 'finished' ? 'final' : 'result';
    publish();
  };
  self.next = async () => {
    learn(await ownJson(`/api/v3/games/${self.token}?client=web`));
    self.round = self.game.round;
    self.view = 'playing';
    publish();
  };
  self.playAgain = async () => {
    await ownJson('/__mock/play-again', { method: 'POST', body: '{}' });
    learn(await ownJson(`/api/v3/games/${self.token}?client=web`));
    self.round = self.game.round;
    self.result = null;
    self.view = 'playing';
    publish();
  };
  return self;
}

function ClassicApp({ client }) {
  const [snap, setSnap] = React.useState(null);
  React.useEffect(() => client.subscribe(setSnap), [client]);
  const maps = useMaps();
  React.useEffect(() => {
    if (snap && snap.view === 'playing') plantReads(snap.round, (name) => plantClassicRead(name, snap));
  }, [snap && snap.view, snap && snap.round]);
  if (!snap || snap.view === 'loading') return h('div', { className: 'fullscreen-spinner_root__IF4pq' });
  const playing = snap.view === 'playing';
  return h('div', { className: 'in-game_root__QJxhd' }, h('main', { className: 'in-game_layout__kqBbg' },
    h('div', { className: 'game_layout__TO_jf' },
      h('div', { className: `game_panorama__lq1oy${snap.nmpz ? ' panorama_playingNmpz__Vvcmd' : ''}` },
        h('div', { className: 'game-panorama_panorama__rdhFg', 'data-qa': 'panorama' },
          h(StreetView, { maps, round: snap.round, nmpz: snap.nmpz }))),
      h('div', { className: 'game_topHud__qcH9J' }, h('div', { className: 'game_status__q_b7N' },
        h('div', { className: 'status_section__RpKBO', 'data-qa': 'score' },
          h('div', { className: 'status_label__SNHKT' }, t('score')), h('div', { className: 'status_value__w_Nh0' }, String(snap.total))),
        h('div', { className: 'rounds-status_panel__Ah6y1' },
          h('div', { className: 'rounds-status_mapTitle__DYtDx' }, h('div', { 'data-qa': 'rounds-status-map-name' }, 'A Mock World')),
          h('div', { className: 'rounds-status_body__yHqrc' })))),
      playing && h('div', { className: 'game_controls__xgq6p' }, h('div', { className: 'game-panorama_controls__TbU2Y' },
        h('button', { className: 'compass_compass__BRK1T', 'data-qa': 'compass', onClick: () => liveSv && pageSetsPov(() => liveSv.setPov({ heading: 0, pitch: 0 })) },
          h('div', { className: 'compass__indicator__mQ1xL' })))),
      playing && h('div', { className: 'game_guessMap__8jK6O' },
        h(GuessMap, { maps, pin: snap.pin, onPin: client.placePin, onGuess: client.guess, guessLabel: t('guess') }))),
    !playing && h(ResultView, { snap, client, maps })));
}

function ResultView({ snap, client, maps }) {
  const r = snap.result;
  const final = snap.view === 'final';
  return h('div', { className: 'result-layout_root__fRPgH' },
    h('div', { className: 'result-layout_top__mBX1e', 'data-qa': 'result-view-top' },
      h('div', { className: 'coordinate-result-map_map__dvPWi' }, r && h(ResultMap, { maps, result: r }))),
    h('div', { className: 'result-layout_bottom__qLPd2', 'data-qa': 'result-view-bottom' },
      h('div', { className: 'round-result_wrapper__RqJLf' },
        r && h(RoundPoints, { score: r.score, round: r.round }),
        r && h('div', { className: 'round-result_distanceIndicatorWrapper__lNf4Q' }, t('km', { d: r.km.toFixed(1) })),
        final
          ? h('div', { className: 'standard-final-result_wrapper__fTqz0' },
            h('div', { className: 'standard-final-result_score__R_cHR' }, t('points', { n: formatPoints(snap.total) })),
            h('button', { 'data-qa': 'play-again-button', className: 'button_button__aR6_e standard-final-result_primaryButton__wQ6Wr', onClick: client.playAgain }, t('playAgain')))
          : h('div', { className: 'round-result_actions__5j26U' },
            h('button', { 'data-qa': 'close-round-result', className: 'button_button__aR6_e', onClick: client.next }, t('next'))))));
}

// The round's points as the real result view shows them: localised with thousands separators
// ("4,677", "4.677"), inside a shadow-text element, and 0 when the view appears (public tools
// wait a moment before reading it); the count-up to the score is the mock's own.
const formatPoints = (n) => new Intl.NumberFormat(BOOT.lang).format(n);

function RoundPoints({ score, round }) {
  const [shown, setShown] = React.useState(0);
  React.useEffect(() => {
    setShown(0);
    const t0 = performance.now();
    const span = Math.max(1, BOOT.scoreCountMs || 0);
    let id = 0;
    const step = () => {
      const f = Math.min(1, (performance.now() - t0) / span);
      setShown(Math.round(score * f));
      if (f < 1) id = setTimeout(step, 50);
    };
    id = setTimeout(step, 50);
    return () => clearTimeout(id);
  }, [score, round]);
  return h('div', { className: 'round-result_pointsIndicatorWrapper__DOC5Y' },
    h('div', { className: 'shadow-text_root__kjd7t' }, t('points', { n: formatPoints(shown) })));
}

function ResultMap({ maps, result }) {
  const box = React.useRef(null);
  React.useEffect(() => {
    if (!maps || !box.current) return;
    const map = new maps.Map(box.current, { center: result.guess, zoom: 1 });
    const a = ANSWERS.get(result.round);
    new maps.Marker({ map, position: result.guess });
    if (a) new maps.Marker({ map, position: { lat: a.lat, lng: a.lng } });
  }, [maps, result.round]);
  return h('div', { ref: box, style: { position: 'absolute', inset: 0 } });
}

async function plantClassicRead(name, snap) {
  if (name.startsWith('sv.') && liveSv) return liveSv[name.slice(3)]();
  if (name === 'resource-timing') return performance.getEntriesByType('resource');
  if (name === 'api.v3.games') return plantServerRead(`/api/v3/games/${snap.token}`);
  return null;
}
