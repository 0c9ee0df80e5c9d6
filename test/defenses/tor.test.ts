// The Tor exit-node defense behind the real guard, with a real app server and a real list server
// on 127.0.0.1. Loopback is a trusted proxy here, so X-Forwarded-For plays the client address.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../dist/esm/index.js';
import type { TorDefense } from '../../dist/esm/defenses/tor.js';
import { torSettings } from '../../dist/esm/config/keys/tor.js';
import { formatCache } from '../../dist/esm/threat-intel/cache.js';
import { parseCidr } from '../../dist/esm/net/ip.js';
import { getFrom, guardedApp, listServer, removeTempDirs, tempDir, waitFor, type GuardedApp } from '../threat-intel/helpers.ts';

after(removeTempDirs);

const EXIT_V4 = '198.51.100.7';
const EXIT_V6 = '2001:db8:7::7';
const USER = '203.0.113.10';
const LIST = `# exit list for the tests\n${EXIT_V4}\n${EXIT_V6}\n`;

function torOf(app: GuardedApp): TorDefense {
  const d = app.inst.defenses.find((x) => x.name === 'tor');
  assert.ok(d, 'the Tor defense is enabled');
  return d as TorDefense;
}

test('enforce: a Tor exit gets 403 with {error, reason, requestId} and the app never runs; a regular user passes', async () => {
  const server = await listServer(LIST);
  const app = await guardedApp({ tor: { source: server.url, cacheFile: join(tempDir('tor'), 'tor.txt') } });
  try {
    await waitFor(() => torOf(app).list.stats.loaded, 'list fetched at start');
    const blocked = await getFrom(app.port, EXIT_V4);
    assert.equal(blocked.status, 403);
    assert.match(String(blocked.headers['content-type']), /^application\/json/);
    const body = JSON.parse(blocked.body);
    assert.deepEqual(Object.keys(body).sort(), ['error', 'reason', 'requestId']);
    assert.equal(body.error, 'forbidden');
    assert.equal(body.reason, 'tor_exit_node');
    assert.equal((await getFrom(app.port, EXIT_V6)).status, 403, 'IPv6 exits too');
    const browser = await getFrom(app.port, EXIT_V4, { Accept: 'text/html' });
    assert.equal(browser.status, 403);
    assert.match(browser.body, /<h1>403 Forbidden<\/h1>/);
    assert.equal(app.handled(), 0, 'the app handler never ran for a Tor exit');

    const user = await getFrom(app.port, USER);
    assert.equal(user.status, 200);
    assert.equal(user.body, 'ok');
    assert.equal(app.handled(), 1);

    const events = await waitFor(() => { const e = app.events('nis2.tor.blocked'); return e.length >= 2 ? e : undefined; }, 'tor events');
    const v4 = events.find((e) => e.attrs['client.address'] === '198.51.100.0')!;
    assert.ok(v4, 'the client address is anonymised in the event');
    assert.equal(v4.attrs['security_rule.name'], 'tor_exit_node');
    assert.equal(v4.attrs['security_rule.category'], 'threat_intel');
    assert.equal(v4.attrs['nis2.action'], 'block');
    assert.equal(v4.attrs['nis2.reason'], 'tor_exit_node');
    assert.equal(v4.attrs['http.response.status_code'], 403);
    assert.equal(v4.attrs['nis2.ip_list.name'], 'tor_exit');
    assert.equal(v4.attrs['nis2.ip_list.size'], 2);
    assert.equal(typeof v4.attrs['nis2.ip_list.age_s'], 'number');
    assert.equal(JSON.parse(v4.body).alg, 'Ed25519', 'the event is a signed envelope');
    assert.ok(events.some((e) => e.attrs['client.address'] === '2001:db8:7::'));
    assert.equal(app.events('nis2.tor.blocked').filter((e) => e.attrs['client.address'] === '198.51.100.0').length, 1, 'repeats of one client are aggregated, not one event each');
  } finally {
    await app.stop();
    await server.close();
  }
});

test('monitor: a Tor exit passes to the app and the event says what would have been blocked', async () => {
  const server = await listServer(LIST);
  const app = await guardedApp({ tor: { mode: 'monitor', source: server.url, cacheFile: join(tempDir('tor'), 'tor.txt') } });
  try {
    await waitFor(() => torOf(app).list.stats.loaded, 'list fetched at start');
    const r = await getFrom(app.port, EXIT_V4);
    assert.equal(r.status, 200);
    assert.equal(app.handled(), 1);
    const [event] = await waitFor(() => { const e = app.events('nis2.tor.blocked'); return e.length ? e : undefined; }, 'monitor event');
    assert.equal(event!.attrs['nis2.action'], 'monitor');
    assert.equal(event!.attrs['http.response.status_code'], undefined, 'nothing was answered by the guard');
  } finally {
    await app.stop();
    await server.close();
  }
});

test('the global monitor mode applies to Tor unless tor.mode says otherwise', async () => {
  const server = await listServer(LIST);
  const app = await guardedApp({ mode: 'monitor', tor: { source: server.url, cacheFile: join(tempDir('tor'), 'tor.txt') } });
  try {
    await waitFor(() => torOf(app).list.stats.loaded, 'list fetched at start');
    assert.equal((await getFrom(app.port, EXIT_V4)).status, 200);
  } finally {
    await app.stop();
    await server.close();
  }
});

