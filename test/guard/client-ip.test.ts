// Client-IP resolution: forwarding headers are believed only through trusted proxies, the client is
// the rightmost untrusted hop, garbage never becomes a key, addresses are normalised.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ClientIpResolver } from '../../dist/esm/guard/client-ip.js';
import { MAX_HOPS, parseForwarded, parseXForwardedFor } from '../../dist/esm/guard/forwarded.js';
import { parseCidr } from '../../dist/esm/net/ip.js';
import { request, waitFor, type Response } from '../helpers/server.ts';
import { cleanup, countCode, spawnApp } from '../helpers/spawn-app.ts';

after(cleanup);

const COUNT_ROUTE = 'GET /count=100000/60s';

async function statuses(port: number, n: number, headers: (i: number) => Record<string, string>): Promise<number[]> {
  const out: Response[] = [];
  for (let i = 0; i < n; i++) out.push(await request(port, { path: `/r${i}`, headers: headers(i) }));
  return out.map((r) => r.status);
}

describe('over HTTP (child process)', () => {
  test('spoofed X-Forwarded-For without a trusted proxy does not change the key, and warns once', async () => {
    const app = await spawnApp({ app: 'http.cjs', env: { NIS2_RATE_LIMIT: '3/60s', NIS2_RATE_LIMIT_ROUTES: COUNT_ROUTE } });
    try {
      const got = await statuses(app.port, 6, (i) => ({ 'x-forwarded-for': `198.51.100.${i + 1}` }));
      assert.deepEqual(got, [200, 200, 200, 429, 429, 429], 'rotating X-Forwarded-For must not buy new buckets');
      const fwd = await statuses(app.port, 2, (i) => ({ forwarded: `for=203.0.113.${i + 1}` }));
      assert.deepEqual(fwd, [429, 429], 'nor does a rotating Forwarded header');
      const ev = await waitFor(() => app.events().find((e) => e.event === 'nis2.rate_limit.exceeded'), 'rate-limit event');
      assert.equal(ev.attrs['client.address'], '127.0.0.0', 'the socket address is the client');
      assert.equal(ev.attrs['network.peer.address'], undefined);
      await waitFor(() => app.stderr().includes('NIS2_WRN_FORWARDED_UNTRUSTED'), 'NIS2_WRN_FORWARDED_UNTRUSTED on stderr');
      assert.equal(countCode(app.stderr(), 'NIS2_WRN_FORWARDED_UNTRUSTED'), 1, app.stderr());
      assert.match(app.stderr(), /NIS2_TRUSTED_PROXIES/, 'the warning says how to fix it');
    } finally {
      await app.stop('SIGKILL');
    }
  });

  test('with NIS2_TRUSTED_PROXIES=127.0.0.1/32, rotating X-Forwarded-For values are distinct clients', async () => {
    const app = await spawnApp({ app: 'http.cjs', env: { NIS2_RATE_LIMIT: '2/60s', NIS2_TRUSTED_PROXIES: '127.0.0.1/32', NIS2_RATE_LIMIT_ROUTES: COUNT_ROUTE } });
    try {
      const rotating = await statuses(app.port, 6, (i) => ({ 'x-forwarded-for': `198.51.100.${i + 1}` }));
      assert.deepEqual(rotating, [200, 200, 200, 200, 200, 200]);
      const same = await statuses(app.port, 3, () => ({ 'x-forwarded-for': '203.0.113.77' }));
      assert.deepEqual(same, [200, 200, 429], 'one forwarded client is still limited');
      const ev = await waitFor(() => app.events().find((e) => e.event === 'nis2.rate_limit.exceeded'), 'rate-limit event');
      assert.equal(ev.attrs['client.address'], '203.0.113.0', 'the forwarded client, anonymised to /24');
      assert.equal(ev.attrs['network.peer.address'], '127.0.0.0', 'the proxy is recorded as the peer');
      assert.equal(countCode(app.stderr(), 'NIS2_WRN_FORWARDED_UNTRUSTED'), 0);

      // Forwarded IPv6 clients: one bucket per /56, anonymised to /48 in the event.
      const v6 = ['2001:db8:1:ab00::1', '2001:db8:1:abff:ffff::2', '2001:db8:1:ab42::3', '2001:db8:1:ac00::4'];
      const v6statuses = await statuses(app.port, v6.length, (i) => ({ 'x-forwarded-for': v6[i]! }));
      assert.deepEqual(v6statuses, [200, 200, 429, 200], 'the first three share a /56, the fourth does not');
      const v6ev = await waitFor(() => app.events().find((e) => e.event === 'nis2.rate_limit.exceeded' && e.attrs['url.path'] === '/r2' && String(e.attrs['client.address']).includes(':')), 'IPv6 rate-limit event');
      assert.equal(v6ev.attrs['client.address'], '2001:db8:1::');
    } finally {
      await app.stop('SIGKILL');
    }
  });

  test('through a trusted proxy, the rightmost untrusted hop is the key (a forged left part changes nothing)', async () => {
    const app = await spawnApp({ app: 'http.cjs', env: { NIS2_RATE_LIMIT: '2/60s', NIS2_TRUSTED_PROXIES: '127.0.0.1/32, 10.0.0.0/8', NIS2_RATE_LIMIT_ROUTES: COUNT_ROUTE } });
    try {
      // The attacker forges the left part; the real client is the hop the first trusted proxy saw.
      const got = await statuses(app.port, 4, (i) => ({ 'x-forwarded-for': `192.0.2.${i + 1}, 198.51.100.50, 10.1.2.3` }));
      assert.deepEqual(got, [200, 200, 429, 429]);
    } finally {
      await app.stop('SIGKILL');
    }
  });

  test('NIS2_TRUSTED_PROXY_HOPS=1 takes the hop the proxy appended and ignores forged ones to its left', async () => {
    const app = await spawnApp({ app: 'http.cjs', env: { NIS2_RATE_LIMIT: '2/60s', NIS2_TRUSTED_PROXY_HOPS: '1', NIS2_RATE_LIMIT_ROUTES: COUNT_ROUTE } });
    try {
      const rotating = await statuses(app.port, 4, (i) => ({ 'x-forwarded-for': `198.51.100.${i + 1}` }));
      assert.deepEqual(rotating, [200, 200, 200, 200]);
      const forged = await statuses(app.port, 4, (i) => ({ 'x-forwarded-for': `192.0.2.${i + 1}, 203.0.113.9` }));
      assert.deepEqual(forged, [200, 200, 429, 429]);
    } finally {
      await app.stop('SIGKILL');
    }
  });

  test('garbage forwarding values never become a key: the request is keyed by the proxy address', async () => {
    const app = await spawnApp({ app: 'http.cjs', env: { NIS2_RATE_LIMIT: '3/60s', NIS2_TRUSTED_PROXIES: '127.0.0.1/32', NIS2_RATE_LIMIT_ROUTES: COUNT_ROUTE } });
    try {
      const values = ['not-an-ip', 'unknown', '999.1.1.1', '"><script>', '198.51.100.1:8080:1', '', 'x'.repeat(300)];
      const got = await statuses(app.port, values.length, (i) => ({ 'x-forwarded-for': values[i]! }));
      assert.deepEqual(got, [200, 200, 200, 429, 429, 429, 429], 'every garbage value shares the proxy bucket');
      const ev = await waitFor(() => app.events().find((e) => e.event === 'nis2.rate_limit.exceeded'), 'rate-limit event');
      assert.equal(ev.attrs['client.address'], '127.0.0.0');
    } finally {
      await app.stop('SIGKILL');
    }
  });
});

