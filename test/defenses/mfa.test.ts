// The MFA gate with real servers on 127.0.0.1: a JWKS served locally (with key rotation), tokens
// minted with jose, the guard in this process, signed events read back from memory.
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { startGuarded, type Guarded } from '../helpers/in-process.ts';
import type { Nis2Options } from '../../dist/esm/index.js';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'app.test';
const NOW_S = () => Math.floor(Date.now() / 1000);

interface Key { kid: string; privateKey: CryptoKey; jwk: JWK }
async function makeKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function token(key: Key, claims: JWTPayload = {}, opts: { kid?: string; exp?: number | null; iss?: string; aud?: string } = {}): Promise<string> {
  const jwt = new SignJWT({ amr: ['pwd', 'otp'], auth_time: NOW_S() - 10, sub: 'user-1', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? key.kid })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt();
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? NOW_S() + 300);
  return jwt.sign(key.privateKey);
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }
/** One request; `localAddress` picks the client's loopback address (127.0.0.2 is not a trusted proxy). */
function send(base: string, path: string, headers: Record<string, string> = {}, method = 'GET', localAddress?: string): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method, headers, agent: false, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`request ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const API = { accept: 'application/json' };
const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

// The JWKS server starts before any guard exists, so its own listener is never guarded.
let jwks: JWK[] = [];
let jwksHits = 0;
let jwksStatus = 200;
const jwksServer = http.createServer((_req, res) => {
  jwksHits++;
  res.statusCode = jwksStatus;
  res.setHeader('content-type', 'application/jwk-set+json');
  res.end(JSON.stringify({ keys: jwks }));
});
await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
const JWKS_URL = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
after(() => new Promise<void>((r) => jwksServer.close(() => r())));

const keyA = await makeKey('key-a');
const keyB = await makeKey('key-b');
const attacker = await makeKey('key-a'); // same kid as the real key: a forgery

/** Global mode monitor (other defenses never block here), rate limit off, MFA gate enforcing. */
function options(mfa: NonNullable<Nis2Options['mfa']>, extra: Nis2Options = {}): Nis2Options {
  return { mode: 'monitor', rateLimit: { mode: 'off' }, ...extra, mfa: { mode: 'enforce', ...mfa } };
}

async function reasons(g: Guarded): Promise<Array<Record<string, unknown>>> {
  return (await g.events('nis2.mfa.required')).map((e) => e.attrs);
}

describe('MFA gate, tokens verified against a JWKS URL (enforce)', () => {
  let g: Guarded;
  before(async () => {
    jwks = [keyA.jwk];
    g = await startGuarded(options({
      routes: '/admin, POST /billing/**, GET /account/*',
      jwt: { jwks: JWKS_URL, issuer: ISSUER, audience: AUDIENCE, cookie: 'mfa_token' },
      maxAge: '15m',
      acr: 'urn:example:mfa',
    }));
  });
  after(() => g.close());

  test('does not gate routes that are not listed', async () => {
    const before = g.handled();
    assert.equal((await send(g.url, '/public', API)).status, 200);
    assert.equal((await send(g.url, '/administrator', API)).status, 200, 'a prefix matches on a segment boundary only');
    assert.equal((await send(g.url, '/billing/x', API)).status, 200, 'GET is not listed for /billing/**');
    assert.equal(g.handled() - before, 3);
  });

  test('a legitimate user with a valid MFA token is not blocked (bearer and cookie)', async () => {
    const t = await token(keyA);
    const before = g.handled();
    assert.equal((await send(g.url, '/admin/users', { ...API, ...bearer(t) })).status, 200);
    assert.equal((await send(g.url, '/account/42', { ...API, cookie: `theme=dark; mfa_token=${t}` })).status, 200);
    assert.equal((await send(g.url, '/billing/pay', { ...API, ...bearer(t) }, 'POST')).status, 200);
    assert.equal((await send(g.url, '/admin', { ...API, ...bearer(await token(keyA, { amr: ['pwd'], acr: 'urn:example:mfa' })) })).status, 200, 'an accepted acr is enough');
    assert.equal(g.handled() - before, 4);
  });

  test('a request without a token gets the RFC 9470 challenge, and the app does not run', async () => {
    const before = g.handled();
    const r = await send(g.url, '/admin/users', API);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'],
      'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:mfa", max_age="900"');
    const body = JSON.parse(r.body) as Record<string, string>;
    assert.equal(body['error'], 'unauthorized');
    assert.equal(body['reason'], 'missing');
    assert.match(body['requestId']!, /^[0-9a-f-]{32,36}$/);
    assert.equal(g.handled(), before);
    const ev = (await reasons(g)).find((a) => a['nis2.reason'] === 'missing');
    assert.ok(ev, 'nis2.mfa.required with nis2.reason=missing');
    assert.equal(ev['nis2.action'], 'block');
    assert.equal(ev['security_rule.name'], 'mfa_gate');
    assert.equal(ev['nis2.mfa.route'], '* /admin');
    assert.equal(ev['nis2.mfa.source'], 'none');
    assert.equal(ev['http.response.status_code'], 401);
  });

  test('rejects each kind of bad token with its own reason, and logs it', async () => {
    const now = NOW_S();
    const cases: Array<[string, string | Promise<string>]> = [
      ['invalid_signature', token(attacker, { amr: ['mfa'] })],
      ['expired', token(keyA, {}, { exp: now - 3600 })],
      ['wrong_audience', token(keyA, {}, { aud: 'other-app' })],
      ['wrong_issuer', token(keyA, {}, { iss: 'https://evil.example' })],
      ['alg_not_allowed', `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: ISSUER, aud: AUDIENCE, amr: ['mfa'], exp: now + 300, auth_time: now })}.`],
      ['alg_not_allowed', new SignJWT({ amr: ['mfa'] }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(32)))],
      ['insufficient_amr', token(keyA, { amr: ['pwd'] })],
      ['too_old', token(keyA, { auth_time: now - 3600 })],
      ['too_old', token(keyA, { auth_time: undefined })],
      ['unknown_key', token(keyA, {}, { kid: 'no-such-key' })],
      ['missing_claim', token(keyA, {}, { exp: null })],
      ['malformed', 'not.a.jwt'],
      ['malformed', `${Buffer.from('not json').toString('base64url')}.${b64url({ amr: ['mfa'] })}.c2ln`],
    ];
    const before = g.handled();
    for (const [reason, t] of cases) {
      const r = await send(g.url, '/admin', { ...API, ...bearer(await t) });
      assert.equal(r.status, 401, reason);
      assert.equal((JSON.parse(r.body) as { reason: string }).reason, reason);
      const challenge = r.headers['www-authenticate'] ?? '';
      assert.match(challenge, /^Bearer error="insufficient_user_authentication", /);
      if (reason === 'too_old') assert.match(challenge, /error_description="More recent authentication is required"/);
    }
    assert.equal(g.handled(), before, 'no bad token reached the app');
    const logged = new Set((await reasons(g)).map((a) => a['nis2.reason']));
    for (const [reason] of cases) assert.ok(logged.has(reason), `nis2.mfa.required with nis2.reason=${reason}`);
    const forged = (await reasons(g)).find((a) => a['nis2.reason'] === 'invalid_signature')!;
    assert.equal(forged['nis2.mfa.source'], 'bearer');
  });

  test('a bad bearer token does not hide a good MFA cookie', async () => {
    const r = await send(g.url, '/admin', { ...API, ...bearer('opaque.access.token'), cookie: `mfa_token=${await token(keyA)}` });
    assert.equal(r.status, 200);
  });

  test('browsers get a 303 to the MFA page with the encoded return path, and no JSON', async () => {
    const r = await send(g.url, '/admin/users?tab=keys&q=a b'.replace(' ', '%20'), BROWSER);
    assert.equal(r.status, 303);
    assert.equal(r.headers['location'], '/mfa/verify?next=%2Fadmin%2Fusers%3Ftab%3Dkeys%26q%3Da%2520b');
    assert.match(r.headers['content-type'] ?? '', /^text\/html/);
    assert.doesNotMatch(r.body, /"error"/);
    assert.equal(r.headers['www-authenticate'], undefined);
  });

  test('a WebSocket handshake without MFA gets the 401 challenge', async () => {
    // A server of its own with an 'upgrade' listener, so the guard answers on the raw socket.
    let upgraded = 0;
    const ws = http.createServer();
    ws.on('upgrade', (_req, socket) => { upgraded++; socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n'); });
    await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
    const port = (ws.address() as AddressInfo).port;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(
        'GET /admin/ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'));
      let data = '';
      socket.setEncoding('utf8');
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
      socket.on('data', (d: string) => { data += d; if (data.includes('\r\n\r\n')) { socket.destroy(); resolve(data); } });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 401 /);
    assert.match(answer, /\r\nWWW-Authenticate: Bearer error="insufficient_user_authentication", /);
    assert.equal(upgraded, 0);
    await new Promise<void>((r) => ws.close(() => r()));
  });

  test('path tricks do not get around the gate', async () => {
    const before = g.handled();
    for (const path of ['/ADMIN', '//admin', '/%61dmin', '/x/../admin', '/admin/', '/./admin', 'http://evil.example/admin', '/admin;x=1/../admin']) {
      assert.equal((await send(g.url, path, API)).status, 401, path);
    }
    assert.equal((await send(g.url, '/admin', API, 'HEAD')).status, 401, 'HEAD on a route without methods');
    assert.equal((await send(g.url, '/account/1', API, 'HEAD')).status, 401, 'HEAD runs GET handlers, so GET routes cover it');
    assert.equal(g.handled(), before);
    assert.equal((await send(g.url, '/admin', { ...API, origin: 'https://app.test', 'access-control-request-method': 'DELETE' }, 'OPTIONS')).status, 200, 'CORS preflights carry no credentials and pass');
  });
});

describe('MFA gate, key rotation on the JWKS URL', () => {
  let g: Guarded;
  before(async () => {
    jwks = [keyA.jwk];
    jwksHits = 0;
    g = await startGuarded(options({ routes: '/admin', jwt: { jwks: JWKS_URL, issuer: ISSUER, audience: AUDIENCE, jwksCooldown: '300ms' } }));
  });
  after(() => g.close());

  test('a new kid is fetched after the cooldown; a retired kid stops passing', async () => {
    assert.equal((await send(g.url, '/admin', { ...API, ...bearer(await token(keyA)) })).status, 200);
    assert.equal(jwksHits, 1, 'the key set is fetched once and cached');
    assert.equal((await send(g.url, '/admin', { ...API, ...bearer(await token(keyA)) })).status, 200);
    assert.equal(jwksHits, 1);
    // The identity provider rotates: key B signs, key A is retired.
    jwks = [keyB.jwk];
    const withB = await token(keyB);
    const early = await send(g.url, '/admin', { ...API, ...bearer(withB) });
    assert.equal(early.status, 401, 'within the cooldown an unknown kid does not cause a fetch');
    assert.equal((JSON.parse(early.body) as { reason: string }).reason, 'unknown_key');
    assert.equal(jwksHits, 1);
    await new Promise((r) => setTimeout(r, 350));
    assert.equal((await send(g.url, '/admin', { ...API, ...bearer(withB) })).status, 200, 'after the cooldown the new key is fetched by kid');
    assert.equal(jwksHits, 2);
    const retired = await send(g.url, '/admin', { ...API, ...bearer(await token(keyA)) });
    assert.equal(retired.status, 401);
    assert.equal((JSON.parse(retired.body) as { reason: string }).reason, 'unknown_key');
  });
});

describe('MFA gate, JWKS unreachable', () => {
  test('fails closed with key_unavailable when nothing listens', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/jwks.json`;
    await new Promise<void>((r) => dead.close(() => r()));
    const g = await startGuarded(options({ routes: '/admin', jwt: { jwks: deadUrl, issuer: ISSUER, audience: AUDIENCE } }));
    try {
      const r = await send(g.url, '/admin', { ...API, ...bearer(await token(keyA)) });
      assert.equal(r.status, 401);
      assert.equal((JSON.parse(r.body) as { reason: string }).reason, 'key_unavailable');
      assert.ok((await reasons(g)).some((a) => a['nis2.reason'] === 'key_unavailable'));
    } finally {
      await g.close();
    }
  });

  test('reports the outage once and the recovery once; valid tokens pass again after it', async () => {
    jwks = [keyA.jwk];
    jwksStatus = 503;
    const g = await startGuarded(options({ routes: '/admin', jwt: { jwks: JWKS_URL, issuer: ISSUER, audience: AUDIENCE } }));
    try {
      const t = await token(keyA);
      for (let i = 0; i < 3; i++) {
        const r = await send(g.url, '/admin', { ...API, ...bearer(t) });
        assert.equal((JSON.parse(r.body) as { reason: string }).reason, 'key_unavailable');
      }
      jwksStatus = 200;
      assert.equal((await send(g.url, '/admin', { ...API, ...bearer(t) })).status, 200);
      assert.equal((await send(g.url, '/admin', { ...API, ...bearer(t) })).status, 200);
      const degraded = (await g.events('nis2.defense.degraded')).filter((e) => e.attrs['nis2.defense'] === 'mfa_jwks');
      const recovered = (await g.events('nis2.defense.recovered')).filter((e) => e.attrs['nis2.defense'] === 'mfa_jwks');
      assert.equal(degraded.length, 1);
      assert.equal(recovered.length, 1);
      assert.equal(typeof recovered[0]!.attrs['nis2.degraded_ms'], 'number');
    } finally {
      jwksStatus = 200;
      await g.close();
    }
  });
});

