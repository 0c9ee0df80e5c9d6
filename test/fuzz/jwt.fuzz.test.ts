// Property-based fuzzing of the MFA gate's token checks: random strings, tokens with random
// headers and claims (signed with the right secret, a wrong one, or not at all) and mutations of
// valid tokens. The verifier never rejects; a token passes only when every condition holds (right
// algorithm and key, issuer, audience, unexpired, MFA amr/acr, recent auth_time); and through the
// guard over HTTP the app runs exactly for those requests.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { MfaTokenVerifier } from '../../dist/esm/defenses/mfa/jwt.js';
import { startGuarded, type Guarded } from '../helpers/in-process.ts';
import { fc, runs } from './fc.ts';

const SECRET = 'fuzz-secret-of-at-least-thirty-two-bytes!';
const ISS = 'https://idp.test';
const AUD = 'app.test';
const AMR = ['mfa', 'otp', 'hwk', 'swk'];
const ACR = ['urn:mfa'];
const MAX_AGE_S = 600;
const TOLERANCE_S = 30;
const REASONS = new Set(['malformed', 'alg_not_allowed', 'invalid_signature', 'unknown_key', 'key_unavailable', 'expired', 'not_yet_valid', 'wrong_issuer', 'wrong_audience', 'missing_claim', 'insufficient_amr', 'too_old']);
const GATE_REASONS = new Set([...REASONS, 'missing']);

type Claims = Record<string, unknown>;
type Header = Record<string, unknown>;

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function jws(header: Header | string, payload: Claims | string | unknown, key: string | undefined): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${key === undefined ? '' : createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** A time claim as an offset from "now", fixed when the token is minted. */
interface Rel { rel: number }
const rel = (min: number, max: number) => fc.integer({ min, max }).map((d): Rel => ({ rel: d }));

/** Claims: each one right, wrong in kind, or wrong in value; times relative to the minting time. */
const claims: fc.Arbitrary<Claims> = fc.record({
  iss: fc.oneof(fc.constant(ISS), fc.constantFrom('https://evil.test', '', 42, [ISS], null)),
  aud: fc.oneof(fc.constant(AUD), fc.constant([AUD, 'other']), fc.constantFrom('other', ['other'], 7, null, [])),
  exp: fc.oneof(rel(5, 3600), rel(-3600, -(TOLERANCE_S + 2)), fc.constantFrom('9999999999', null, 1e300, -1, true)),
  // Future nbf values keep a 10 s margin: time only moves on between minting and checking.
  nbf: fc.oneof(rel(-3600, 0), rel(TOLERANCE_S + 10, 3600), fc.constantFrom('0', null)),
  iat: fc.oneof(rel(-5, -5), fc.constantFrom('now', null), rel(100_000, 100_000)),
  amr: fc.oneof(fc.constant(['pwd', 'otp']), fc.subarray([...AMR, 'pwd', 'sms']), fc.constantFrom('otp', [1, 2], null, {})),
  acr: fc.oneof(fc.constant('urn:mfa'), fc.constantFrom('urn:pwd', 5, ['urn:mfa'], null)),
  auth_time: fc.oneof(rel(-(MAX_AGE_S - 1), 0), rel(-100_000, -(MAX_AGE_S + TOLERANCE_S + 2)), fc.constantFrom('now', null, NaN)),
  sub: fc.string({ maxLength: 10 }),
}, { requiredKeys: [] });

/** The claims as minted at `nowS`. */
function at(c: Claims, nowS: number): Claims {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, typeof v === 'object' && v !== null && 'rel' in v ? nowS + (v as Rel).rel : v]));
}

const header = fc.record({
  alg: fc.oneof({ weight: 5, arbitrary: fc.constant('HS256') }, { weight: 2, arbitrary: fc.constantFrom('HS512', 'HS384', 'none', 'None', 'RS256', 'ES256', 'EdDSA', 'hs256', '', 1) }),
  typ: fc.constantFrom('JWT', 'at+jwt', undefined),
  kid: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
  crit: fc.constantFrom(undefined, undefined, ['exp'], [], 'b64'),
  b64: fc.constantFrom(undefined, undefined, false),
}, { requiredKeys: ['alg'] });

const signWith = fc.oneof({ weight: 6, arbitrary: fc.constant(SECRET) }, { weight: 1, arbitrary: fc.constantFrom('another-secret-of-at-least-thirty-two-bytes', '', undefined) });