// ---------------------------------------------------------------- pure resolution

// Built from parsed CIDRs directly (not through loadConfig) so the resolution rules are tested on
// their own; config loading of NIS2_TRUSTED_PROXIES is covered over HTTP above and in config tests.
function resolver(options: { trustedProxies?: string; trustedProxyHops?: number }): ClientIpResolver {
  const trustedProxies = (options.trustedProxies ?? '').split(',').filter((s) => s.trim() !== '').map((s) => {
    const cidr = parseCidr(s);
    assert.ok(cidr, s);
    return cidr;
  });
  return new ClientIpResolver({ trustedProxies, trustedProxyHops: options.trustedProxyHops ?? 0 });
}

function req(remoteAddress: string | undefined, headers: Record<string, string | string[]> = {}): never {
  return { socket: { remoteAddress }, headers } as never;
}

describe('ClientIpResolver', () => {
  const proxies = resolver({ trustedProxies: '127.0.0.1/32, 10.0.0.0/8' });

  test('takes the rightmost untrusted hop of X-Forwarded-For', () => {
    assert.equal(proxies.resolve(req('127.0.0.1', { 'x-forwarded-for': '203.0.113.9, 198.51.100.1, 10.0.0.5' })), '198.51.100.1');
    assert.equal(proxies.resolve(req('10.9.9.9', { 'x-forwarded-for': '198.51.100.1' })), '198.51.100.1');
  });

  test('when every hop is a trusted proxy, the leftmost one is the client', () => {
    assert.equal(proxies.resolve(req('127.0.0.1', { 'x-forwarded-for': '10.0.0.1, 10.0.0.2' })), '10.0.0.1');
    assert.equal(proxies.resolve(req('127.0.0.1', {})), '127.0.0.1');
  });

  test('does not read forwarding headers from an untrusted peer', () => {
    assert.equal(proxies.resolve(req('192.0.2.200', { 'x-forwarded-for': '198.51.100.1' })), '192.0.2.200');
    assert.equal(proxies.resolve(req('192.0.2.200', { forwarded: 'for=198.51.100.1' })), '192.0.2.200');
  });

  test('does not read forwarding headers when no proxy is trusted', () => {
    const none = resolver({});
    assert.equal(none.resolve(req('127.0.0.1', { 'x-forwarded-for': '198.51.100.1' })), '127.0.0.1');
    assert.equal(none.resolve(req('127.0.0.1', { forwarded: 'for=198.51.100.1' })), '127.0.0.1');
  });

  test('RFC 7239 Forwarded: quoted IPv6 with port, IPv4 with port, case-insensitive parameter names', () => {
    assert.equal(proxies.resolve(req('127.0.0.1', { forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"' })), '2001:db8:cafe::17');
    assert.equal(proxies.resolve(req('127.0.0.1', { forwarded: 'for="198.51.100.17:47011";proto=https' })), '198.51.100.17');
    assert.equal(proxies.resolve(req('127.0.0.1', { forwarded: 'for=192.0.2.43, for=10.0.0.3' })), '192.0.2.43');
  });

  test('Forwarded wins over X-Forwarded-For when both are present', () => {
    assert.equal(proxies.resolve(req('127.0.0.1', { forwarded: 'for=192.0.2.43', 'x-forwarded-for': '198.51.100.1' })), '192.0.2.43');
  });

  test('garbage hops stop the walk at the last good address and are never returned', () => {
    const cases: Array<[Record<string, string | string[]>, string]> = [
      [{ 'x-forwarded-for': 'not-an-ip' }, '127.0.0.1'],
      [{ 'x-forwarded-for': '198.51.100.1, bogus' }, '127.0.0.1'],
      [{ 'x-forwarded-for': '198.51.100.1, bogus, 10.0.0.7' }, '10.0.0.7'],
      [{ 'x-forwarded-for': '' }, '127.0.0.1'],
      [{ 'x-forwarded-for': ' , ,' }, '127.0.0.1'],
      [{ forwarded: 'for=unknown' }, '127.0.0.1'],
      [{ forwarded: 'for="_hidden"' }, '127.0.0.1'],
      [{ forwarded: 'proto=https' }, '127.0.0.1'],
      [{ forwarded: 'for="[2001:db8::1' }, '127.0.0.1'],
      [{ forwarded: 'for=300.1.1.1' }, '127.0.0.1'],
    ];
    for (const [headers, expected] of cases) {
      assert.equal(proxies.resolve(req('127.0.0.1', headers)), expected, JSON.stringify(headers));
    }
  });

  test('a forged chain longer than the hop cap or the header cap cannot push the real client out', () => {
    const forged = Array.from({ length: 500 }, (_, i) => `192.0.2.${i % 250}`).join(', ');
    assert.equal(proxies.resolve(req('127.0.0.1', { 'x-forwarded-for': `${forged}, 198.51.100.9, 10.0.0.1` })), '198.51.100.9');
    assert.equal(proxies.resolve(req('127.0.0.1', { 'x-forwarded-for': `${'a'.repeat(10_000)}, 198.51.100.9` })), '198.51.100.9');
    assert.equal(parseXForwardedFor(forged).length, MAX_HOPS);
  });

  test('repeated header lines are read as one list in order', () => {
    assert.equal(proxies.resolve(req('127.0.0.1', { 'x-forwarded-for': ['192.0.2.1', '198.51.100.2, 10.0.0.1'] })), '198.51.100.2');
  });

  test('hop-count mode takes the client that many hops from the right', () => {
    const xff = { 'x-forwarded-for': '192.0.2.1, 198.51.100.2, 203.0.113.3' };
    assert.equal(resolver({ trustedProxyHops: 1 }).resolve(req('192.0.2.250', xff)), '203.0.113.3');
    assert.equal(resolver({ trustedProxyHops: 2 }).resolve(req('192.0.2.250', xff)), '198.51.100.2');
    assert.equal(resolver({ trustedProxyHops: 3 }).resolve(req('192.0.2.250', xff)), '192.0.2.1');
    assert.equal(resolver({ trustedProxyHops: 5 }).resolve(req('192.0.2.250', xff)), '192.0.2.1', 'a short chain yields its leftmost hop');
    assert.equal(resolver({ trustedProxyHops: 1 }).resolve(req('192.0.2.250', {})), '192.0.2.250', 'no header: the peer');
    assert.equal(resolver({ trustedProxyHops: 1 }).resolve(req('192.0.2.250', { 'x-forwarded-for': '198.51.100.2, garbage' })), '192.0.2.250');
  });

  test('trustedProxies wins over trustedProxyHops when both are set', () => {
    const both = resolver({ trustedProxies: '127.0.0.1/32', trustedProxyHops: 2 });
    assert.equal(both.resolve(req('127.0.0.1', { 'x-forwarded-for': '192.0.2.1, 198.51.100.2' })), '198.51.100.2');
  });

  test('normalises IPv4-mapped IPv6, case, brackets and zone ids', () => {
    assert.equal(proxies.resolve(req('::ffff:198.51.100.7')), '198.51.100.7');
    assert.equal(proxies.resolve(req('::FFFF:127.0.0.1', { 'x-forwarded-for': '::ffff:203.0.113.5' })), '203.0.113.5', 'a mapped peer matches an IPv4 trusted CIDR');
    assert.equal(proxies.resolve(req('127.0.0.1', { 'x-forwarded-for': ' 2001:DB8::A ' })), '2001:db8::a');
    assert.equal(proxies.resolve(req('127.0.0.1', { 'x-forwarded-for': '[2001:db8::b]' })), '2001:db8::b');
    assert.equal(proxies.resolve(req('fe80::1%eth0')), 'fe80::1');
    assert.equal(proxies.resolve(req(undefined)), 'unknown');
  });
});

describe('forwarding header parsers', () => {
  test('parseXForwardedFor keeps order (rightmost last) and trims', () => {
    assert.deepEqual(parseXForwardedFor(' 192.0.2.1 ,198.51.100.2,  10.0.0.1'), ['192.0.2.1', '198.51.100.2', '10.0.0.1']);
    assert.deepEqual(parseXForwardedFor(undefined), []);
  });

  test('parseForwarded extracts for= values per element, strips quotes, brackets and ports', () => {
    assert.deepEqual(
      parseForwarded('for="_gazonk", For="[2001:db8:cafe::17]:4711", for=192.0.2.60;proto=http;by=203.0.113.43, for="192.0.2.43:80", proto=https'),
      ['_gazonk', '2001:db8:cafe::17', '192.0.2.60', '192.0.2.43', ''],
    );
    assert.deepEqual(parseForwarded(['for=192.0.2.1', 'for=198.51.100.2']), ['192.0.2.1', '198.51.100.2']);
  });
});
