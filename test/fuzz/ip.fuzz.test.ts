// Property-based fuzzing of address handling: normalizeIp is the gate every header hop and socket
// address passes through before it becomes a limiter key, a session binding or a list lookup, so
// its output must always be a parseable, already-normalised address; IPv6 text must round-trip in
// its RFC 5952 form (checked against the WHATWG URL serialiser, an independent implementation).
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, test } from 'node:test';
import { cidrContains, formatIp, normalizeIp, parseCidr, parseIp } from '../../dist/esm/net/ip.js';
import { fc, runs } from './fc.ts';

const IP_CHAR = fc.constantFrom(...'0123456789abcdefABCDEF:.[]%/ xX-_'.split(''));
const ipish = fc.string({ unit: IP_CHAR, maxLength: 48 });
const port = fc.integer({ min: 0, max: 99999 });
const zone = fc.stringMatching(/^[a-z0-9]{1,8}$/);

/** Addresses as proxies, sockets and attackers write them. */
const decoratedV4 = fc.tuple(fc.ipV4(), fc.nat(5), port).map(([ip, form, p]) =>
  [ip, `[${ip}]`, `${ip}:${p}`, `::ffff:${ip}`, `::FFFF:${ip}`, `[::ffff:${ip}]`][form]!);
/** An IPv6 address and the same address in random case, bracketed or with a zone id. */
const decoratedV6 = fc.tuple(fc.ipV6(), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.nat(3), zone).map(([ip, flips, form, z]) => {
  const cased = [...ip].map((c, i) => (flips[i % 8] ? c.toUpperCase() : c)).join('');
  return { ip, decorated: [cased, `[${cased}]`, `${cased}%${z}`, `[${cased}%25${z}]`][form]! };
});
const anyAddress = fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.ipV6(), decoratedV4, decoratedV6.map((d) => d.decorated), ipish, fc.string({ maxLength: 20 }));

/** RFC 5952 text of an IPv6 address, by the WHATWG URL parser (not our code). */
function whatwg(v6: string): string {
  return new URL(`http://[${v6}]/`).hostname.slice(1, -1);
}

function bits(bytes: Uint8Array, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  return out;
}

describe('normalizeIp', () => {
  test('returns undefined or an address that parses, is already normalised, and has no brackets, zone or capitals', () => {
    fc.assert(fc.property(anyAddress, (raw) => {
      const n = normalizeIp(raw);
      if (n === undefined) return;
      assert.equal(normalizeIp(n), n, `normalizeIp is not idempotent on ${JSON.stringify(raw)}`);
      const ip = parseIp(n);
      assert.ok(ip, `${JSON.stringify(n)} (from ${JSON.stringify(raw)}) does not parse`);
      assert.equal(ip.family, n.includes(':') ? 6 : 4);
      assert.equal(ip.bytes.length, ip.family === 4 ? 4 : 16);
      assert.ok(!/[[\]%A-Z]/.test(n), JSON.stringify(n));
    }), { numRuns: runs(1000) });
  });

  test('IPv4, bracketed, with a port or IPv4-mapped, is the dotted quad itself', () => {
    fc.assert(fc.property(fc.ipV4(), decoratedV4, (ip, decorated) => {
      assert.equal(normalizeIp(ip), ip);
      assert.equal(formatIp(parseIp(ip)!), ip);
      const bare = decorated.replace(/^\[|\]$/g, '').replace(/^::ffff:/i, '').replace(/:\d+$/, '');
      assert.equal(normalizeIp(decorated), bare, decorated);
    }), { numRuns: runs(300) });
  });

  test('non-decimal IPv4 spellings (octal, hex, short forms) are refused or left exactly as a dotted quad', () => {
    fc.assert(fc.property(fc.ipV4Extended(), (raw) => {
      const n = normalizeIp(raw);
      if (n !== undefined) {
        assert.equal(n, raw);
        assert.match(n, /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/);
      }
    }), { numRuns: runs(300) });
  });

  test('IPv6 keeps its address: same 128 bits (or the mapped IPv4), whatever the case, brackets or zone', () => {
    fc.assert(fc.property(decoratedV6, ({ ip, decorated }) => {
      const want = parseIp(ip)!.bytes;
      for (const raw of [ip, decorated]) {
        const n = normalizeIp(raw);
        assert.ok(n !== undefined, `${raw} refused`);
        const got = parseIp(n)!;
        const bytes = got.family === 6 ? got.bytes : Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...got.bytes]);
        assert.deepEqual(bytes, want, `${raw} → ${n}`);
      }
    }), { numRuns: runs(400) });
  });

  test('canonical IPv6 (RFC 5952) is a fixed point of normalizeIp and round-trips through parseIp/formatIp', () => {
    fc.assert(fc.property(fc.ipV6(), (ip) => {
      const canonical = formatIp(parseIp(ip)!);
      assert.equal(canonical, whatwg(ip), `formatIp(${ip})`);
      assert.equal(normalizeIp(canonical), canonical);
      assert.equal(formatIp(parseIp(canonical)!), canonical);
    }), { numRuns: runs(500) });
  });
});

describe('parseIp', () => {
  test('never throws; defined exactly for what node:net calls an IP (zone ids aside)', () => {
    fc.assert(fc.property(anyAddress, (raw) => {
      const ip = parseIp(raw);
      if (!raw.includes('%')) assert.equal(ip !== undefined, isIP(raw) !== 0, raw);
      if (ip) assert.equal(ip.bytes.length, ip.family === 4 ? 4 : 16);
    }), { numRuns: runs(800) });
  });
});

describe('parseCidr', () => {
  test('returns undefined or a block whose text parses back to itself, with the host bits zero', () => {
    const cidrish = fc.oneof(
      ipish,
      fc.tuple(anyAddress, fc.oneof(fc.integer({ min: -1, max: 140 }).map(String), fc.stringMatching(/^[0-9 x]{0,5}$/))).map(([a, p]) => `${a}/${p}`),
    );
    fc.assert(fc.property(cidrish, (text) => {
      const c = parseCidr(text);
      if (!c) return;
      const max = c.family === 4 ? 32 : 128;
      assert.ok(Number.isInteger(c.prefix) && c.prefix >= 0 && c.prefix <= max, `${text}: prefix ${c.prefix}`);
      assert.deepEqual(parseCidr(c.text), c, `${text} → ${c.text}`);
      assert.ok(!bits(c.bytes, max).slice(c.prefix).includes('1'), `${c.text} has host bits set`);
    }), { numRuns: runs(800) });
  });

  test('a block contains exactly the addresses that share its first prefix bits', () => {
    const address = fc.oneof(fc.ipV4(), fc.ipV6());
    fc.assert(fc.property(address, address, fc.nat(128), (base, other, p) => {
      const family = base.includes(':') ? 6 : 4;
      const prefix = family === 4 ? p % 33 : p;
      const c = parseCidr(`${base}/${prefix}`);
      assert.ok(c, `${base}/${prefix}`);
      const b = parseIp(normalizeIp(base)!)!;
      if (b.family !== c.family) return; // an IPv4-mapped base normalises to IPv4
      assert.ok(cidrContains(c, b), `${c.text} does not contain its own base ${base}`);
      const o = parseIp(normalizeIp(other)!)!;
      const want = o.family === c.family && bits(o.bytes, c.prefix) === bits(c.bytes, c.prefix);
      assert.equal(cidrContains(c, o), want, `${c.text} ∋ ${other}`);
    }), { numRuns: runs(600) });
  });
});
