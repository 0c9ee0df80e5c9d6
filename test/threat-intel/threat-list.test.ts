// The refreshing list on its own, against a real HTTP server on 127.0.0.1: conditional refresh,
// atomic swap, the persisted cache, failures that keep the list, and staleness episodes.
import assert from 'node:assert/strict';
import { readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatCache, readCacheSync } from '../../dist/esm/threat-intel/cache.js';
import { parseSource } from '../../dist/esm/threat-intel/source.js';
import { ThreatList, type ThreatListOptions } from '../../dist/esm/threat-intel/threat-list.js';
import { parseCidr } from '../../dist/esm/net/ip.js';
import { closedPort, listServer, removeTempDirs, tempDir, waitFor } from './helpers.ts';

after(removeTempDirs);

interface Captured { name: string; severity: string; attrs: Record<string, unknown> }

function capture(): { events: Captured[]; emit(e: Captured): void } {
  const events: Captured[] = [];
  return { events, emit: (e) => { events.push(e); } };
}

function list(options: Partial<ThreatListOptions> & Pick<ThreatListOptions, 'source'>): ThreatList {
  return new ThreatList({ name: 'tor_exit', defense: 'tor', rule: 'tor_exit_node', refreshIntervalMs: 3_600_000, staleAfterMs: 0, onInvalidLines: () => undefined, ...options });
}

test('fetches the list, persists it with its ETag, then revalidates with If-None-Match (304 keeps the same set)', async () => {
  const server = await listServer('198.51.100.7\n2001:db8:7::7\n');
  const cacheFile = join(tempDir('tl'), 'cache', 'tor.txt');
  const tl = list({ source: parseSource(server.url), cacheFile });
  try {
    assert.equal(tl.stats.loaded, false);
    assert.equal(await tl.refresh(), 'updated');
    assert.ok(tl.matcher.has('198.51.100.7') && tl.matcher.has('2001:db8:7::7'));
    assert.equal(server.requests[0]!.ifNoneMatch, undefined);
    const cached = readCacheSync(cacheFile);
    assert.equal(cached.meta!.etag, '"v1"');
    assert.equal(cached.meta!.source, server.url);
    assert.equal(cached.list.entries.length, 2);

    const before = tl.matcher;
    const firstFetchedAt = tl.stats.fetchedAt!;
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await tl.refresh(), 'not-modified');
    assert.equal(server.requests[1]!.ifNoneMatch, '"v1"');
    assert.equal(server.requests[1]!.status, 304);
    assert.ok(server.requests[1]!.ifModifiedSince, 'If-Modified-Since is sent too');
    assert.equal(tl.matcher, before, 'a 304 keeps the very same set');
    assert.ok(tl.stats.fetchedAt! > firstFetchedAt, 'a 304 confirms the list is current');
    assert.equal(readCacheSync(cacheFile).meta!.fetchedAt, tl.stats.fetchedAt, 'the cache records the confirmation');
    assert.equal(tl.stats.notModified, 1);
  } finally {
    tl.close();
    await server.close();
  }
});

