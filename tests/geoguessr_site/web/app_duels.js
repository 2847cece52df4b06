// The mock site's page code, part 2: a live duel (also team duels and party-lobby duels).
// Transport as rashinban2026-scripts documents it: phonebook -> gs2 node; a snapshot over HTTP
// (`/reconnect`), then the game socket (`SubscribeToLobby`, whole-state `Duel*` messages, highest
// `version` wins); pins and guesses POSTed to the node. The React context has the shape
// auto-duel.js reads (found from #__next through `dependencies.firstContext.memoizedValue`):
// gameState {gameId, status, isPaused, options, context, rounds: TRAP}, currentRound
// {roundNumber, startTime, hasProcessedRoundTimeout, panorama: TRAP}, currentPlayerHasGuessed,
// isGuessing, playerTeam, onPlacedPin({lat, lng}), onGuess().

const DuelsContext = React.createContext(null);

function duelClient(gameId, playerId) {
  const listeners = new Set();
  const self = { state: null, base: null, pin: null, isGuessing: false };
  const publish = () => { for (const fn of listeners) fn(safeSnapshot(self)); };
  const apply = (state) => {
    if (self.state && state.version < self.state.version) return;
    for (const r of state.rounds) {
      ANSWERS.set(r.roundNumber, { lat: r.panorama.lat, lng: r.panorama.lng, pano: r.panorama.panoId, heading: r.panorama.heading });
    }
    self.state = state;
    publish();
  };
  self.subscribe = (fn) => { listeners.add(fn); if (self.state) fn(safeSnapshot(self)); return () => listeners.delete(fn); };
  self.start = async () => {
    const pb = await ownJson(`/api/v4/game-server/phonebook/${gameId}`);
    self.base = `https://gs2.geoguessr.com/${pb.gameServerNodeId}/${gameId}`;
    apply(await ownJson(`${self.base}/reconnect`));
    const ws = openSocket(`wss://gs2.geoguessr.com/${pb.gameServerNodeId}/${gameId}/ws?c=web-mock&tabId=${BOOT.nonce}&attempt=1&visibility=visible`);
    ws.addEventListener('open', () => ws.send(JSON.stringify({ code: 'SubscribeToLobby', gameId, playerId })));
    ws.addEventListener('message', (ev) => { const msg = JSON.parse(ev.data); if (msg.duel && msg.duel.state) apply(msg.duel.state); });
    setInterval(() => { if (ws.readyState === 1) ws.send(JSON.stringify({ code: 'HeartBeat' })); }, 15000);
  };
  self.onPlacedPin = async ({ lat, lng }) => {
    self.pin = { lat: Number(lat), lng: Number(lng) };
    publish();
    await ownJson(`${self.base}/pin`, { method: 'POST', body: JSON.stringify(self.pin) });
  };
  self.onGuess = async () => {
    if (!self.pin) throw new Error('Place a pin first');
    self.isGuessing = true;
    publish();
    try {
      await ownJson(`${self.base}/guess`, { method: 'POST', body: JSON.stringify({ ...self.pin, roundNumber: self.state.currentRoundNumber }) });
    } finally { self.isGuessing = false; self.pin = null; publish(); }
  };
  self.playerId = playerId;
  return self;
}

// What React may hold: no answers, no current-round guess results.
function safeSnapshot(c) {
  const s = c.state;
  const r = s.rounds[s.rounds.length - 1];
  const mine = s.teams.flatMap((t) => t.players).find((p) => p.playerId === c.playerId);
  const myTeam = s.teams.find((t) => t.players.some((p) => p.playerId === c.playerId)) || s.teams[0];
  return {
    version: s.version, gameId: s.gameId, status: s.status, isPaused: s.isPaused, options: s.options,
    context: s.context, result: s.result, currentRoundNumber: s.currentRoundNumber,
    round: { roundNumber: r.roundNumber, startTime: Date.parse(r.startTime), hasProcessedRoundTimeout: r.hasProcessedRoundTimeout,
      multiplier: r.multiplier, endTime: r.endTime ? Date.parse(r.endTime) : null },
    teams: s.teams.map((t) => ({ id: t.id, name: t.name, health: t.health, currentMultiplier: t.currentMultiplier,
      roundResults: t.roundResults, nicks: t.players.map((p) => p.playerId) })),
    myTeamId: myTeam.id, myTeamName: myTeam.name,
    guessed: !!mine && mine.guesses.some((g) => g.roundNumber === r.roundNumber),
    pin: c.pin, isGuessing: c.isGuessing,
  };
}

