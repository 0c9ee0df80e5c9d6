import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileMfaPattern, parseMfaRoutes, parseMfaUrl } from '../../dist/esm/config/keys/mfa.js';
import { matchPath, redirectLocation, sameOriginNext } from '../../dist/esm/defenses/mfa/paths.js';

const ORIGIN = 'https://app.example';

/** What a browser does with the Location, then what the MFA page does with `next` (one decode, then a redirect). */
function followNext(location: string): URL {
  const mfaPage = new URL(location, ORIGIN);
  const next = mfaPage.searchParams.get('next');
  assert.ok(next !== null, `no next in ${location}`);
  return new URL(next, ORIGIN);
}

describe('matchPath', () => {
  test('returns an ordinary path unchanged (the same string, no work)', () => {
    const p = '/admin/users';
    assert.equal(matchPath(p), p);
  });
  test('resolves what routers resolve: repeated slashes, dot segments, backslashes, escapes, absolute form', () => {
    assert.equal(matchPath('//admin'), '/admin');
    assert.equal(matchPath('/x/../admin/'), '/admin/');
    assert.equal(matchPath('/./admin/./users'), '/admin/users');
    assert.equal(matchPath('/%61dmin'), '/admin');
    assert.equal(matchPath('/%2e%2e/admin'), '/admin');
    assert.equal(matchPath('/x%2f..%2fadmin'), '/admin');
    assert.equal(matchPath('/\\admin'), '/admin');
    assert.equal(matchPath('/x/..%5cadmin'), '/admin');
    assert.equal(matchPath('http://evil.example/admin'), '/admin');
    assert.equal(matchPath('http://evil.example'), '/');
    assert.equal(matchPath('/../../admin'), '/admin');
  });
  test('edge case: non-ASCII escapes are left as they are', () => {
    assert.equal(matchPath('/caf%C3%A9'), '/caf%C3%A9');
  });
});

describe('route patterns', () => {
  test('a path without * protects itself and what is below it, on a segment boundary, ignoring case', () => {
    const re = compileMfaPattern('/admin');
    for (const p of ['/admin', '/admin/', '/admin/users', '/ADMIN/x']) assert.ok(re.test(p), p);
    for (const p of ['/administrator', '/adm', '/x/admin']) assert.ok(!re.test(p), p);
    assert.ok(compileMfaPattern('/admin/').test('/admin'), 'a trailing slash in the pattern changes nothing');
    assert.ok(compileMfaPattern('/').test('/anything/at/all'));
  });
  test('globs: * within a segment, ** across segments', () => {
    assert.ok(compileMfaPattern('/account/*').test('/account/42'));
    assert.ok(!compileMfaPattern('/account/*').test('/account/42/delete'));
    assert.ok(compileMfaPattern('/billing/**').test('/billing/a/b'));
    assert.ok(compileMfaPattern('/billing/**').test('/BILLING/a'));
  });
  test('routes parse from a string or a list; GET brings HEAD; no method means every method', () => {
    const routes = parseMfaRoutes('/admin, POST /billing/**, GET|PUT /account/*');
    assert.deepEqual(routes.map((r) => [r.name, r.methods]), [
      ['* /admin', []], ['POST /billing/**', ['POST']], ['GET|PUT /account/*', ['GET', 'PUT', 'HEAD']],
    ]);
    const list = parseMfaRoutes(['/a', { method: ['delete'], path: '/b' }]);
    assert.deepEqual(list.map((r) => [r.name, r.methods]), [['* /a', []], ['DELETE /b', ['DELETE']]]);
  });
  test('bad routes are refused with what is expected', () => {
    assert.throws(() => parseMfaRoutes('admin'), /must start with '\/'/);
    assert.throws(() => parseMfaRoutes('G3T /x'), /not an HTTP method/);
    assert.throws(() => parseMfaRoutes([{ path: '/x', limit: '1/s' }]), /unknown route field 'limit'/);
    assert.throws(() => parseMfaRoutes(42), /expected/);
  });
  test('the MFA URL is a same-origin path or an absolute http(s) URL, never protocol-relative', () => {
    assert.equal(parseMfaUrl('/mfa/verify'), '/mfa/verify');
    assert.equal(parseMfaUrl('https://idp.example/mfa'), 'https://idp.example/mfa');
    for (const bad of ['//evil.example/mfa', '/\\evil.example', 'javascript:alert(1)', 'mfa']) assert.throws(() => parseMfaUrl(bad), /expected a path/, bad);
  });
});

describe('sameOriginNext and the redirect', () => {
  test('keeps path and query of an ordinary request, URL-encoded in the Location', () => {
    const loc = redirectLocation('/mfa/verify', 'next', sameOriginNext('/admin/users?tab=keys&x=1'));
    assert.equal(loc, '/mfa/verify?next=%2Fadmin%2Fusers%3Ftab%3Dkeys%26x%3D1');
    assert.equal(followNext(loc).href, `${ORIGIN}/admin/users?tab=keys&x=1`);
  });
  test('never sends the browser to another origin, whatever the request target', () => {
    const targets = [
      '//evil.example', '//evil.example/admin', '///evil.example', '/\\evil.example', '/\\/evil.example', '\\\\evil.example',
      '/%2F%2Fevil.example', '/%2f/evil.example', '/%5Cevil.example', '/%252F%252Fevil.example',
      'http://evil.example/admin?x=1', 'https://evil.example', 'http://evil.example', '/\t/evil.example',
      'javascript:alert(1)', '/admin#//evil.example', '*',
    ];
    for (const target of targets) {
      const next = sameOriginNext(target);
      assert.match(next, /^\/(?![/\\])/, `${JSON.stringify(target)} gave ${next}`);
      assert.equal(followNext(redirectLocation('/mfa/verify', 'next', next)).origin, ORIGIN, JSON.stringify(target));
    }
    assert.equal(sameOriginNext('http://evil.example/admin?x=1'), '/admin?x=1');
    assert.equal(sameOriginNext('//evil.example/admin'), '/evil.example/admin');
  });
  test('edge case: an over-long target loses its query, then falls back to /', () => {
    assert.equal(sameOriginNext(`/admin?${'a'.repeat(5000)}`), '/admin');
    assert.equal(sameOriginNext(`/${'a'.repeat(5000)}`), '/');
  });
  test('adds next to an MFA URL that already has a query or a fragment', () => {
    assert.equal(redirectLocation('/mfa?flow=stepup', 'return_to', '/a?b=c'), '/mfa?flow=stepup&return_to=%2Fa%3Fb%3Dc');
    assert.equal(redirectLocation('https://idp.example/mfa#x', 'next', '/a'), 'https://idp.example/mfa?next=%2Fa#x');
  });
});
