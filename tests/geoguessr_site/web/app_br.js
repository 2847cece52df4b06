// The mock site's page code, part 3b: battle royale `/battle-royale/<id>`, as far as evidence
// goes: the game comes from game-server.geoguessr.com/api/battle-royale/<id>, a guess is a pin on
// the guess map plus the guess button, POSTed as {lat, lng, roundNumber} to .../guess. What the
// real page shows between rounds is not documented: this one waits and polls for the next round.

function brClient() {
  const listeners = new Set();
  const api = `https://game-server.geoguessr.com/api/battle-royale/${BOOT.gameId}`;
  const self = { state: null, round: 0, pin: null, waiting: false };
  const publish = () => { for (const fn of listeners) fn({ round: self.round, pin: self.pin, waiting: self.waiting,
    finished: !!self.state && self.state.status === 'Finished', countries: !!self.state && self.state.isCountries }); };
  const learn = (s) => { self.state = s; s.rounds.forEach((r) => ANSWERS.set(r.roundNumber, { lat: r.panorama.lat, lng: r.panorama.lng, pano: r.panorama.panoId, heading: r.panorama.heading })); };
  self.subscribe = (fn) => { listeners.add(fn); publish(); return () => listeners.delete(fn); };
  self.start = async () => { learn(await ownJson(api)); self.round = self.state.currentRoundNumber; publish(); };
  self.placePin = (p) => { if (!self.waiting) { self.pin = p; publish(); } };
  self.guess = async () => {
    if (!self.pin || self.waiting) return;
    await ownJson(`${api}/guess`, { method: 'POST', body: JSON.stringify({ ...self.pin, roundNumber: self.round }) });
    self.pin = null; self.waiting = true; publish();
    const poll = async () => {
      learn(await ownJson(api));
      if (self.state.currentRoundNumber > self.round || self.state.status === 'Finished') {
        self.round = self.state.currentRoundNumber; self.waiting = self.state.status === 'Finished'; publish();
      } else setTimeout(poll, 500);
    };
    setTimeout(poll, 500);
  };
  return self;
}

function BattleRoyaleApp({ client }) {
  const [snap, setSnap] = React.useState(null);
  React.useEffect(() => client.subscribe(setSnap), [client]);
  const maps = useMaps();
  if (!snap || !snap.round) return h('div', { className: 'fullscreen-spinner_root__IF4pq' });
  return h('div', { className: 'in-game_root__QJxhd' },
    h('div', { className: 'game_panorama__lq1oy' }, h('div', { className: 'game-panorama_panorama__rdhFg', 'data-qa': 'panorama' },
      h(StreetView, { maps, round: snap.round, nmpz: false }))),
    !snap.waiting && h('div', { className: 'game_guessMap__8jK6O' },
      h(GuessMap, { maps, pin: snap.pin, onPin: client.placePin, onGuess: client.guess, guessLabel: t('guess') })));
}
