// Property-based fuzzing of matchPath, the path every route policy (rate limit, login lockout,
// MFA gate) is matched against: whatever the request target, it is one clean absolute path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchPath } from '../../dist/esm/net/path.js';
import { fc, runs } from './fc.ts';

/** Segments that make guards and routers disagree, plus ordinary ones. */
const SEGMENT = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('', '.', '..', '%2e', '%2E%2e', '.%2e', '%2f', '%2F..', '%5c', '\\', '%252e', '%25', '%', '%zz', '%C3%A9', 'é', ';x=1', '%00', '%3F', '?', '#') },
  { weight: 2, arbitrary: fc.constantFrom('admin', 'ADMIN', '%61dmin', 'login', 'api', 'x') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~%-]{0,6}$/) },
);
const SEP = fc.constantFrom('/', '/', '/', '\\', '//', '%2f');
const PREFIX = fc.constantFrom('', '', '/', '//', 'http://evil.example', 'https://h:8080', '*', 'x');
const target = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(PREFIX, fc.array(fc.tuple(SEP, SEGMENT), { maxLength: 12 })).map(([p, parts]) => p + parts.map(([s, seg]) => s + seg).join('')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('/', '\\', '.', '%', '2', 'e', 'f', '5', 'c', 'a'), maxLength: 40 }) },
);
/** An ASCII %XX escape: what a second decoding pass would still turn into a character. */
const ASCII_ESCAPE = /%[0-7][0-9A-Fa-f]/;

describe('matchPath', () => {
  test('always one absolute path: no empty, `.` or `..` segment, no backslash', () => {
    fc.assert(fc.property(target, (raw) => {
      // An empty path (a target of only `?query`) never gets here: Node answers 400 before any listener.
      fc.pre(raw !== '');
      const p = matchPath(raw);
      assert.equal(typeof p, 'string');
      assert.ok(p.startsWith('/'), `${JSON.stringify(raw)} → ${JSON.stringify(p)}`);
      for (const bad of ['//', '/./', '/../', '\\']) assert.ok(!p.includes(bad), `${JSON.stringify(raw)} → ${JSON.stringify(p)} holds ${bad}`);
      assert.ok(!p.endsWith('/.') && !p.endsWith('/..'), `${JSON.stringify(raw)} → ${JSON.stringify(p)}`);
    }), { numRuns: runs(2000) });
  });

  test('idempotent: a normalised path normalises to itself (escapes are decoded once, so a still-encoded %XX is the one exception)', () => {
    fc.assert(fc.property(target, (raw) => {
      const p = matchPath(raw);
      fc.pre(!ASCII_ESCAPE.test(p));
      assert.equal(matchPath(p), p, `${JSON.stringify(raw)} → ${JSON.stringify(p)} → ${JSON.stringify(matchPath(p))}`);
    }), { numRuns: runs(2000) });
  });

  test('an ordinary path comes back as the very same string', () => {
    const ordinary = fc.array(fc.stringMatching(/^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,10}$/), { minLength: 1, maxLength: 8 }).map((s) => `/${s.join('/')}`);
    fc.assert(fc.property(ordinary, (p) => {
      assert.equal(matchPath(p), p);
    }), { numRuns: runs(500) });
  });

  test('percent-encoding any ASCII letters or digits does not change what the path matches', () => {
    const path = fc.array(fc.stringMatching(/^[A-Za-z0-9]{1,8}$/), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(path, fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), (segments, flips) => {
      const plain = `/${segments.join('/')}`;
      let i = 0;
      const encoded = plain.replace(/[A-Za-z0-9]/g, (c) => (flips[i++ % 64] ? `%${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c));
      assert.equal(matchPath(encoded), plain, encoded);
    }), { numRuns: runs(500) });
  });

  test('the path of an absolute-form target is the path a router would see', () => {
    const host = fc.constantFrom('http://evil.example', 'https://app.example:8443', 'http://[::1]:80');
    const path = fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { maxLength: 5 }).map((s) => `/${s.join('/')}`);
    fc.assert(fc.property(host, path, (h, p) => {
      assert.equal(matchPath(`${h}${p}`), p);
    }), { numRuns: runs(200) });
  });
});
