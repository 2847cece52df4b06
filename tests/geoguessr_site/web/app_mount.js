// The mock site's page code, part 4: mount the React app on #__next for this page's mode.
// Party games are played inside /party/lobby/<code>: the lobby polls the active party and, once
// a duel runs, renders it through a portal outside <main> without navigating
// (rashinban2026-scripts docs/geoguessr/samples/player-tie-range/README.md).

function SiteLayout({ children, main = true }) {
  return h('div', { className: 'site-layout_root__Y3kAk' },
    main ? h('main', { className: 'site-layout_main__C0bmT' }, children) : children);
}

function PartyLobby({ playerId }) {
  const [client, setClient] = React.useState(null);
  React.useEffect(() => {
    let stop = false;
    const poll = async () => {
      if (stop) return;
      const party = await ownJson('/api/v4/parties/v2/active').catch(() => null);
      if (party && party.gameState === 'Ongoing' && party.gameType === 'Duels' && party.lobbyId) {
        const c = duelClient(party.lobbyId, playerId);
        await c.start();
        setClient(c);
        return;
      }
      setTimeout(poll, 1000);
    };
    poll();
    return () => { stop = true; };
  }, []);
  const portal = React.useMemo(() => {
    const el = document.createElement('div');
    el.id = 'party-duel-portal';
    document.body.append(el);
    return el;
  }, []);
  return h(React.Fragment, null,
    h('div', { className: 'party_root__V6uEd' }, h('div', { className: 'party_lobby__RJ2kx' },
      h('h1', null, t('partyLobby')), h('div', { className: 'party_joinCode__sMzDp' }, BOOT.partyCode))),
    client && ReactDOM.createPortal(h(DuelsApp, { client }), portal));
}

async function mountSite() {
  const root = ReactDOM.createRoot(document.getElementById('__next'));
  const playerId = BOOT.userId || (await ownJson('/api/v4/guest-users/id')).id;
  if (BOOT.mode === 'duels' || BOOT.mode === 'team-duels') {
    const client = duelClient(BOOT.gameId, playerId);
    root.render(h(SiteLayout, null, h(DuelsApp, { client })));
    await client.start();
  } else if (BOOT.mode === 'party') {
    root.render(h(SiteLayout, null, h(PartyLobby, { playerId })));
  } else if (BOOT.mode === 'battle-royale') {
    const client = brClient();
    root.render(h(SiteLayout, null, h(BattleRoyaleApp, { client })));
    await client.start();
  } else {
    const client = classicClient();
    root.render(h(SiteLayout, { main: false }, h(ClassicApp, { client })));   // the game layout is the <main>
    await client.start();
  }
}

mountSite().catch((e) => { document.title = `mock site error: ${e}`; console.error(e); });
