// Property-based fuzzing of the cookie and bearer readers the session guard and the MFA gate use:
// bounded work, never a value that spans two cookies, and exactly the RFC 6265 / RFC 6750 reading
// for well-formed headers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readBearer, readCookie } from '../../dist/esm/guard/cookies.js';
import type { AnyRequest } from '../../dist/esm/defenses/types.js';
import { fc, runs } from './fc.ts';

const MAX_HEADER = 8192;
const MAX_PAIRS = 64;

function req(headers: Record<string, unknown>): AnyRequest {
  return { headers } as unknown as AnyRequest;
}

const COOKIE_CHAR = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(';', '=', ' ', '"', ',', '\t', 's', 'i', 'd') },
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const cookieText = (maxLength: number) => fc.string({ unit: COOKIE_CHAR, maxLength });
const anyCookieHeader = fc.oneof(
  fc.constant(undefined),
  cookieText(400),
  fc.array(cookieText(100), { maxLength: 4 }),
  fc.tuple(cookieText(30), fc.integer({ min: 1, max: 2000 })).map(([s, n]) => s.repeat(n)),
);
const NAMES = fc.constantFrom('sid', 'session', 'connect.sid', '__Host-sid', 'mfa', 'a', 'S');

/** RFC 6265 cookie-name (a token) and cookie-value (cookie-octets, optionally quoted). */
const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const octets = fc.stringMatching(/^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{0,40}$/);
const pair = fc.tuple(fc.oneof(token, NAMES), octets, fc.boolean(), fc.constantFrom('; ', ';', ';  ')).map(([name, value, quoted, sep]) => ({ name, value, text: `${name}=${quoted ? `"${value}"` : value}`, sep }));

describe('readCookie', () => {
  test('never throws, and never returns a value holding `;` or longer than the 8 KiB read', () => {
    fc.assert(fc.property(anyCookieHeader, NAMES, (header, name) => {
      const v = readCookie(req({ cookie: header }), name);
      if (v === undefined) return;
      assert.equal(typeof v, 'string');
      assert.ok(!v.includes(';'), JSON.stringify(v));
      assert.ok(v.length <= MAX_HEADER);
    }), { numRuns: runs(1000) });
  });

  test('a well-formed header: the first pair of that name among the first 64, its quotes removed', () => {
    fc.assert(fc.property(fc.array(pair, { maxLength: 100 }), NAMES, (pairs, name) => {
      const header = pairs.map((p, i) => (i === 0 ? '' : pairs[i - 1]!.sep) + p.text).join('');
      fc.pre(header.length <= MAX_HEADER);
      const first = pairs.slice(0, MAX_PAIRS).find((p) => p.name === name);
      assert.equal(readCookie(req({ cookie: header }), name), first?.value, header);
    }), { numRuns: runs(500) });
  });

  test('a cookie placed past the 64th pair or past 8 KiB is not read (the parse is bounded)', () => {
    fc.assert(fc.property(fc.integer({ min: MAX_PAIRS, max: 1500 }), octets, (filler, value) => {
      const before = Array.from({ length: filler }, (_, i) => `f${i}=x`).join('; ');
      assert.equal(readCookie(req({ cookie: `${before}; sid=${value}` }), 'sid'), undefined);
      assert.equal(readCookie(req({ cookie: `sid=${value}; ${before}` }), 'sid'), value);
    }), { numRuns: runs(100) });
  });

  test('repeated Cookie header lines read as one `; `-joined header', () => {
    fc.assert(fc.property(fc.array(cookieText(60), { maxLength: 4 }), NAMES, (lines, name) => {
      assert.equal(readCookie(req({ cookie: lines }), name), readCookie(req({ cookie: lines.join('; ') }), name));
    }), { numRuns: runs(300) });
  });
});

describe('readBearer', () => {
  const token68 = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,200}=*$/);
  const scheme = fc.mixedCase(fc.constant('bearer'));
  const spaces = fc.stringMatching(/^ {1,4}$/);

  test('never throws; returns undefined or an RFC 6750 token68', () => {
    const anyAuth = fc.oneof(fc.constant(undefined), cookieText(300), fc.array(cookieText(50), { maxLength: 3 }), fc.tuple(scheme, spaces, cookieText(200)).map(([s, sp, t]) => `${s}${sp}${t}`));
    fc.assert(fc.property(anyAuth, (auth) => {
      const t = readBearer(req({ authorization: auth }));
      if (t !== undefined) assert.match(t, /^[A-Za-z0-9\-._~+/]+=*$/);
    }), { numRuns: runs(1000) });
  });

  test('`Bearer <token68>`, any case and spacing, gives the token; any other scheme gives nothing', () => {
    const other = fc.constantFrom('Basic', 'Digest', 'Token', 'Bearer:', 'Bearerx', 'DPoP', '');
    fc.assert(fc.property(scheme, spaces, token68, fc.constantFrom('', ' ', '\t', '  '), other, (s, sp, t, tail, o) => {
      assert.equal(readBearer(req({ authorization: `${s}${sp}${t}${tail}` })), t);
      assert.equal(readBearer(req({ authorization: `${o}${sp}${t}` })), undefined);
    }), { numRuns: runs(500) });
  });

  test('headers over 8 KiB are not read at all', () => {
    fc.assert(fc.property(fc.integer({ min: MAX_HEADER - 6, max: 20_000 }), (n) => {
      assert.equal(readBearer(req({ authorization: `Bearer ${'a'.repeat(n)}` })), undefined);
    }), { numRuns: runs(50) });
  });
});