function contextValue(snap, client) {
  const n = snap.round.roundNumber;
  const gameState = { gameId: snap.gameId, status: snap.status, isPaused: snap.isPaused, version: snap.version,
    options: snap.options, context: snap.context, currentRoundNumber: snap.currentRoundNumber, result: snap.result };
  Object.defineProperty(gameState, 'rounds', { enumerable: true, get() {
    return new Proxy(client.state.rounds.map((r) => r.roundNumber), { get(nums, key) {
      if (typeof key === 'string' && /^\d+$/.test(key) && Number(key) < nums.length) {
        const num = nums[Number(key)];
        pageTrap('gameState.rounds', num);
        return { roundNumber: num, panorama: trappedPlace('gameState.rounds', num) };
      }
      return Reflect.get(nums, key);
    } });
  } });
  Object.defineProperty(gameState, 'teams', { enumerable: true, get() {
    if (!snap.round.hasProcessedRoundTimeout) pageTrap('gameState.teams', n);
    return client.state.teams;
  } });
  const currentRound = { roundNumber: n, startTime: snap.round.startTime,
    hasProcessedRoundTimeout: snap.round.hasProcessedRoundTimeout, multiplier: snap.round.multiplier };
  Object.defineProperty(currentRound, 'panorama', { enumerable: true, get() { pageTrap('currentRound.panorama', n); return trappedPlace('currentRound.panorama', n); } });
  return { gameState, currentRound, currentPlayerHasGuessed: snap.guessed, isGuessing: snap.isGuessing,
    playerTeam: { id: snap.myTeamId, name: snap.myTeamName }, pin: snap.pin,
    onPlacedPin: client.onPlacedPin, onGuess: client.onGuess };
}

function duelPhase(snap, now) {
  if (snap.status === 'Finished') return 'finished';
  if (snap.round.hasProcessedRoundTimeout) return 'result';
  return now < snap.round.startTime ? 'countdown' : 'guessing';
}

function DuelsApp({ client }) {
  const [snap, setSnap] = React.useState(null);
  React.useEffect(() => client.subscribe(setSnap), [client]);
  const value = React.useMemo(() => (snap ? contextValue(snap, client) : null), [snap]);
  if (!value) return h('div', { className: 'fullscreen-spinner_root__IF4pq' });
  return h(DuelsContext.Provider, { value }, h(DuelsScreen, { snap, client }));
}

function DuelsScreen({ snap, client }) {
  const ctx = React.useContext(DuelsContext);
  const maps = useMaps();
  const [, tick] = React.useState(0);
  const [heading, setHeading] = React.useState(0);
  const phase = duelPhase(snap, Date.now());
  const n = ctx.currentRound.roundNumber;
  React.useEffect(() => {                       // re-render when the countdown ends
    const wait = snap.round.startTime - Date.now();
    if (phase === 'countdown') { const id = setTimeout(() => tick((x) => x + 1), wait + 5); return () => clearTimeout(id); }
    return undefined;
  }, [phase, snap.round.startTime]);
  React.useEffect(() => { if (phase === 'guessing') plantReads(n, (name) => plantDuelRead(name, ctx, client)); }, [phase, n]);
  const nmpz = !!snap.options.movementOptions.forbidRotating;
  return h('div', { className: 'duels_root__A75Oi' },
    h('div', { className: `game_panorama__lq1oy${nmpz ? ' panorama_playingNmpz__Vvcmd' : ''}` },
      h('div', { className: 'duels-panorama_panorama__Hl7Sx', 'data-qa': 'panorama' },
        h(StreetView, { maps, round: n, nmpz, onHeading: setHeading }))),
    h('div', { className: 'game_topHud__qcH9J' }, h(StripCompass, { heading })),
    h(DuelsHud, { snap, playing: phase !== 'result' }),
    phase === 'countdown' && h('div', { className: 'new-round_root__xO4Wj' },
      h('p', { className: 'new-round_roundNumber__pYk_b' }, t('splashRound', { n }))),
    phase === 'guessing' && h('div', { className: 'game_guessMap__8jK6O' },
      h(GuessMap, { maps, pin: ctx.pin, disabled: ctx.currentPlayerHasGuessed || ctx.isGuessing,
        onPin: (p) => { if (!ctx.currentPlayerHasGuessed) ctx.onPlacedPin(p); }, onGuess: () => ctx.onGuess(), guessLabel: t('guess') })),
    phase === 'result' && h(RoundResultCard, { snap }),
    phase === 'finished' && h(GameSummary, { snap }));
}

async function plantDuelRead(name, ctx, client) {
  if (name === 'currentRound.panorama') return ctx.currentRound.panorama.lat;
  if (name === 'gameState.rounds') return ctx.gameState.rounds[0].panorama.lat;
  if (name.startsWith('sv.') && liveSv) return liveSv[name.slice(3)]();
  if (name === 'resource-timing') return performance.getEntriesByType('resource');
  if (name === 'gs2.state') return plantServerRead(client.base);
  return null;
}

