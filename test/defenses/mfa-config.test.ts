import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadConfig, type Nis2Options } from '../../dist/esm/index.js';
import { createMfaDefense, resolveMfaSettings } from '../../dist/esm/defenses/mfa.js';
import type { DefenseDeps, RequestContext } from '../../dist/esm/defenses/types.js';

const dir = mkdtempSync(join(tmpdir(), 'nis2-mfa-config-'));
const base = { signing: { keyDir: dir }, export: { otlp: 'off' as const, eventsFile: join(dir, 'e.jsonl') } };
const config = (options: Nis2Options, env: NodeJS.ProcessEnv = {}) => loadConfig({ options: { ...base, ...options }, env });
const deps = { emitter: { emit() {} }, now: Date.now, redis: undefined } as unknown as DefenseDeps;
const JWT = { jwks: 'https://idp.test/jwks.json', issuer: 'https://idp.test', audience: 'app' };

function ctx(path: string, headers: Record<string, string> = {}, method = 'GET'): RequestContext {
  const req = { url: path, method, headers, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
  return { req, res: undefined, ip: '127.0.0.1', peer: '127.0.0.1', viaTrustedProxy: false, method, path, span: undefined, headers: undefined, bypass: false };
}

describe('MFA gate configuration', () => {
  test('is off unless routes are configured', () => {
    assert.equal(resolveMfaSettings(config({})), undefined);
    assert.equal(resolveMfaSettings(config({ mfa: { jwt: JWT } })), undefined);
    assert.equal(resolveMfaSettings(config({ mfa: { routes: '/admin', mode: 'off', jwt: JWT } })), undefined);
    assert.equal(resolveMfaSettings(config({ mfa: { routes: '/admin', jwt: JWT } }))?.mode, 'enforce');
    assert.equal(resolveMfaSettings(config({ mfa: { routes: '/admin', jwt: JWT } }, { NIS2_MODE: 'monitor' }))?.mode, 'monitor');
  });

  test('reads every key from the environment', () => {
    const s = resolveMfaSettings(config({}, {
      NIS2_MFA_ROUTES: 'POST /billing/**, /admin', NIS2_MFA_MODE: 'monitor', NIS2_MFA_URL: 'https://idp.test/stepup',
      NIS2_MFA_NEXT_PARAM: 'return_to', NIS2_MFA_AMR: 'hwk,otp', NIS2_MFA_ACR: 'urn:a, urn:b', NIS2_MFA_MAX_AGE: '10m',
      NIS2_MFA_JWKS: 'https://idp.test/jwks', NIS2_MFA_JWT_ISSUER: 'https://idp.test', NIS2_MFA_JWT_AUDIENCE: 'app,api',
      NIS2_MFA_JWT_ALGORITHMS: 'ES256', NIS2_MFA_JWT_COOKIE: 'mfa', NIS2_MFA_JWT_CLOCK_TOLERANCE: '5s', NIS2_MFA_JWKS_COOLDOWN: '1m',
    }))!;
    assert.equal(s.mode, 'monitor');
    assert.deepEqual(s.routes.map((r) => r.name), ['POST /billing/**', '* /admin']);
    assert.equal(s.url, 'https://idp.test/stepup');
    assert.equal(s.nextParam, 'return_to');
    assert.deepEqual([s.amr, s.acr, s.maxAgeMs], [['hwk', 'otp'], ['urn:a', 'urn:b'], 600_000]);
    assert.deepEqual(s.jwt, {
      jwks: 'https://idp.test/jwks', secret: undefined, issuer: ['https://idp.test'], audience: ['app', 'api'], algorithms: ['ES256'],
      cookie: 'mfa', clockToleranceMs: 5000, jwksCooldownMs: 60_000,
    });
  });

  const refused: Array<[string, Nis2Options, RegExp]> = [
    ['a mode without routes', { mfa: { mode: 'enforce', jwt: JWT } }, /mfa\.routes \(NIS2_MFA_ROUTES\) is empty/],
    ['routes with nothing that proves MFA', { mfa: { routes: '/admin' } }, /nothing can prove MFA/],
    ['a JWKS without issuer', { mfa: { routes: '/admin', jwt: { jwks: JWT.jwks, audience: 'app' } } }, /mfa\.jwt\.issuer .* is required/],
    ['a JWKS without audience', { mfa: { routes: '/admin', jwt: { jwks: JWT.jwks, issuer: 'x' } } }, /mfa\.jwt\.audience .* is required/],
    ['a short secret', { mfa: { routes: '/admin', jwt: { secret: 'short', issuer: 'x', audience: 'y' } } }, /at least 32 bytes/],
    ['an HMAC algorithm without a secret', { mfa: { routes: '/admin', jwt: { ...JWT, algorithms: 'HS256' } } }, /lists HS256 but mfa\.jwt\.secret is not set/],
    ['an asymmetric algorithm without a JWKS', { mfa: { routes: '/admin', jwt: { secret: 's'.repeat(32), issuer: 'x', audience: 'y', algorithms: 'RS256' } } }, /lists RS256 but mfa\.jwt\.jwks is not set/],
    ['no amr and no acr', { mfa: { routes: '/admin', amr: '', jwt: JWT } }, /no token could ever prove MFA/],
    ['a proxy header without trusted proxies', { mfa: { routes: '/admin', proxyHeader: 'x-mfa' } }, /needs trustedProxies/],
    ['a proxy header with trustedProxyHops only', { mfa: { routes: '/admin', proxyHeader: 'x-mfa' }, trustedProxyHops: 1 }, /needs trustedProxies/],
    ['a predicate that is not a function', { mfa: { routes: '/admin', predicate: 'yes' as never } }, /must be a function/],
    ['an acr that cannot be quoted', { mfa: { routes: '/admin', acr: 'a"b', jwt: JWT } }, /cannot be sent in a WWW-Authenticate challenge/],
  ];
  for (const [what, options, message] of refused) {
    test(`refuses ${what} at start, naming the key`, () => {
      assert.throws(() => resolveMfaSettings(config(options)), (err: Error & { code?: string }) => err.code === 'NIS2_ERR_CONFIG_INVALID' && message.test(err.message));
    });
  }

  test('never echoes the secret', () => {
    try {
      resolveMfaSettings(config({ mfa: { routes: '/admin', jwt: { secret: 'hunter2-secret', issuer: 'x', audience: 'y' } } }));
      assert.fail('should throw');
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /hunter2/);
    }
  });

  test('refuses bad values with what is expected', () => {
    assert.throws(() => config({}, { NIS2_MFA_JWT_ALGORITHMS: 'none' }), /NIS2_MFA_JWT_ALGORITHMS.*'none' is never accepted/);
    assert.throws(() => config({}, { NIS2_MFA_URL: '//evil.example' }), /NIS2_MFA_URL/);
    assert.throws(() => config({}, { NIS2_MFA_PROXY_HEADER: 'bad header' }), /header name/);
    assert.throws(() => config({}, { NIS2_MFA_ROUTES: 'admin' }), /must start with '\/'/);
  });

  test('reads a JWKS file at start and refuses one that is not a key set', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' }] }));
    const gate = createMfaDefense(config({ mfa: { routes: '/admin', jwt: { jwks: file, issuer: 'iss', audience: 'aud' } } }), deps)!;
    const t = await new SignJWT({ amr: ['mfa'] }).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setIssuer('iss').setAudience('aud').setExpirationTime('5m').sign(privateKey);
    assert.equal(await gate.check(ctx('/admin', { authorization: `Bearer ${t}` })), undefined);
    writeFileSync(join(dir, 'bad.json'), '{"not":"a jwks"}');
    assert.throws(() => createMfaDefense(config({ mfa: { routes: '/admin', jwt: { jwks: join(dir, 'bad.json'), issuer: 'i', audience: 'a' } } }), deps), /NIS2_ERR_CONFIG_INVALID.*not a JWKS/);
    assert.throws(() => createMfaDefense(config({ mfa: { routes: '/admin', jwt: { jwks: join(dir, 'none.json'), issuer: 'i', audience: 'a' } } }), deps), /cannot read the JWKS file.*ENOENT/);
  });
});

describe('MFA gate decides synchronously when it can', () => {
  const gate = createMfaDefense(config({ mfa: { routes: '/admin', jwt: JWT, predicate: (req) => req.headers['x-ok'] === '1' } }), deps)!;

  test('an unprotected route costs no promise', () => {
    assert.equal(gate.check(ctx('/public')), undefined);
  });
  test('a missing token is decided at once', () => {
    const v = gate.check(ctx('/admin', { accept: 'application/json' }));
    assert.ok(v !== undefined && !('then' in v), 'a verdict, not a promise');
    assert.equal(v.reason, 'missing');
    assert.equal(v.status, 401);
  });
  test('a synchronous predicate is answered at once', () => {
    assert.equal(gate.check(ctx('/admin', { 'x-ok': '1' })), undefined);
  });
  test('only a token makes the check async (jose verifies asynchronously)', async () => {
    const v = gate.check(ctx('/admin', { authorization: 'Bearer a.b.c' }));
    assert.ok(v !== undefined && 'then' in v);
    assert.equal((await v)?.reason, 'malformed');
  });
});