test('Tor is off by default (no defense, no fetch); tor.mode alone turns it on with the Tor Project list', async () => {
  const app = await guardedApp({});
  try {
    assert.ok(!app.inst.defenses.some((d) => d.name === 'tor'));
  } finally {
    await app.stop();
  }
  const base = { export: { otlp: 'off' as const, eventsFile: '/tmp/unused.jsonl' }, signing: { keyDir: '/srv/app/.nis2' } };
  assert.equal(torSettings(loadConfig({ options: base, env: {} })).mode, 'off');
  const on = torSettings(loadConfig({ options: { ...base, tor: { mode: 'enforce' } }, env: {} }));
  assert.equal(on.source, 'https://check.torproject.org/torbulkexitlist');
  assert.equal(on.cacheFile, '/srv/app/.nis2/tor-exit-list.txt');
  assert.equal(on.refreshIntervalMs, 3_600_000);
  assert.equal(on.staleAfterMs, 86_400_000);
  const fromEnv = torSettings(loadConfig({ options: base, env: { NIS2_TOR_SOURCE: '/srv/lists/tor.txt', NIS2_MODE: 'monitor', NIS2_TOR_CACHE_FILE: 'off' } }));
  assert.equal(fromEnv.mode, 'monitor', 'a source turns Tor on in the global mode');
  assert.equal(fromEnv.source, '/srv/lists/tor.txt');
  assert.equal(fromEnv.cacheFile, undefined);
});

test('a restart is protected from the first request by the cache file, with the source down', async () => {
  const server = await listServer(LIST);
  const cacheFile = join(tempDir('tor'), 'tor.txt');
  const first = await guardedApp({ tor: { source: server.url, cacheFile } });
  await waitFor(() => torOf(first).list.stats.loaded, 'list fetched at start');
  await first.stop();
  await server.close();

  const restarted = await guardedApp({ tor: { source: server.url, cacheFile } });
  try {
    // No waiting: the cache was read while the guard was built.
    assert.equal((await getFrom(restarted.port, EXIT_V4)).status, 403);
    assert.equal((await getFrom(restarted.port, USER)).status, 200);
    assert.equal(torOf(restarted).list.stats.origin, 'cache');
  } finally {
    await restarted.stop();
  }
});

test('a stale list raises nis2.defense.degraded once and keeps blocking; a successful refresh raises nis2.defense.recovered', async () => {
  const server = await listServer(LIST);
  server.fail(503);
  const cacheFile = join(tempDir('tor'), 'tor.txt');
  // A cache fetched two days ago: older than tor.staleAfter.
  writeFileSync(cacheFile, formatCache([parseCidr(EXIT_V4)!], { source: server.url, fetchedAt: Date.now() - 2 * 86_400_000 }));
  const app = await guardedApp({ tor: { source: server.url, cacheFile, staleAfter: '1h', refreshInterval: '1s' } });
  try {
    const [degraded] = await waitFor(() => { const e = app.events('nis2.defense.degraded'); return e.length ? e : undefined; }, 'degraded event');
    assert.equal(degraded!.attrs['nis2.defense'], 'tor');
    assert.equal(degraded!.attrs['nis2.reason'], 'list_stale');
    assert.equal(degraded!.attrs['nis2.ip_list.error'], 'HTTP 503');
    assert.ok((degraded!.attrs['nis2.ip_list.age_s'] as number) >= 2 * 86_400 - 5);
    assert.equal((await getFrom(app.port, EXIT_V4)).status, 403, 'the stale list is still enforced (no silent fail-open)');

    server.fail(undefined);
    const [recovered] = await waitFor(() => { const e = app.events('nis2.defense.recovered'); return e.length ? e : undefined; }, 'recovered event after the retry', 10_000);
    assert.equal(recovered!.attrs['nis2.defense'], 'tor');
    assert.equal(app.events('nis2.defense.degraded').length, 1, 'one degraded event for the episode, although several fetches failed');
    assert.equal((await getFrom(app.port, EXIT_V6)).status, 403, 'the refreshed list (with the IPv6 exit) is in use');
  } finally {
    await app.stop();
    await server.close();
  }
});

test('a file source works without any network, in the exit-addresses format', async () => {
  const path = join(tempDir('tor'), 'exit-addresses');
  writeFileSync(path, `ExitNode 00AA\nPublished 2026-11-24 23:10:55\nLastStatus 2026-11-25 01:00:00\nExitAddress ${EXIT_V4} 2026-11-25 01:04:12\n`);
  const app = await guardedApp({ tor: { source: path } });
  try {
    assert.equal((await getFrom(app.port, EXIT_V4)).status, 403);
    assert.equal((await getFrom(app.port, USER)).status, 200);
  } finally {
    await app.stop();
  }
});

test('bad Tor settings fail at start and name the key', () => {
  const base = { export: { otlp: 'off' as const, eventsFile: '/tmp/unused.jsonl' } };
  assert.throws(() => loadConfig({ options: { ...base, tor: { refreshInterval: '10ms' } }, env: {} }), /NIS2_ERR_CONFIG_INVALID.*tor\.refreshInterval.*NIS2_TOR_REFRESH_INTERVAL/);
  assert.throws(() => loadConfig({ options: base, env: { NIS2_TOR_SOURCE: 'ftp://example.invalid/list' } }), /NIS2_TOR_SOURCE/);
  assert.throws(() => loadConfig({ options: base, env: { NIS2_TOR_MODE: 'block' } }), /NIS2_TOR_MODE: expected one of 'enforce', 'monitor', 'off'/);
});