describe('MFA gate, shared secret (HS256)', () => {
  const secret = 'a-shared-secret-of-at-least-32-bytes!';
  let g: Guarded;
  before(async () => { g = await startGuarded(options({ routes: '/admin', jwt: { secret, issuer: ISSUER, audience: AUDIENCE } })); });
  after(() => g.close());

  const hs = (key: string, alg = 'HS256'): Promise<string> => new SignJWT({ amr: ['hwk'] }).setProtectedHeader({ alg }).setIssuer(ISSUER)
    .setAudience(AUDIENCE).setExpirationTime('5m').sign(new TextEncoder().encode(key));

  test('passes a token signed with the secret, rejects one signed with another', async () => {
    assert.equal((await send(g.url, '/admin', { ...API, ...bearer(await hs(secret)) })).status, 200);
    const forged = await send(g.url, '/admin', { ...API, ...bearer(await hs('another-secret-of-at-least-32-bytes!!')) });
    assert.equal(forged.status, 401);
    assert.equal((JSON.parse(forged.body) as { reason: string }).reason, 'invalid_signature');
  });
  test('accepts only the configured algorithm (HS256), not asymmetric ones nor HS512', async () => {
    const r1 = await send(g.url, '/admin', { ...API, ...bearer(await hs(secret, 'HS512')) });
    assert.equal((JSON.parse(r1.body) as { reason: string }).reason, 'alg_not_allowed');
    const r2 = await send(g.url, '/admin', { ...API, ...bearer(await token(keyA)) });
    assert.equal((JSON.parse(r2.body) as { reason: string }).reason, 'alg_not_allowed');
  });
});