function DuelsHud({ snap, playing }) {
  const bar = (team, side) => h('div', { className: 'hud_healthbar__dpSHY', key: side },
    playing && h('div', { className: `hud_${side}MultiWrapper__QGsRg` }, h('div', { className: 'hud_multiplier__O1RdS' },
      h('div', { className: 'multiplier-indicator_container__TXPvn' }, h('span', { className: 'multiplier-indicator_text__dTHCy' }, `x${team.currentMultiplier}`)))),
    h('div', { className: `health-bar_root__gJ7xV health-bar_variant${side === 'left' ? 'Left' : 'Right'}__bYcYT` },
      h('div', { className: 'health-bar_barContainer__sAsPL' },
        h('div', { className: 'health-bar_barLabel__Yd65L' }, h('span', null, String(team.health))))),
    h('div', { className: 'player-nick_wrapper__WjkG6 health-bar_nickContainer__2ZdwR' },
      h('span', { className: 'nick_nick__THesc' }, team.name === snap.myTeamName ? 'You' : 'Opponent')));
  const mine = snap.teams.find((x) => x.id === snap.myTeamId);
  const other = snap.teams.find((x) => x.id !== snap.myTeamId);
  return h('div', { className: 'duels_hud__Fn5YL' }, h('div', { style: { opacity: 1 } },
    h('div', { className: 'hud_healthBars__rB5ew' }, bar(mine, 'left'), bar(other, 'right')),
    h('div', { className: 'hud_center__TtJYC' }, h('div', { className: 'hud_mobileSpacer__klRnR' }))));
}

function RoundResultCard({ snap }) {
  const n = snap.round.roundNumber;
  const res = (team) => team.roundResults.find((r) => r.roundNumber === n) || { score: 0, bestGuess: null };
  const mine = snap.teams.find((x) => x.id === snap.myTeamId);
  const other = snap.teams.find((x) => x.id !== snap.myTeamId);
  const km = (r) => (r.bestGuess ? t('km', { d: Math.round(r.bestGuess.distance / 1000).toLocaleString('en-US') }) : t('km', { d: '\u221e' }));
  return h('div', { className: 'round-score_root__4Ye_r round-score_isMounted__lT1h0', 'data-qa': 'round-result' },
    h('header', { className: 'round-score_header__DkeNn' }, h('div', { className: 'round-score_roundNumber__IQZze' }, t('resultRound', { n }))),
    h('div', { className: 'round-score_mapDrawer__zeBMA' }, h('div', { className: 'distance-badge_root__jxyMN' },
      h('div', { className: 'distance-badge_left__8doYB' }, h('span', null, km(res(mine)))),
      h('div', { className: 'distance-badge_right__VxIWb' }, h('span', null, km(res(other)))))),
    h('div', { className: 'round-score_damageAnimation__Sboov' }, h('div', { className: 'damage-animation_root__lxq2_' },
      h('div', { className: 'damage-animation_score__YBbID' }, String(res(mine).score)),
      h('div', { className: 'damage-animation_score__YBbID' }, String(res(other).score)))),
    h('div', { className: 'round-score_infoTextContainer__EYkhc' }, t('waitingNext')));
}

function GameSummary({ snap }) {
  const mine = snap.teams.find((x) => x.id === snap.myTeamId);
  const other = snap.teams.find((x) => x.id !== snap.myTeamId);
  const won = snap.result && snap.result.winningTeamId === snap.myTeamId;
  return h('div', null,
    h('div', { className: 'game-summary-2_root__Z6e_N' }, h('div', { className: 'game-summary-2_playedRounds__2vcpO' },
      mine.roundResults.map((r, i) => h('div', { className: 'game-summary-2_playedRound__wFHk3', role: 'button', key: r.roundNumber },
        h('span', { className: 'game-summary-2_roundNumber__bnIMF' }, String(r.roundNumber)),
        h('div', { className: 'game-summary-2_text__hAIJb' }, t('points', { n: r.score })),
        h('div', { className: 'game-summary-2_text__hAIJb' }, t('points', { n: (other.roundResults[i] || {}).score ?? 0 })),
        h('div', { className: 'game-summary-2_text__hAIJb' }, String(r.healthAfter)),
        h('div', { className: 'game-summary-2_text__hAIJb' }, String((other.roundResults[i] || {}).healthAfter ?? '')))))),
    h('div', { className: 'summon-glow-text_root__D7KgS' }, won ? 'VICTORY!' : 'DEFEAT!'));
}
