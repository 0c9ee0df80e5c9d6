// A flood of malformed Authorization and Cookie values at the session guard and the MFA gate,
// 20 requests in flight at a time: no crash, no 5xx, the MFA-protected route always 401 without a
// valid token, everything else served as designed (a session id is bound on first sight, so the
// same odd value from the same browser passes) — and the session bindings stay bounded.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fc } from '../fuzz/fc.ts';
import { CHROME, FIREFOX, request, startHostile, type HostileServer } from './server.ts';

const SECRET = 'auth-flood-secret-of-at-least-32-bytes!!';
const MAX_SESSIONS = 64;
const FLOOD = 600;
const IN_FLIGHT = 20;

/** Header-safe text: what an HTTP client can send at all. */
const headerSafe = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength: 400 });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const forged = fc.record({ alg: fc.constantFrom('none', 'HS256', 'RS256', 'HS512'), amr: fc.constantFrom(['otp'], 'otp', null) }).map(({ alg, amr }) => {
  const input = `${b64({ alg, typ: 'JWT' })}.${b64({ iss: 'https://idp.test', aud: 'app.test', exp: 9_999_999_999, amr })}`;
  return `${input}.${alg === 'none' ? '' : createHmac('sha256', 'wrong-secret-of-at-least-thirty-two-bytes').update(input).digest('base64url')}`;
});
const authorization = fc.oneof(
  headerSafe,
  headerSafe.map((s) => `Bearer ${s}`),
  forged.map((t) => `Bearer ${t}`),
  fc.constantFrom('Bearer', 'Bearer ', 'bearer\t\tabc', 'Basic dXNlcjpwYXNz', `Bearer ${'A'.repeat(9000)}`, 'Bearer a.b.c', 'Bearer ..', 'Bearer e30.e30.', 'Bearer ====', 'Bearer /+/+', 'DPoP x', ''),
);
const cookie = fc.oneof(
  headerSafe,
  headerSafe.map((s) => `sid=${s}`),
  fc.constantFrom('sid=', 'sid', '=sid', 'sid=""', 'sid="', ';;;;', `sid=${'x'.repeat(8000)}`, Array.from({ length: 300 }, (_, i) => `c${i}=${i}`).join('; '), 'mfa=a.b.c; sid=x', 'sid=a;sid=b;sid=c'),
  forged.map((t) => `mfa=${t}`),
);
const flood = fc.record({ path: fc.constantFrom('/', '/public', '/admin', '/admin/users', '/ADMIN', '//admin'), authorization: fc.option(authorization, { nil: undefined }), cookie: fc.option(cookie, { nil: undefined }) });

describe('malformed Authorization and Cookie values at the session guard and the MFA gate', () => {
  let g: HostileServer;
  before(async () => {
    g = await startHostile({
      mode: 'enforce', rateLimit: { mode: 'off' },
      session: { mode: 'enforce', maxSessions: MAX_SESSIONS },
      mfa: { mode: 'enforce', routes: 'GET /admin', jwt: { secret: SECRET, issuer: 'https://idp.test', audience: 'app.test', cookie: 'mfa' } },
    });
  });
  after(() => g.close());

  test(`${FLOOD} requests, ${IN_FLIGHT} at a time: the gate always answers 401, the rest is served, nothing crashes`, async () => {
    const seed = process.env['FC_SEED'] ? Number(process.env['FC_SEED']) : 20261125;
    const requests = fc.sample(flood, { numRuns: FLOOD, seed });
    const handledBefore = g.handled();
    let served = 0;
    for (let i = 0; i < requests.length; i += IN_FLIGHT) {
      const batch = requests.slice(i, i + IN_FLIGHT);
      const replies = await Promise.all(batch.map((r) => {
        const headers: Record<string, string> = { 'user-agent': CHROME, accept: 'application/json' };
        if (r.authorization !== undefined) headers['authorization'] = r.authorization;
        if (r.cookie !== undefined) headers['cookie'] = r.cookie;
        return request(g.url, { path: r.path, headers });
      }));
      replies.forEach((res, k) => {
        const r = batch[k]!;
        if (/^\/+admin/i.test(r.path)) {
          assert.equal(res.status, 401, `${r.path} with ${JSON.stringify(r).slice(0, 200)}`);
          assert.match(String(res.headers['www-authenticate']), /^Bearer error="insufficient_user_authentication"/);
        } else {
          // One browser, one address: a session id bound on first sight matches on every later request.
          assert.equal(res.status, 200, `${r.path} with ${JSON.stringify(r).slice(0, 200)}: ${res.body.slice(0, 120)}`);
          served++;
        }
      });
    }
    assert.equal(g.handled() - handledBefore, served, 'the app ran exactly for the requests that were let through');
    const reasons = new Set((await g.events('nis2.mfa.required')).map((e) => e.attrs['nis2.reason']));
    for (const r of reasons) assert.ok(['missing', 'malformed', 'alg_not_allowed', 'invalid_signature', 'unknown_key', 'insufficient_amr'].includes(String(r)), `reason ${String(r)}`);
    assert.equal((await g.events('nis2.session.hijack_suspected')).length, 0);
    assert.equal((await request(g.url, { path: '/public' })).status, 200, 'the server still answers');
  });

  test('the session bindings are bounded: a flood of new session ids evicts the oldest binding instead of growing', async () => {
    const first = 'sid=bound-first';
    assert.equal((await request(g.url, { path: '/account', headers: { cookie: first, 'user-agent': CHROME } })).status, 200);
    assert.equal((await request(g.url, { path: '/account', headers: { cookie: first, 'user-agent': FIREFOX } })).status, 401, 'bound: another browser family is a hijack');
    for (let i = 0; i < MAX_SESSIONS; i += IN_FLIGHT) {
      await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, MAX_SESSIONS - i) }, (_, k) => request(g.url, { path: '/account', headers: { cookie: `sid=flood-${i + k}`, 'user-agent': CHROME } })));
    }
    // With at most MAX_SESSIONS bindings kept, the oldest is gone: the same id is new again.
    assert.equal((await request(g.url, { path: '/account', headers: { cookie: first, 'user-agent': FIREFOX } })).status, 200);
  });
});
