// IP allow and deny lists behind the real guard, with a real app server on 127.0.0.1. Loopback is
// a trusted proxy here, so X-Forwarded-For plays the client address.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig, Nis2Instrumentation } from '../../dist/esm/index.js';
import type { IpListsDefense } from '../../dist/esm/defenses/ip-lists.js';
import { getFrom, guardedApp, removeTempDirs, tempDir, waitFor, type GuardedApp } from '../threat-intel/helpers.ts';

after(removeTempDirs);

const warnings: string[] = [];
process.on('warning', (w: Error & { code?: string }) => { if (w.code) warnings.push(`${w.code}: ${w.message}`); });

function listsOf(app: GuardedApp): IpListsDefense {
  const d = app.inst.defenses.find((x) => x.name === 'ip_lists');
  assert.ok(d, 'the IP lists are enabled');
  return d as IpListsDefense;
}

test('enforce: a denied address (IPv4 or IPv6 block) gets 403 ip_denied and the app never runs; others pass', async () => {
  const app = await guardedApp({ ipLists: { deny: '198.51.100.0/24, 2001:db8:bad::/48' } });
  try {
    const blocked = await getFrom(app.port, '198.51.100.9');
    assert.equal(blocked.status, 403);
    const body = JSON.parse(blocked.body);
    assert.deepEqual(Object.keys(body).sort(), ['error', 'reason', 'requestId']);
    assert.deepEqual([body.error, body.reason], ['forbidden', 'ip_denied']);
    assert.equal((await getFrom(app.port, '2001:db8:bad:1::1')).status, 403);
    assert.equal(app.handled(), 0);
    assert.equal((await getFrom(app.port, '198.51.101.9')).status, 200);
    assert.equal((await getFrom(app.port, '2001:db8:bae::1')).status, 200);
    assert.equal(app.handled(), 2);

    const events = await waitFor(() => { const e = app.events('nis2.ip.blocked'); return e.length >= 2 ? e : undefined; }, 'ip events');
    const v4 = events.find((e) => e.attrs['client.address'] === '198.51.100.0')!;
    assert.equal(v4.attrs['security_rule.name'], 'ip_deny_list');
    assert.equal(v4.attrs['security_rule.category'], 'access_control');
    assert.equal(v4.attrs['nis2.action'], 'block');
    assert.equal(v4.attrs['nis2.reason'], 'ip_denied');
    assert.equal(v4.attrs['nis2.ip_list.name'], 'deny');
    assert.equal(v4.attrs['nis2.ip_list.size'], 2);
    assert.equal(v4.attrs['nis2.ip_list.entry'], '198.51.100.0/24', 'a network-wide entry is named');
    const v6 = events.find((e) => e.attrs['client.address'] === '2001:db8:bad::')!;
    assert.equal(v6.attrs['nis2.ip_list.entry'], '2001:db8:bad::/48');
  } finally {
    await app.stop();
  }
});

test('privacy: an entry narrower than the anonymisation prefix (a single address) is not written into the event', async () => {
  const app = await guardedApp({ ipLists: { deny: ['198.51.100.77'] } });
  try {
    assert.equal((await getFrom(app.port, '198.51.100.77')).status, 403);
    const [event] = await waitFor(() => { const e = app.events('nis2.ip.blocked'); return e.length ? e : undefined; }, 'event');
    assert.equal(event!.attrs['nis2.ip_list.entry'], undefined);
    assert.ok(!event!.body.includes('198.51.100.77'), 'the full address appears nowhere in the signed record');
  } finally {
    await app.stop();
  }
});

test('monitor: a denied address passes to the app with a nis2.ip.blocked event (nis2.action=monitor)', async () => {
  const app = await guardedApp({ ipLists: { mode: 'monitor', deny: '198.51.100.0/24' } });
  try {
    assert.equal((await getFrom(app.port, '198.51.100.9')).status, 200);
    assert.equal(app.handled(), 1);
    const [event] = await waitFor(() => { const e = app.events('nis2.ip.blocked'); return e.length ? e : undefined; }, 'event');
    assert.equal(event!.attrs['nis2.action'], 'monitor');
  } finally {
    await app.stop();
  }
});

test('an allow-listed probe bypasses the deny list, the Tor list and the rate limiter; others are still limited', async () => {
  const dir = tempDir('lists');
  const torFile = join(dir, 'tor.txt');
  writeFileSync(torFile, '198.51.100.200\n');
  const app = await guardedApp({
    ipLists: { allow: ['198.51.100.200'], deny: '198.51.100.0/24' },
    tor: { source: torFile },
    rateLimit: { limit: '2/60s' },
  });
  try {
    const probe = [];
    for (let i = 0; i < 5; i++) probe.push((await getFrom(app.port, '198.51.100.200')).status);
    assert.deepEqual(probe, [200, 200, 200, 200, 200], 'allow wins over deny, Tor and the limit');
    assert.equal(app.handled(), 5);
    const other = [];
    for (let i = 0; i < 3; i++) other.push((await getFrom(app.port, '203.0.113.5')).status);
    assert.deepEqual(other, [200, 200, 429]);
    assert.equal((await getFrom(app.port, '198.51.100.9')).status, 403);
    await waitFor(() => app.events('nis2.ip.blocked').length === 1, 'the denied neighbour\'s event');
    assert.deepEqual(app.events('nis2.rate_limit.exceeded').map((e) => e.attrs['client.address']), ['203.0.113.0'], 'the probe was never counted');
    assert.equal(app.events('nis2.tor.blocked').length, 0);
  } finally {
    await app.stop();
  }
});