describe('MFA gate, header of an authenticating proxy', () => {
  let g: Guarded;
  before(async () => {
    g = await startGuarded(options({ routes: '/admin', proxyHeader: 'X-Auth-MFA', proxyHeaderValues: 'true, otp' }, { trustedProxies: ['127.0.0.1/32'] }));
  });
  after(() => g.close());

  test('is honoured from a trusted proxy', async () => {
    assert.equal((await send(g.url, '/admin', { ...API, 'x-auth-mfa': 'true' }, 'GET', '127.0.0.1')).status, 200);
    assert.equal((await send(g.url, '/admin', { ...API, 'x-auth-mfa': 'pwd otp' }, 'GET', '127.0.0.1')).status, 200);
    assert.equal((await send(g.url, '/admin', { ...API, 'x-auth-mfa': 'false' }, 'GET', '127.0.0.1')).status, 401);
  });
  test('is ignored from an untrusted peer, and the attempt is logged', async () => {
    const before = g.handled();
    const r = await send(g.url, '/admin', { ...API, 'x-auth-mfa': 'true' }, 'GET', '127.0.0.2');
    assert.equal(r.status, 401);
    assert.equal((JSON.parse(r.body) as { reason: string }).reason, 'untrusted_proxy_header');
    assert.equal(g.handled(), before);
    const ev = (await reasons(g)).find((a) => a['nis2.reason'] === 'untrusted_proxy_header');
    assert.ok(ev);
    assert.equal(ev['nis2.mfa.source'], 'proxy_header');
  });
});