/** What any passing token must satisfy: jose's checks, the gate's amr/acr and auth_time, with 1 s of rounding slack. */
function mayPass(h: Header, c: Claims, key: string | undefined, nowS: number): boolean {
  // An unknown header parameter such as `b64` is ignored unless `crit` names it (RFC 7515 §4.1.11); any `crit` here is refused.
  if (h['alg'] !== 'HS256' || key !== SECRET || h['crit'] !== undefined) return false;
  if (c['iss'] !== ISS) return false;
  const aud = c['aud'];
  if (!(aud === AUD || (Array.isArray(aud) && aud.includes(AUD)))) return false;
  const exp = c['exp'];
  if (typeof exp !== 'number' || exp <= nowS - TOLERANCE_S - 1) return false;
  const nbf = c['nbf'];
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowS + TOLERANCE_S + 1)) return false;
  const amr = c['amr'];
  const amrOk = Array.isArray(amr) && amr.some((a) => typeof a === 'string' && AMR.includes(a));
  const acrOk = typeof c['acr'] === 'string' && ACR.includes(c['acr']);
  if (!amrOk && !acrOk) return false;
  const at = c['auth_time'];
  return typeof at === 'number' && Number.isFinite(at) && nowS - at <= MAX_AGE_S + TOLERANCE_S + 1;
}

/** A token that satisfies everything. */
function good(nowS: number, extra: Claims = {}): { h: Header; c: Claims } {
  return { h: { alg: 'HS256', typ: 'JWT' }, c: { iss: ISS, aud: AUD, exp: nowS + 300, iat: nowS - 5, amr: ['pwd', 'otp'], auth_time: nowS - 30, sub: 'user-1', ...extra } };
}

const NOW_MS = Date.parse('2026-11-25T10:00:00.000Z');
const NOW_S = NOW_MS / 1000;
const verifier = new MfaTokenVerifier({
  jwks: undefined, secret: SECRET, issuer: [ISS], audience: [AUD], algorithms: ['HS256'], amr: AMR, acr: ACR,
  maxAgeMs: MAX_AGE_S * 1000, clockToleranceMs: TOLERANCE_S * 1000, jwksCooldownMs: 30_000, now: () => NOW_MS,
});

type TokenMutation =
  | { kind: 'flip'; at: number; char: string }
  | { kind: 'drop'; at: number }
  | { kind: 'segments'; order: readonly number[] }
  | { kind: 'affix'; prefix: string; suffix: string };

/** Mutations of a valid token's text. */
const tokenMutation: fc.Arbitrary<TokenMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(2000), char: fc.constantFrom('A', 'a', '0', '-', '_', '.', '=', '+', '/', ' ') }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat(2000) }),
  fc.record({ kind: fc.constant('segments' as const), order: fc.constantFrom([1, 0, 2], [0, 2, 1], [0, 1], [0, 1, 2, 2], [2, 1, 0], [0, 0, 2]) }),
  fc.record({ kind: fc.constant('affix' as const), prefix: fc.constantFrom('', ' ', '.', 'Bearer '), suffix: fc.constantFrom('', '.', '..', '=', ' x') }),
);

function mutateToken(token: string, m: TokenMutation): string {
  switch (m.kind) {
    case 'flip': { const i = m.at % token.length; return token.slice(0, i) + m.char + token.slice(i + 1); }
    case 'drop': { const i = m.at % token.length; return token.slice(0, i) + token.slice(i + 1); }
    case 'segments': { const parts = token.split('.'); return m.order.map((i) => parts[i] ?? '').join('.'); }
    case 'affix': return `${m.prefix}${token}${m.suffix}`;
  }
}

/** Same header, payload and signature bytes once decoded (base64url leaves slack in the last character). */
function sameContent(a: string, b: string): boolean {
  const pa = a.split('.');
  const pb = b.split('.');
  return pa.length === 3 && pb.length === 3 && pa.every((s, i) => Buffer.from(s, 'base64url').equals(Buffer.from(pb[i]!, 'base64url')));
}

