import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, humanDelay, validateSettings } from '../lib/settings.js';
import { Backoff } from '../lib/backoff.js';
import { GEOGUESSR_URLS, arenaResultRequest, isAllowedGeoguessrRead, isAllowedSiteUrl } from '../lib/site_requests.js';
import { checkAdapter } from '../sites/adapter.js';

test('defaults are valid and suggest (never guesses) by default', () => {
  const { settings, errors } = validateSettings({});
  assert.deepEqual(errors, []);
  assert.equal(settings.mode, 'suggest');
  assert.equal(DEFAULTS.views, 4);
});

test('bad settings are refused with one sentence each', () => {
  const { errors } = validateSettings({ backendUrl: 'http://x', mode: 'yolo', delayMinMs: 5000, delayMaxMs: 100, views: 3, capture: 'screen' });
  assert.equal(errors.length, 5);
  assert.match(errors.join(' '), /capture must be one of page, tab/);
  assert.match(errors.join(' '), /ws:\/\//);
  assert.match(validateSettings({ backendUrl: 'not a url' }).errors[0], /not a URL/);
  assert.match(validateSettings({ backendUrl: 'ws://127.0.0.1:8765/?token=abc' }).errors[0], /token field/);
});

test('human delay stays in range', () => {
  const s = validateSettings({ delayMinMs: 1000, delayMaxMs: 3000 }).settings;
  assert.equal(humanDelay(s, () => 0), 1000);
  assert.equal(humanDelay(s, () => 0.999999), 3000);
});

test('backoff grows and caps', () => {
  const b = new Backoff({ baseMs: 500, maxMs: 4000, jitter: 0 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [500, 1000, 2000, 4000, 4000]);
  b.reset();
  assert.equal(b.next(), 500);
});

test('the worker calls only the arena; the content script reads only geoguessr answers', () => {
  assert.ok(isAllowedSiteUrl('http://127.0.0.1:8080/api/games/ab/guess?t=x'));
  assert.ok(!isAllowedSiteUrl('https://www.geoguessr.com/api/v3/games/Tok'), 'geoguessr is not called from the worker');
  assert.ok(!isAllowedSiteUrl('https://evil.example/api/games/x'));
  assert.ok(!isAllowedSiteUrl('http://127.0.0.1:8765/healthz'));
  assert.match(arenaResultRequest('http://127.0.0.1:1', 'g', 't', 2).url, /\/rounds\/2\/result\?t=t$/);
  for (const url of [GEOGUESSR_URLS.classicGame('Gabc123'), GEOGUESSR_URLS.challengeGame('Cxyz'),
    GEOGUESSR_URLS.phonebook('6aa29d5f364a2fb2ff228fd3'), GEOGUESSR_URLS.liveDuel('8572118768954f1b877ded5bd7c29b1e', '6aa29d5f'),
    GEOGUESSR_URLS.duelArchive('6aa29d5f'), GEOGUESSR_URLS.battleRoyale('br-1'), GEOGUESSR_URLS.guestId()]) {
    assert.ok(isAllowedGeoguessrRead(url), url);
  }
  for (const url of ['https://www.geoguessr.com/api/v3/games/Tok?client=web', 'http://www.geoguessr.com/api/v3/games/Tok',
    'https://www.geoguessr.com/api/v3/games/Tok/guess', 'https://maps.googleapis.com/maps/api/js/GeoPhotoService.GetMetadata',
    'https://streetviewpixels-pa.googleapis.com/v1/tile?panoid=x', 'https://gs2.geoguessr.com/node/game/ws',
    'https://game-server.geoguessr.com/api/duels/g/guess', 'https://evil.example/api/v3/games/Tok', 'not a url']) {
    assert.ok(!isAllowedGeoguessrRead(url), url);
  }
});

test('adapters implement the one interface', async () => {
  globalThis.location = new URL('http://127.0.0.1/');   // the adapters read it lazily
  const { arenaAdapter } = await import('../sites/arena/adapter.js');
  const { geoguessrAdapter } = await import('../sites/geoguessr/adapter.js');
  assert.equal(checkAdapter(arenaAdapter).source, 'arena');
  assert.equal(checkAdapter(geoguessrAdapter).source, 'geoguessr');
  assert.throws(() => checkAdapter({ name: 'x', source: 'y' }), /lacks/);
});