test('list files are read at start and re-read when replaced; malformed lines are skipped with one warning', async () => {
  const dir = tempDir('lists');
  const denyFile = join(dir, 'deny.txt');
  writeFileSync(denyFile, '# incident 42\n198.51.100.9\n198.51.100.300\n2001:db8:bad::/48 ; SBL000001\n');
  const allowFile = join(dir, 'allow.txt');
  writeFileSync(allowFile, '203.0.113.0/24\n');
  const app = await guardedApp({ ipLists: { denyFile, allowFile, deny: '192.0.2.1', refreshInterval: '1s' } });
  try {
    assert.equal((await getFrom(app.port, '198.51.100.9')).status, 403);
    assert.equal((await getFrom(app.port, '2001:db8:bad::5')).status, 403);
    assert.equal((await getFrom(app.port, '192.0.2.1')).status, 403, 'inline entries and the file both apply');
    assert.equal((await getFrom(app.port, '198.51.100.10')).status, 200);
    assert.ok(warnings.some((w) => w.startsWith('NIS2_WRN_IP_LIST_INVALID_LINES') && w.includes('line 3') && w.includes('198.51.100.300')), warnings.join('\n'));
    assert.equal(listsOf(app).deny.size, 3);

    // An incident: add an attacker without a restart (write, then rename).
    writeFileSync(`${denyFile}.new`, '198.51.100.9\n198.51.100.10\n');
    renameSync(`${denyFile}.new`, denyFile);
    await waitFor(() => listsOf(app).deny.file!.matcher.has('198.51.100.10'), 'deny file re-read', 10_000);
    assert.equal((await getFrom(app.port, '198.51.100.10')).status, 403);
    assert.equal((await getFrom(app.port, '2001:db8:bad::5')).status, 200, 'removed entries stop applying');
  } finally {
    await app.stop();
  }
});

test('the lists are off without a list; a list turns them on in the global mode', async () => {
  const base = { export: { otlp: 'off' as const, eventsFile: '/tmp/unused.jsonl' } };
  const none = await guardedApp({});
  try {
    assert.ok(!none.inst.defenses.some((d) => d.name === 'ip_lists'));
  } finally {
    await none.stop();
  }
  const config = loadConfig({ options: base, env: { NIS2_IP_DENY: '198.51.100.0/24', NIS2_MODE: 'monitor' } });
  assert.deepEqual((config.values.get('ipLists.deny') as Array<{ text: string }>).map((c) => c.text), ['198.51.100.0/24']);
  const app = await guardedApp({ mode: 'monitor', ipLists: { deny: '198.51.100.0/24' } });
  try {
    assert.equal((await getFrom(app.port, '198.51.100.9')).status, 200);
  } finally {
    await app.stop();
  }
  const off = await guardedApp({ ipLists: { mode: 'off', deny: '198.51.100.0/24' } });
  try {
    assert.equal((await getFrom(off.port, '198.51.100.9')).status, 200);
    assert.ok(!off.inst.defenses.some((d) => d.name === 'ip_lists'));
  } finally {
    await off.stop();
  }
});

test('bad lists fail at start and name the key: an invalid entry, an unreadable file', () => {
  const base = { export: { otlp: 'off' as const, eventsFile: '/tmp/unused.jsonl' } };
  assert.throws(() => loadConfig({ options: base, env: { NIS2_IP_DENY: '198.51.100.0/24, 198.51.100.300' } }),
    /NIS2_ERR_CONFIG_INVALID: NIS2_IP_DENY: '198\.51\.100\.300' is not an address or a CIDR block/);
  assert.throws(() => loadConfig({ options: { ...base, ipLists: { allow: ['example.com'] } }, env: {} }), /ipLists\.allow.*NIS2_IP_ALLOW/);
  const dir = tempDir('lists');
  assert.throws(() => new Nis2Instrumentation({ nis2: { ...base, signing: { keyDir: join(dir, '.nis2') }, ipLists: { denyFile: join(dir, 'missing.txt') } }, enabled: false }),
    /NIS2_ERR_CONFIG_INVALID: ipLists\.denyFile \(NIS2_IP_DENY_FILE\): cannot read '.*missing\.txt' as an IP list \(ENOENT\)/);
  const html = join(dir, 'deny.html');
  writeFileSync(html, '<html>\n<body>not a list</body>\n</html>\n');
  assert.throws(() => new Nis2Instrumentation({ nis2: { ...base, signing: { keyDir: join(dir, '.nis2') }, ipLists: { denyFile: html } }, enabled: false }), /invalid_list/);
});