describe('MfaTokenVerifier', () => {
  test('never rejects: any string resolves to a known reason', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: fc.constantFrom('.', 'e', 'y', 'J', 'A', '0', '-', '_', '='), maxLength: 120 }), fc.base64String({ maxLength: 200 })), async (s) => {
      const reason = await verifier.verify(s);
      assert.ok(reason !== undefined && REASONS.has(reason), `${JSON.stringify(s)} → ${reason}`);
    }), { numRuns: runs(300) });
  });

  test('a token with random header and claims passes only when every condition holds', async () => {
    await fc.assert(fc.asyncProperty(header, claims.map((c) => at(c, NOW_S)), signWith, async (h, c, key) => {
      const reason = await verifier.verify(jws(h, c, key));
      assert.ok(reason === undefined || REASONS.has(reason), String(reason));
      if (reason === undefined) assert.ok(mayPass(h, c, key, NOW_S), `passed: ${JSON.stringify({ h, c, key })}`);
    }), { numRuns: runs(400) });
  });

  test('a token meeting every condition passes, whatever extra claims it carries', async () => {
    const extra = fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => !['iss', 'aud', 'exp', 'nbf', 'iat', 'amr', 'acr', 'auth_time', 'sub', '__proto__'].includes(k)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
    await fc.assert(fc.asyncProperty(extra, async (x) => {
      const { h, c } = good(NOW_S, x);
      assert.equal(await verifier.verify(jws(h, c, SECRET)), undefined);
    }), { numRuns: runs(150) });
  });

  test('payloads that are not JSON objects, and non-JSON segments, are malformed, never a pass', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 40 })), fc.oneof(fc.constant({ alg: 'HS256' } as Header), fc.string({ maxLength: 20 })), async (payload, h) => {
      fc.pre(typeof payload !== 'object' || payload === null || Array.isArray(payload) || typeof h === 'string');
      const reason = await verifier.verify(jws(h, payload, SECRET));
      assert.ok(reason !== undefined && REASONS.has(reason), String(reason));
    }), { numRuns: runs(200) });
  });

  test('a mutated valid token passes only if it still decodes to the very same bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.array(tokenMutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
      const { h, c } = good(NOW_S);
      const original = jws(h, c, SECRET);
      let token = original;
      for (const m of mutations) token = mutateToken(token, m);
      const reason = await verifier.verify(token);
      if (reason === undefined) assert.ok(sameContent(token, original), `a changed token passed: ${token}`);
      else assert.ok(REASONS.has(reason));
    }), { numRuns: runs(400) });
  });
});

describe('MFA gate over HTTP, tokens and Authorization/Cookie values from the fuzzer', () => {
  let g: Guarded;
  let agent: http.Agent;
  before(async () => {
    g = await startGuarded({
      mode: 'monitor', rateLimit: { mode: 'off' }, session: { mode: 'off' },
      mfa: { mode: 'enforce', routes: 'GET /admin', maxAge: MAX_AGE_S, acr: ACR, jwt: { secret: SECRET, issuer: ISS, audience: AUD, cookie: 'mfa', clockTolerance: TOLERANCE_S } },
    });
    agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  });
  after(async () => { agent.destroy(); await g.close(); });

  function get(headers: Record<string, string>): Promise<{ status: number; challenge: string | undefined }> {
    const url = new URL(g.url);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: '/admin', headers: { accept: 'application/json', ...headers }, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] }));
      });
      req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  /** Header-safe text (what an HTTP client can send at all). */
  const headerSafe = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength: 300 });

  test('the app runs exactly for requests whose bearer token or cookie meets every condition', async () => {
    const carrier = fc.constantFrom('bearer', 'cookie', 'bad-bearer+cookie');
    await fc.assert(fc.asyncProperty(header, claims, carrier, signWith, fc.boolean(), async (h, spec, how, key, allGood) => {
      const nowS = Math.floor(Date.now() / 1000);
      const c = allGood ? good(nowS).c : at(spec, nowS);
      const token = jws(allGood ? { alg: 'HS256' } : h, c, allGood ? SECRET : key);
      const ok = allGood || mayPass(h, c, key, nowS);
      const headers: Record<string, string> = how === 'bearer' ? { authorization: `Bearer ${token}` }
        : how === 'cookie' ? { cookie: `theme=dark; mfa=${token}` }
        : { authorization: 'Bearer not.a.token', cookie: `mfa=${token}` };
      const before = g.handled();
      const res = await get(headers);
      assert.ok(res.status === 200 || res.status === 401, `status ${res.status}`);
      assert.equal(g.handled() - before, res.status === 200 ? 1 : 0, 'the app runs exactly when the gate lets the request through');
      if (res.status === 200) assert.ok(ok, `passed without meeting the conditions: ${JSON.stringify({ h, c, key })}`);
      if (allGood) assert.equal(res.status, 200, 'a good token was refused');
      if (res.status === 401) assert.match(res.challenge ?? '', /^Bearer error="insufficient_user_authentication"/);
    }), { numRuns: runs(120) });
    for (const e of await g.events('nis2.mfa.required')) assert.ok(GATE_REASONS.has(String(e.attrs['nis2.reason'])), String(e.attrs['nis2.reason']));
  });

  test('a flood of malformed Authorization and Cookie values: always the 401 challenge, never the app', async () => {
    const value = fc.oneof(headerSafe, headerSafe.map((s) => `Bearer ${s}`), fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `Bearer ${'A'.repeat(9000)}`, 'Bearer a.b.c', 'Bearer ..', 'Bearer e30.e30.', 'bearer\t\tx'));
    await fc.assert(fc.asyncProperty(value, headerSafe, async (auth, cookie) => {
      const before = g.handled();
      const res = await get({ authorization: auth, cookie: `mfa=${cookie}; ${cookie}` });
      assert.equal(res.status, 401);
      assert.equal(g.handled(), before);
    }), { numRuns: runs(150) });
  });
});