describe('MFA gate, predicate given in code', () => {
  const verified = new Set(['sync-yes', 'async-yes']);
  let g: Guarded;
  before(async () => {
    g = await startGuarded(options({
      routes: '/admin',
      predicate: (req) => {
        const who = req.headers['x-test-user'];
        if (who === 'throws') throw new Error('session store down');
        if (who === 'rejects') return Promise.reject(new Error('session store down'));
        if (typeof who === 'string' && who.startsWith('async-')) return new Promise((r) => setTimeout(() => r(verified.has(who)), 5));
        return verified.has(String(who));
      },
    }));
  });
  after(() => g.close());

  test('passes when the predicate says so, synchronously or not', async () => {
    assert.equal((await send(g.url, '/admin', { ...API, 'x-test-user': 'sync-yes' })).status, 200);
    assert.equal((await send(g.url, '/admin', { ...API, 'x-test-user': 'async-yes' })).status, 200);
  });
  test('blocks when it says no, and counts a throw or a rejection as no', async () => {
    for (const [who, reason] of [['sync-no', 'missing'], ['async-no', 'missing'], ['throws', 'predicate_error'], ['rejects', 'predicate_error']] as const) {
      const r = await send(g.url, '/admin', { ...API, 'x-test-user': who });
      assert.equal(r.status, 401, who);
      assert.equal((JSON.parse(r.body) as { reason: string }).reason, reason, who);
    }
  });
});

