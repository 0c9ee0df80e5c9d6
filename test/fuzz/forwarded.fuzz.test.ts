// Property-based fuzzing of the forwarding-header parsers and the client-IP resolver: whatever a
// client or a chain of proxies writes, the parse is bounded (≤ 32 hops, ≤ 4 KiB read), and the
// resolver names the rightmost untrusted hop (or stops at garbage), never a string that is not an IP.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_HOPS, parseForwarded, parseXForwardedFor } from '../../dist/esm/guard/forwarded.js';
import { ClientIpResolver } from '../../dist/esm/guard/client-ip.js';
import { normalizeIp, parseCidr, parseIp, type Cidr } from '../../dist/esm/net/ip.js';
import type { AnyRequest } from '../../dist/esm/defenses/types.js';
import { fc, runs } from './fc.ts';

/** Characters that matter to these parsers, plus a little of everything else. */
const HEADER_CHAR = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(',', ';', '=', '"', '[', ']', ':', '.', ' ', '\t', 'f', 'o', 'r', 'F', 'O', 'R', '_', '%') },
  { weight: 6, arbitrary: fc.constantFrom('0', '1', '2', '5', '9', 'a', 'b', 'e', 'f', 'A', 'F') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const headerText = (maxLength: number, size: fc.SizeForArbitrary = 'small') => fc.string({ unit: HEADER_CHAR, maxLength, size });
const headerValue = fc.oneof(
  fc.constant(undefined),
  headerText(300),
  fc.array(headerText(80), { maxLength: 4 }),
  // Long values, past the 4 KiB the parsers read.
  fc.tuple(headerText(40), fc.integer({ min: 1, max: 400 })).map(([s, n]) => `${s}, `.repeat(n)),
);

const octet = fc.nat(255);
const hex = fc.nat(0xffff).map((n) => n.toString(16));
const port = fc.integer({ min: 1, max: 65535 });

/** A hop as written in a header, and what the resolver must make of it. */
interface Hop {
  xff: string;
  fwd: string;
  ip: string | undefined;
  trusted: boolean;
}

// Trust is known by construction: the resolver under test trusts `loopback, private`.
const trustedV4 = fc.tuple(octet, octet, octet).map(([a, b, c]) => `10.${a}.${b}.${c}`);
const untrustedV4 = fc.tuple(fc.integer({ min: 11, max: 126 }), octet, octet, octet).map(([a, b, c, d]) => `${a}.${b}.${c}.${d}`);
const trustedV6 = fc.tuple(hex, hex).map(([a, b]) => `fd00:${a}::${b}`);
const untrustedV6 = fc.tuple(hex, hex).map(([a, b]) => `2001:db8:${a}::${b}`);

const v4Hop = (trusted: boolean) => fc.tuple(trusted ? trustedV4 : untrustedV4, fc.option(port), fc.boolean()).map(([ip, p, quote]): Hop => {
  const node = p === null ? ip : `${ip}:${p}`;
  return { xff: node, fwd: quote || p !== null ? `for="${node}"` : `for=${node}`, ip, trusted };
});
const v6Hop = (trusted: boolean) => fc.tuple(trusted ? trustedV6 : untrustedV6, fc.option(port), fc.boolean()).map(([ip, p, bracket]): Hop => {
  const node = p === null ? `[${ip}]` : `[${ip}]:${p}`;
  return { xff: bracket || p !== null ? node : ip, fwd: `for="${node}"`, ip, trusted };
});
/** Never an IP: letters past `f`, obfuscated identifiers, `unknown`, broken addresses. */
const garbageHop = fc.oneof(
  fc.stringMatching(/^[g-z_]{0,12}$/),
  fc.constantFrom('unknown', '_hidden', '1.2.3', '999.1.1.1', '::g', '1.2.3.4.5', '[::1', 'a.b.c.d', '1.2.3.4.5:80'),
).map((text): Hop => ({ xff: text, fwd: `for="${text}"`, ip: undefined, trusted: false }));
const hop: fc.Arbitrary<Hop> = fc.oneof(
  { weight: 4, arbitrary: v4Hop(true) },
  { weight: 4, arbitrary: v4Hop(false) },
  { weight: 2, arbitrary: v6Hop(true) },
  { weight: 2, arbitrary: v6Hop(false) },
  { weight: 1, arbitrary: garbageHop },
);

const ows = fc.constantFrom('', ' ', '  ', '\t');
const otherParams = fc.array(fc.constantFrom('proto=https', 'by=_proxy', 'host=app.example', 'proto=http'), { maxLength: 2 });
const forCase = fc.constantFrom('for', 'For', 'FOR');

function xffHeader(hops: readonly Hop[], sep: readonly string[]): string {
  return hops.map((h, i) => `${sep[i % sep.length]}${h.xff}${sep[(i + 1) % sep.length]}`).join(',');
}

function forwardedHeader(hops: readonly Hop[], params: readonly string[][], cases: readonly string[]): string {
  return hops.map((h, i) => {
    const fwd = h.fwd.replace(/^for/, cases[i % cases.length]!);
    const extra = params[i % params.length] ?? [];
    return [...extra.slice(0, 1), fwd, ...extra.slice(1)].join(';');
  }).join(', ');
}

const TRUSTED: Cidr[] = ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'].map((c) => parseCidr(c)!);

function req(headers: Record<string, string | string[] | undefined>, remoteAddress: string | undefined): AnyRequest {
  return { headers, socket: { remoteAddress } } as unknown as AnyRequest;
}

/** The resolver's contract, written independently: walk the last 32 hops from the right. */
function expectedClient(hops: readonly Hop[], peer: string, peerTrusted: boolean, trustHops: number): string {
  const chain = hops.slice(-MAX_HOPS);
  let client = peer;
  if (trustHops > 0) {
    for (let i = chain.length - 1; i >= 0 && i >= chain.length - trustHops; i--) {
      const ip = chain[i]!.ip;
      if (ip === undefined) return client;
      client = ip;
    }
    return client;
  }
  if (!peerTrusted) return peer;
  for (let i = chain.length - 1; i >= 0; i--) {
    const h = chain[i]!;
    if (h.ip === undefined) return client;
    client = h.ip;
    if (!h.trusted) return client;
  }
  return client;
}

const peers = fc.constantFrom(
  { remote: '127.0.0.1', peer: '127.0.0.1', trusted: true },
  { remote: '::ffff:127.0.0.1', peer: '127.0.0.1', trusted: true },
  { remote: '::1', peer: '::1', trusted: true },
  { remote: '10.1.2.3', peer: '10.1.2.3', trusted: true },
  { remote: '198.51.100.1', peer: '198.51.100.1', trusted: false },
  { remote: '2001:db8::7', peer: '2001:db8::7', trusted: false },
  { remote: undefined, peer: 'unknown', trusted: false },
);

describe('parseXForwardedFor', () => {
  test('never returns more than 32 hops, each trimmed and without a comma, for any value', () => {
    fc.assert(fc.property(headerValue, (value) => {
      const hops = parseXForwardedFor(value);
      assert.ok(Array.isArray(hops));
      assert.ok(hops.length <= MAX_HOPS, `${hops.length} hops`);
      for (const h of hops) {
        assert.equal(typeof h, 'string');
        assert.equal(h, h.trim());
        assert.ok(!h.includes(','), h);
      }
    }), { numRuns: runs(400) });
  });

  test('reads a list of header lines exactly as their comma-joined value', () => {
    fc.assert(fc.property(fc.array(headerText(200), { maxLength: 6 }), (lines) => {
      assert.deepEqual(parseXForwardedFor(lines), parseXForwardedFor(lines.join(',')));
    }), { numRuns: runs(200) });
  });

  test('up to 4 KiB: exactly the last 32 comma-separated entries, trimmed', () => {
    fc.assert(fc.property(headerText(4096, 'large'), (value) => {
      const all = value.split(',').map((s) => s.trim());
      assert.deepEqual(parseXForwardedFor(value), all.slice(-MAX_HOPS));
    }), { numRuns: runs(300) });
  });

  test('past 4 KiB: the rightmost entries are intact; only the leftmost one read may be cut', () => {
    fc.assert(fc.property(fc.array(hop, { minLength: 200, maxLength: 3000 }), fc.array(ows, { minLength: 1, maxLength: 3 }), (hops, sep) => {
      const value = xffHeader(hops, sep);
      fc.pre(value.length > 4096);
      const got = parseXForwardedFor(value);
      const all = value.split(',').map((s) => s.trim());
      const want = all.slice(-got.length);
      assert.ok(got.length <= MAX_HOPS);
      assert.deepEqual(got.slice(1), want.slice(1));
      assert.ok(want[0]!.endsWith(got[0]!), `${JSON.stringify(got[0])} is not the tail of ${JSON.stringify(want[0])}`);
      // 32 hops of at most ~45 characters fit in 4 KiB: nothing the walk reads is cut.
      assert.equal(got.length, MAX_HOPS);
      assert.deepEqual(got, all.slice(-MAX_HOPS));
    }), { numRuns: runs(60) });
  });
});

describe('parseForwarded', () => {
  test('never returns more than 32 hops, none holding a comma or a semicolon, for any value', () => {
    fc.assert(fc.property(headerValue, (value) => {
      const hops = parseForwarded(value);
      assert.ok(hops.length <= MAX_HOPS, `${hops.length} hops`);
      for (const h of hops) {
        assert.equal(typeof h, 'string');
        assert.ok(!h.includes(',') && !h.includes(';'), h);
      }
    }), { numRuns: runs(400) });
  });

  test('well-formed RFC 7239 elements give their `for` node, ports and brackets stripped, rightmost last', () => {
    fc.assert(fc.property(
      fc.array(hop, { maxLength: 60 }), fc.array(otherParams, { minLength: 1, maxLength: 4 }), fc.array(forCase, { minLength: 1, maxLength: 3 }),
      (hops, params, cases) => {
        const got = parseForwarded(forwardedHeader(hops, params, cases));
        // An empty header is one empty (unknown) element.
        if (hops.length === 0) return assert.deepEqual(got, ['']);
        const read = hops.slice(-MAX_HOPS);
        assert.equal(got.length, read.length);
        read.forEach((h, i) => {
          if (h.ip !== undefined) assert.equal(normalizeIp(got[i]), h.ip, `hop ${i}: ${h.fwd} → ${got[i]}`);
          else assert.equal(normalizeIp(got[i]), undefined, `garbage hop ${i}: ${h.fwd} → ${got[i]}`);
        });
      },
    ), { numRuns: runs(300) });
  });
});

describe('ClientIpResolver', () => {
  const byProxies = new ClientIpResolver({ trustedProxies: TRUSTED, trustedProxyHops: 0 });
  const untrusting = new ClientIpResolver({ trustedProxies: [], trustedProxyHops: 0 });

  test('never returns anything but a normalised IP or "unknown", whatever the headers and the peer', () => {
    const resolvers = [byProxies, untrusting, ...[1, 2, 5, 32].map((n) => new ClientIpResolver({ trustedProxies: [], trustedProxyHops: n }))];
    fc.assert(fc.property(
      fc.nat(resolvers.length - 1), headerValue, headerValue, fc.option(fc.oneof(fc.ipV4(), fc.ipV6(), headerText(40)), { nil: undefined }),
      (r, xff, fwd, remote) => {
        const ip = resolvers[r]!.resolve(req({ 'x-forwarded-for': xff, forwarded: fwd }, remote));
        assert.equal(typeof ip, 'string');
        if (ip !== 'unknown') {
          assert.equal(normalizeIp(ip), ip, `'${ip}' is not normalised`);
          assert.ok(parseIp(ip), `'${ip}' is not an IP`);
        }
      },
    ), { numRuns: runs(500) });
  });

  test('X-Forwarded-For via trusted proxies: the rightmost untrusted of the last 32 hops, stopping at garbage', () => {
    fc.assert(fc.property(fc.array(hop, { maxLength: 70 }), peers, fc.array(ows, { minLength: 1, maxLength: 3 }), (hops, p, sep) => {
      const got = byProxies.resolve(req({ 'x-forwarded-for': xffHeader(hops, sep) }, p.remote));
      assert.equal(got, expectedClient(hops, p.peer, p.trusted, 0));
    }), { numRuns: runs(400) });
  });

  test('Forwarded wins over X-Forwarded-For and is walked the same way', () => {
    fc.assert(fc.property(
      fc.array(hop, { maxLength: 50 }), fc.array(hop, { maxLength: 10 }), peers, fc.array(otherParams, { minLength: 1, maxLength: 3 }), fc.array(forCase, { minLength: 1, maxLength: 3 }),
      (hops, decoy, p, params, cases) => {
        const got = byProxies.resolve(req({ forwarded: forwardedHeader(hops, params, cases), 'x-forwarded-for': xffHeader(decoy, [' ']) }, p.remote));
        assert.equal(got, expectedClient(hops, p.peer, p.trusted, 0));
      },
    ), { numRuns: runs(300) });
  });

  test('trustedProxyHops: the hop that many places from the right, or the last good one before garbage', () => {
    fc.assert(fc.property(fc.array(hop, { maxLength: 50 }), fc.integer({ min: 1, max: 32 }), peers, (hops, n, p) => {
      const resolver = new ClientIpResolver({ trustedProxies: [], trustedProxyHops: n });
      const got = resolver.resolve(req({ 'x-forwarded-for': xffHeader(hops, [' ']) }, p.remote));
      assert.equal(got, expectedClient(hops, p.peer, p.trusted, n));
    }), { numRuns: runs(300) });
  });

  test('without trusted proxies the headers are never believed: the socket peer is the client', () => {
    fc.assert(fc.property(fc.array(hop, { maxLength: 40 }), peers, (hops, p) => {
      assert.equal(untrusting.resolve(req({ 'x-forwarded-for': xffHeader(hops, [' ']), forwarded: forwardedHeader(hops, [[]], ['for']) }, p.remote)), p.peer);
    }), { numRuns: runs(200) });
  });

  test('thousands of hops past 4 KiB: the walk never reaches beyond the last 32', () => {
    fc.assert(fc.property(fc.integer({ min: 400, max: 3000 }), fc.integer({ min: 32, max: 60 }), untrustedV4, trustedV4, (spray, trustedTail, far, near) => {
      // spray × untrusted, then `far` (untrusted), then trustedTail × trusted: far is out of reach.
      const hops: Hop[] = [
        ...Array.from({ length: spray }, (_, i): Hop => ({ xff: `203.0.${(i >> 8) & 255}.${i & 255}`, fwd: '', ip: `203.0.${(i >> 8) & 255}.${i & 255}`, trusted: false })),
        { xff: far, fwd: '', ip: far, trusted: false },
        ...Array.from({ length: trustedTail }, (): Hop => ({ xff: near, fwd: '', ip: near, trusted: true })),
      ];
      const got = byProxies.resolve(req({ 'x-forwarded-for': xffHeader(hops, [' ']) }, '127.0.0.1'));
      assert.equal(got, near, 'all 32 hops read are trusted: the leftmost of them is the client, nothing further left');
    }), { numRuns: runs(40) });
  });
});