test('a new list is swapped in whole: lookups during the refresh see the old or the new set, never a partial one', async () => {
  const old = Array.from({ length: 3000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join('\n');
  const next = Array.from({ length: 5000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`).join('\n');
  const server = await listServer(old);
  const tl = list({ source: parseSource(server.url) });
  try {
    await tl.refresh();
    const first = tl.matcher;
    server.set(next);
    const seen = new Set<number>();
    let done = false;
    const refreshed = tl.refresh().finally(() => { done = true; });
    while (!done) {
      const m = tl.matcher;
      seen.add(m.size);
      assert.ok(m === first || (m.has('10.1.19.135') && !m.has('10.0.0.1')));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(await refreshed, 'updated');
    assert.deepEqual([...seen].filter((s) => s !== 3000 && s !== 5000), []);
    assert.equal(tl.matcher.size, 5000);
    assert.ok(first.has('10.0.0.1') && first.size === 3000, 'the old set is untouched (requests holding it finish on it)');
  } finally {
    tl.close();
    await server.close();
  }
});

test('a failed fetch keeps the previous list: HTTP errors, cut connections, a dead server, an HTML page answered 200', async () => {
  const server = await listServer('198.51.100.7\n');
  const tl = list({ source: parseSource(server.url) });
  try {
    await tl.refresh();
    const kept = tl.matcher;
    server.fail(503);
    assert.equal(await tl.refresh(), 'failed');
    assert.equal(tl.stats.lastError, 'HTTP 503');
    server.fail('reset');
    assert.equal(await tl.refresh(), 'failed');
    server.fail(undefined);
    server.serveRaw('<!doctype html>\n<html>\n<body>Please log in to the hotel Wi-Fi</body>\n</html>\n', 'text/html');
    assert.equal(await tl.refresh(), 'failed');
    assert.equal(tl.stats.lastError, 'invalid_list');
    assert.equal(tl.matcher, kept);
    assert.ok(tl.matcher.has('198.51.100.7'));
    assert.equal(tl.stats.failures, 3);
  } finally {
    tl.close();
    await server.close();
  }
  const dead = list({ source: parseSource(`http://127.0.0.1:${await closedPort()}/list`) });
  assert.equal(await dead.refresh(), 'failed');
  assert.equal(dead.stats.lastError, 'ECONNREFUSED');
  dead.close();
});

test('the cache file protects a restart before any fetch, and its ETag is used for the first revalidation', async () => {
  const server = await listServer('198.51.100.7\n2001:db8:7::7\n');
  const cacheFile = join(tempDir('tl'), 'tor.txt');
  const first = list({ source: parseSource(server.url), cacheFile });
  await first.refresh();
  first.close();

  // "Restart": a new list from the same cache, the source now down.
  server.fail(503);
  const restarted = list({ source: parseSource(server.url), cacheFile });
  try {
    assert.equal(restarted.stats.origin, 'cache');
    assert.ok(restarted.matcher.has('198.51.100.7') && restarted.matcher.has('2001:db8:7::7'), 'protected at construction, before any network I/O');
    server.fail(undefined);
    assert.equal(await restarted.refresh(), 'not-modified');
    assert.equal(server.requests.at(-1)!.ifNoneMatch, '"v1"');
  } finally {
    restarted.close();
  }

  // A cache written for another source is used, but its validators are not sent to this one.
  const other = list({ source: parseSource(`${server.url}?mirror=2`), cacheFile });
  try {
    assert.ok(other.matcher.has('198.51.100.7'));
    assert.equal(await other.refresh(), 'updated');
    assert.equal(server.requests.at(-1)!.ifNoneMatch, undefined);
  } finally {
    other.close();
    await server.close();
  }
});

test('stale beyond the threshold: one degraded event per episode, a recovered event when fresh again; the list stays in use', async () => {
  let clock = Date.UTC(2026, 10, 25, 10, 0, 0);
  const server = await listServer('198.51.100.7\n');
  const events = capture();
  const tl = list({ source: parseSource(server.url), staleAfterMs: 60_000, emitter: events, now: () => clock });
  try {
    assert.equal(await tl.refresh(), 'updated');
    assert.equal(events.events.length, 0);
    server.fail(503);
    clock += 30_000;
    await tl.refresh();
    assert.equal(events.events.length, 0, 'failing but not yet stale: no event');
    clock += 40_000;
    await tl.refresh();
    await tl.refresh();
    clock += 600_000;
    await tl.refresh();
    assert.equal(events.events.length, 1, 'one event for the whole episode');
    const degraded = events.events[0]!;
    assert.equal(degraded.name, 'nis2.defense.degraded');
    assert.equal(degraded.severity, 'WARN');
    assert.deepEqual(degraded.attrs, {
      'nis2.defense': 'tor', 'security_rule.name': 'tor_exit_node', 'nis2.reason': 'list_stale', 'nis2.ip_list.name': 'tor_exit',
      'nis2.ip_list.size': 1, 'nis2.ip_list.source': server.url, 'nis2.ip_list.age_s': 70, 'nis2.ip_list.error': 'HTTP 503',
    });
    assert.ok(tl.matcher.has('198.51.100.7'), 'a stale list is still enforced, never silently dropped');
    assert.equal(tl.stats.degraded, true);

    server.fail(undefined);
    clock += 1000;
    assert.equal(await tl.refresh(), 'not-modified');
    assert.equal(events.events.length, 2);
    assert.equal(events.events[1]!.name, 'nis2.defense.recovered');
    assert.equal(events.events[1]!.attrs['nis2.reason'], 'list_refreshed');
    assert.equal(events.events[1]!.attrs['nis2.degraded_ms'], 601_000);

    // A second episode gets its own event.
    server.fail(503);
    clock += 120_000;
    await tl.refresh();
    assert.equal(events.events.length, 3);
    assert.equal(events.events[2]!.name, 'nis2.defense.degraded');
  } finally {
    tl.close();
    await server.close();
  }
});

test('no list at all (no cache, source down) is reported as degraded with list_unavailable', async () => {
  const events = capture();
  const tl = list({ source: parseSource(`http://127.0.0.1:${await closedPort()}/list`), staleAfterMs: 60_000, emitter: events });
  assert.equal(await tl.refresh(), 'failed');
  tl.close();
  assert.equal(events.events.length, 1);
  assert.equal(events.events[0]!.attrs['nis2.reason'], 'list_unavailable');
  assert.equal(events.events[0]!.attrs['nis2.ip_list.error'], 'ECONNREFUSED');
  assert.equal(events.events[0]!.attrs['nis2.ip_list.size'], 0);
});

test('a file source is read at construction and re-read only when it changes; its header date drives staleness', async () => {
  const dir = tempDir('tl');
  const path = join(dir, 'exits.txt');
  writeFileSync(path, '198.51.100.7\n');
  const tl = list({ source: parseSource(path) });
  try {
    assert.ok(tl.matcher.has('198.51.100.7'));
    assert.equal(await tl.refresh(), 'not-modified');
    // Replaced atomically, as the README asks (write, then rename).
    writeFileSync(`${path}.new`, 'ExitAddress 198.51.100.8 2026-11-25 01:04:12\nExitAddress 2001:db8:8::8 2026-11-25 01:04:12\n');
    renameSync(`${path}.new`, path);
    assert.equal(await tl.refresh(), 'updated');
    assert.ok(!tl.matcher.has('198.51.100.7') && tl.matcher.has('198.51.100.8') && tl.matcher.has('2001:db8:8::8'));
  } finally {
    tl.close();
  }

  // A cache-format file (what update-threat-list writes) is as old as its fetched-at, not its mtime.
  const fetchedAt = Date.now() - 3 * 86_400_000;
  writeFileSync(path, formatCache([parseCidr('198.51.100.9')!], { source: 'https://example.invalid/list', fetchedAt }));
  const events = capture();
  const old = list({ source: parseSource(path), staleAfterMs: 86_400_000, emitter: events });
  old.start();
  old.close();
  assert.equal(old.stats.fetchedAt, fetchedAt);
  assert.equal(events.events[0]?.attrs['nis2.reason'], 'list_stale', 'a file source is judged at start');

  // A plain file is as old as its mtime.
  writeFileSync(path, '198.51.100.10\n');
  const mtime = new Date(Date.now() - 2 * 86_400_000);
  utimesSync(path, mtime, mtime);
  const plain = list({ source: parseSource(path) });
  plain.close();
  assert.equal(Math.round(plain.stats.fetchedAt! / 1000), Math.round(mtime.getTime() / 1000));
});

test('the background refresh runs on its interval and stops on close()', async () => {
  const server = await listServer('198.51.100.7\n');
  const tl = list({ source: parseSource(server.url), refreshIntervalMs: 40 });
  try {
    tl.start();
    await waitFor(() => tl.matcher.has('198.51.100.7'), 'first fetch at start');
    server.set('198.51.100.8\n');
    await waitFor(() => tl.matcher.has('198.51.100.8'), 'the new list is picked up by the timer');
    await waitFor(() => server.requests.filter((r) => r.status === 304).length >= 2, 'unchanged list revalidated with 304s');
  } finally {
    tl.close();
  }
  const count = server.requests.length;
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(server.requests.length <= count + 1, 'no refresh after close');
  await server.close();
});

test('a fresh cache delays the first fetch until the refresh interval is due (restarts do not hammer the source)', async () => {
  const server = await listServer('198.51.100.7\n');
  const cacheFile = join(tempDir('tl'), 'tor.txt');
  const first = list({ source: parseSource(server.url), cacheFile });
  await first.refresh();
  first.close();
  const restarted = list({ source: parseSource(server.url), cacheFile, refreshIntervalMs: 3_600_000 });
  restarted.start();
  await new Promise((r) => setTimeout(r, 150));
  restarted.close();
  assert.equal(server.requests.length, 1);
  await server.close();
});

test('lists over the size cap are refused; the exit-addresses format is read from a URL', async () => {
  const server = await listServer('ExitNode AB\nExitAddress 198.51.100.30 2026-11-25 01:04:12\n'.repeat(50));
  const small = list({ source: parseSource(server.url), fetch: { maxBytes: 100 } });
  assert.equal(await small.refresh(), 'failed');
  assert.equal(small.stats.lastError, 'too_large');
  small.close();
  const ok = list({ source: parseSource(server.url) });
  assert.equal(await ok.refresh(), 'updated');
  assert.equal(ok.matcher.size, 1);
  assert.ok(ok.matcher.has('198.51.100.30'));
  ok.close();
  await server.close();
});

test('edge case: a cache file that is not a list is ignored at start (and the source is fetched)', () => {
  const cacheFile = join(tempDir('tl'), 'tor.txt');
  writeFileSync(cacheFile, '<html>\n<body>oops</body>\n</html>\n');
  const tl = list({ source: parseSource('http://127.0.0.1:9/list'), cacheFile });
  tl.close();
  assert.equal(tl.stats.loaded, false);
  assert.equal(readFileSync(cacheFile, 'utf8').startsWith('<html>'), true);
});