describe('MFA gate, monitor mode', () => {
  test('lets the request through and logs what it would have done', async () => {
    const g = await startGuarded(options({ mode: 'monitor', routes: '/admin', jwt: { jwks: JWKS_URL, issuer: ISSUER, audience: AUDIENCE } }));
    try {
      jwks = [keyA.jwk];
      const before = g.handled();
      assert.equal((await send(g.url, '/admin', API)).status, 200);
      assert.equal((await send(g.url, '/admin', { ...API, ...bearer(await token(attacker)) })).status, 200);
      assert.equal((await send(g.url, '/admin', BROWSER)).status, 200);
      assert.equal(g.handled() - before, 3);
      const evs = await reasons(g);
      assert.ok(evs.some((a) => a['nis2.reason'] === 'missing' && a['nis2.action'] === 'monitor'));
      assert.ok(evs.some((a) => a['nis2.reason'] === 'invalid_signature' && a['nis2.action'] === 'monitor'));
      assert.ok(evs.every((a) => a['http.response.status_code'] === undefined), 'nothing was written by the guard');
    } finally {
      await g.close();
    }
  });
  test('follows the global mode when mfa.mode is not set', async () => {
    const g = await startGuarded({ mode: 'monitor', rateLimit: { mode: 'off' }, mfa: { routes: '/admin', proxyHeader: 'x-mfa' }, trustedProxies: ['10.0.0.0/8'] });
    try {
      assert.equal((await send(g.url, '/admin', API)).status, 200);
      assert.ok((await reasons(g)).some((a) => a['nis2.action'] === 'monitor'));
    } finally {
      await g.close();
    }
  });
});

describe('MFA gate, redirects on a catch-all route', () => {
  let g: Guarded;
  before(async () => { g = await startGuarded(options({ routes: '/**', url: '/mfa/verify', proxyHeader: 'x-mfa' }, { trustedProxies: ['10.0.0.0/8'] })); });
  after(() => g.close());

  test('the MFA page itself is never gated (no redirect loop)', async () => {
    assert.equal((await send(g.url, '/mfa/verify?next=%2Fa', BROWSER)).status, 200);
    assert.equal((await send(g.url, '/MFA/verify/', BROWSER)).status, 200);
  });
  test('next is the same-origin path even for hostile request targets', async () => {
    const origin = new URL(g.url).origin;
    const expected: Record<string, string> = {
      '//evil.example': '/evil.example',
      '//evil.example/x?y=1': '/evil.example/x?y=1',
      '/\\evil.example': '/evil.example',
      '/%2F%2Fevil.example': '/evil.example',
      'http://evil.example/admin?x=1': '/admin?x=1',
      'https://evil.example': '/',
    };
    for (const [target, next] of Object.entries(expected)) {
      const r = await send(g.url, target, BROWSER);
      assert.equal(r.status, 303, target);
      const location = r.headers['location']!;
      assert.equal(location, `/mfa/verify?next=${encodeURIComponent(next)}`, target);
      const page = new URL(location, origin);
      assert.equal(page.origin, origin);
      assert.equal(new URL(page.searchParams.get('next')!, origin).origin, origin, target);
    }
  });
});
