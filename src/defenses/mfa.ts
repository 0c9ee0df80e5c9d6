import { diag } from '@opentelemetry/api';
import { wantsHtml } from '../guard/respond.js';
import type { Nis2Config } from '../config/load.js';
import { MFA_ASYMMETRIC_ALGS, MFA_HMAC_ALGS, type MfaPredicate, type MfaRoute } from '../config/keys/mfa.js';
import { ValueError } from '../config/parse-values.js';
import { Nis2Error } from '../errors.js';
import { readBearer, readCookie } from '../guard/cookies.js';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';
import {
  ATTR_NIS2_ACTION, ATTR_NIS2_MFA_ROUTE, ATTR_NIS2_MFA_SOURCE, ATTR_NIS2_REASON, ATTR_SECURITY_RULE_CATEGORY,
  ATTR_SECURITY_RULE_NAME, EVENT_DEFENSE_DEGRADED, EVENT_DEFENSE_RECOVERED, EVENT_MFA_REQUIRED,
} from '../semconv.js';
import { MfaTokenVerifier, type TokenReason } from './mfa/jwt.js';
import { matchPath, redirectLocation, sameOriginNext } from './mfa/paths.js';
import type { Defense, DefenseDeps, RequestContext, Verdict } from './types.js';

/** The `nis2.reason` values of `nis2.mfa.required`. */
export type MfaReason = TokenReason | 'missing' | 'untrusted_proxy_header' | 'predicate_error';

/** Where the evidence that failed came from (`nis2.mfa.source`). */
type Source = 'bearer' | 'cookie' | 'predicate' | 'proxy_header' | 'none';

const RULE = 'mfa_gate';
const CATEGORY = 'authentication';
/** Reasons that are part of a normal step-up (the user simply has not done MFA yet, or long ago). */
const INFO_REASONS: ReadonlySet<MfaReason> = new Set(['missing', 'insufficient_amr', 'too_old', 'expired']);
/** Reasons that say the gate itself could not decide properly. */
const ERROR_REASONS: ReadonlySet<MfaReason> = new Set(['key_unavailable', 'predicate_error']);
/** RFC 9470 error descriptions (its own examples): fixed text, nothing from the request. */
const DESC_LEVEL = 'A different authentication level is required';
const DESC_RECENT = 'More recent authentication is required';
const QUOTABLE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** The MFA gate's settings, resolved from the `mfa.*` keys and checked together. */
export interface MfaSettings {
  readonly mode: 'enforce' | 'monitor';
  readonly routes: readonly MfaRoute[];
  readonly url: string;
  readonly nextParam: string;
  readonly amr: readonly string[];
  readonly acr: readonly string[];
  readonly maxAgeMs: number | undefined;
  readonly jwt: {
    readonly jwks: string | undefined; readonly secret: string | undefined;
    readonly issuer: readonly string[]; readonly audience: readonly string[]; readonly algorithms: readonly string[];
    readonly cookie: string | undefined; readonly clockToleranceMs: number; readonly jwksCooldownMs: number;
  } | undefined;
  readonly proxyHeader: string | undefined;
  readonly proxyHeaderValues: readonly string[];
  readonly predicate: MfaPredicate | undefined;
}

function invalid(message: string): never {
  throw new Nis2Error('NIS2_ERR_CONFIG_INVALID', message);
}

/**
 * Reads the `mfa.*` keys. Returns undefined when the gate is off (no routes, or `mfa.mode=off`);
 * throws `NIS2_ERR_CONFIG_INVALID` for combinations that would protect nothing or could be forged.
 */
export function resolveMfaSettings(config: Nis2Config): MfaSettings | undefined {
  const v = <T>(key: string): T => config.values.get(key) as T;
  const routes = v<MfaRoute[] | undefined>('mfa.routes') ?? [];
  const explicitMode = v<'enforce' | 'monitor' | 'off' | undefined>('mfa.mode');
  if (explicitMode === 'off') return undefined;
  if (routes.length === 0) {
    if (explicitMode !== undefined) invalid(`mfa.mode (NIS2_MFA_MODE) is '${explicitMode}' but mfa.routes (NIS2_MFA_ROUTES) is empty: nothing would be protected; list the routes that need MFA`);
    return undefined;
  }
  const jwks = v<string | undefined>('mfa.jwt.jwks');
  const secret = v<string | undefined>('mfa.jwt.secret');
  const proxyHeader = v<string | undefined>('mfa.proxyHeader');
  const predicate = v<unknown>('mfa.predicate');
  if (predicate !== undefined && typeof predicate !== 'function') invalid('mfa.predicate must be a function (req) => boolean | Promise<boolean>, given in code');
  if (jwks === undefined && secret === undefined && proxyHeader === undefined && predicate === undefined) {
    invalid('mfa.routes (NIS2_MFA_ROUTES) is set but nothing can prove MFA: set mfa.jwt.jwks or mfa.jwt.secret (tokens), mfa.proxyHeader (an authenticating proxy) or mfa.predicate (in code)');
  }
  const amr = v<string[]>('mfa.amr');
  const acr = v<string[]>('mfa.acr');
  for (const a of acr) if (!QUOTABLE.test(a)) invalid(`mfa.acr (NIS2_MFA_ACR): '${a}' cannot be sent in a WWW-Authenticate challenge (no spaces, quotes or backslashes)`);
  let jwt: MfaSettings['jwt'];
  if (jwks !== undefined || secret !== undefined) {
    const issuer = v<string[] | undefined>('mfa.jwt.issuer');
    const audience = v<string[] | undefined>('mfa.jwt.audience');
    if (!issuer) invalid('mfa.jwt.issuer (NIS2_MFA_JWT_ISSUER) is required with mfa.jwt.jwks or mfa.jwt.secret: a token from any issuer would otherwise pass');
    if (!audience) invalid('mfa.jwt.audience (NIS2_MFA_JWT_AUDIENCE) is required with mfa.jwt.jwks or mfa.jwt.secret: a token minted for another service would otherwise pass');
    if (secret !== undefined && Buffer.byteLength(secret) < 32) invalid('mfa.jwt.secret (NIS2_MFA_JWT_SECRET) must be at least 32 bytes (RFC 7518 §3.2); the value is not shown');
    if (amr.length === 0 && acr.length === 0) invalid('mfa.amr and mfa.acr are both empty: no token could ever prove MFA; accept amr values (e.g. mfa, otp, hwk) or acr values');
    const algorithms = v<string[] | undefined>('mfa.jwt.algorithms')
      ?? [...(secret !== undefined ? ['HS256'] : []), ...(jwks !== undefined ? MFA_ASYMMETRIC_ALGS : [])];
    for (const alg of algorithms) {
      const hmac = MFA_HMAC_ALGS.includes(alg);
      if (hmac && secret === undefined) invalid(`mfa.jwt.algorithms lists ${alg} but mfa.jwt.secret is not set`);
      if (!hmac && jwks === undefined) invalid(`mfa.jwt.algorithms lists ${alg} but mfa.jwt.jwks is not set`);
    }
    jwt = {
      jwks, secret, issuer, audience, algorithms, cookie: v('mfa.jwt.cookie'),
      clockToleranceMs: v('mfa.jwt.clockTolerance'), jwksCooldownMs: v('mfa.jwt.jwksCooldown'),
    };
  }
  if (proxyHeader !== undefined && config.trustedProxies.length === 0) {
    invalid('mfa.proxyHeader (NIS2_MFA_PROXY_HEADER) needs trustedProxies (NIS2_TRUSTED_PROXIES, CIDRs): without them (or with trustedProxyHops alone) any client could send the header itself');
  }
  return {
    mode: explicitMode ?? config.mode,
    routes,
    url: v('mfa.url'),
    nextParam: v('mfa.nextParam'),
    amr, acr,
    maxAgeMs: v('mfa.maxAge'),
    jwt,
    proxyHeader,
    proxyHeaderValues: v<string[]>('mfa.proxyHeaderValues').map((s) => s.toLowerCase()),
    predicate: predicate as MfaPredicate | undefined,
  };
}


/** Path of a same-origin MFA URL, for exempting the MFA page itself from the gate (no redirect loop). */
function exemptPath(url: string): string | undefined {
  if (!url.startsWith('/')) return undefined;
  const end = url.search(/[?#]/);
  const p = matchPath(end >= 0 ? url.slice(0, end) : url).toLowerCase();
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/**
 * The MFA gate (DESIGN §2, §6): on protected routes a request passes only with evidence of MFA —
 * an authenticating proxy's header (from a trusted proxy only), the app's predicate, or a JWT
 * whose `amr`/`acr` (and `auth_time`) say so. Otherwise browsers get a 303 to the MFA page with a
 * same-origin `next`, APIs a 401 with an RFC 9470 `insufficient_user_authentication` challenge.
 *
 * Synchronous unless it has to wait: unprotected routes, a trusted proxy header, a synchronous
 * predicate and a request with no token are decided without a promise; only JWT verification (jose
 * is async) and an async predicate return one.
 */
export class MfaDefense implements Defense {
  readonly name = 'mfa';
  readonly #s: MfaSettings;
  readonly #verifier: MfaTokenVerifier | undefined;
  readonly #cookie: string | undefined;
  readonly #exempt: string | undefined;
  readonly #challengeLevel: string;
  readonly #challengeRecent: string;
  readonly #proxyValues: ReadonlySet<string>;
  readonly #deps: DefenseDeps;
  #degradedSince = 0;

  constructor(settings: MfaSettings, deps: DefenseDeps) {
    this.#s = settings;
    this.#deps = deps;
    const jwt = settings.jwt;
    try {
      this.#verifier = jwt && new MfaTokenVerifier({
        ...jwt, amr: settings.amr, acr: settings.acr, maxAgeMs: settings.maxAgeMs, now: deps.now,
        onKeysUnavailable: (down) => this.#keysUnavailable(down),
      });
    } catch (err) {
      if (err instanceof ValueError) invalid(`mfa.jwt.jwks (NIS2_MFA_JWKS): ${err.message}`);
      throw err;
    }
    this.#cookie = jwt?.cookie;
    this.#exempt = exemptPath(settings.url);
    this.#proxyValues = new Set(settings.proxyHeaderValues);
    const params = `${settings.acr.length ? `, acr_values="${settings.acr.join(' ')}"` : ''}${settings.maxAgeMs !== undefined ? `, max_age="${Math.floor(settings.maxAgeMs / 1000)}"` : ''}`;
    this.#challengeLevel = `Bearer error="insufficient_user_authentication", error_description="${DESC_LEVEL}"${params}`;
    this.#challengeRecent = `Bearer error="insufficient_user_authentication", error_description="${DESC_RECENT}"${params}`;
  }

  #route(ctx: RequestContext): MfaRoute | undefined {
    // ctx.path is already normalised by the guard; a second pass would decode `%252e` into `.`.
    return this.#routeFor(ctx.method, ctx.path) ?? (ctx.altPath === undefined ? undefined : this.#routeFor(ctx.method, ctx.altPath));
  }

  #routeFor(method: string, path: string): MfaRoute | undefined {
    if (this.#exempt !== undefined) {
      const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
      if (bare.length === this.#exempt.length && bare.toLowerCase() === this.#exempt) return undefined;
    }
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : undefined;
    for (const r of this.#s.routes) {
      if (r.methods.length === 0 ? method === 'OPTIONS' : !r.methods.includes(method)) continue;
      if (r.pattern.test(path) || (trimmed !== undefined && r.pattern.test(trimmed))) return r;
    }
    return undefined;
  }

  check(ctx: RequestContext): Verdict | undefined | Promise<Verdict | undefined> {
    const route = this.#route(ctx);
    if (route === undefined) return undefined;
    let untrustedHeader = false;
    const header = this.#s.proxyHeader;
    if (header !== undefined) {
      const value = ctx.req.headers[header];
      if (value !== undefined) {
        if (!ctx.viaTrustedProxy) untrustedHeader = true;
        else if (this.#proxySaysMfa(value)) return undefined;
      }
    }
    const predicate = this.#s.predicate;
    if (predicate !== undefined) {
      let answer: boolean | Promise<boolean>;
      try {
        answer = predicate(ctx.req);
      } catch (err) {
        diag.error('@nis2/otel: mfa.predicate threw; counted as no MFA', err);
        return this.#tokens(ctx, route, 'predicate_error');
      }
      if (answer === true) return undefined;
      if (answer !== null && typeof answer === 'object' && typeof (answer as Promise<boolean>).then === 'function') {
        return Promise.resolve(answer).then(
          (ok) => (ok === true ? undefined : this.#tokens(ctx, route, untrustedHeader ? 'untrusted_proxy_header' : 'missing')),
          (err: unknown) => {
            diag.error('@nis2/otel: mfa.predicate rejected; counted as no MFA', err);
            return this.#tokens(ctx, route, 'predicate_error');
          },
        );
      }
    }
    return this.#tokens(ctx, route, untrustedHeader ? 'untrusted_proxy_header' : 'missing');
  }

  #proxySaysMfa(value: string | string[]): boolean {
    for (const item of (Array.isArray(value) ? value.join(',') : value).split(/[\s,]+/)) {
      if (item !== '' && this.#proxyValues.has(item.toLowerCase())) return true;
    }
    return false;
  }

  /** Token evidence: none → decided now; otherwise the bearer token, then the cookie, verified. */
  #tokens(ctx: RequestContext, route: MfaRoute, fallback: MfaReason): Verdict | undefined | Promise<Verdict | undefined> {
    const verifier = this.#verifier;
    if (verifier === undefined) return this.#verdict(ctx, route, fallback, fallback === 'predicate_error' ? 'predicate' : fallback === 'untrusted_proxy_header' ? 'proxy_header' : 'none');
    const bearer = readBearer(ctx.req);
    const cookie = this.#cookie === undefined ? undefined : readCookie(ctx.req, this.#cookie);
    if (bearer === undefined && !cookie) return this.#verdict(ctx, route, fallback, fallback === 'predicate_error' ? 'predicate' : fallback === 'untrusted_proxy_header' ? 'proxy_header' : 'none');
    const first = bearer ?? cookie!;
    const firstSource: Source = bearer !== undefined ? 'bearer' : 'cookie';
    return verifier.verify(first).then((reason) => {
      if (reason === undefined) return undefined;
      if (bearer === undefined || !cookie || cookie === bearer) return this.#verdict(ctx, route, reason, firstSource);
      return verifier.verify(cookie).then((second) => (second === undefined ? undefined : this.#verdict(ctx, route, reason, firstSource)));
    });
  }

  #verdict(ctx: RequestContext, route: MfaRoute, reason: MfaReason, source: Source): Verdict {
    const action = this.#s.mode === 'enforce' ? 'block' : 'monitor';
    const attrs: Record<string, EnvelopeAttrValue> = {
      [ATTR_SECURITY_RULE_NAME]: RULE,
      [ATTR_SECURITY_RULE_CATEGORY]: CATEGORY,
      [ATTR_NIS2_ACTION]: action,
      [ATTR_NIS2_REASON]: reason,
      [ATTR_NIS2_MFA_ROUTE]: route.name,
      [ATTR_NIS2_MFA_SOURCE]: source,
    };
    const html = wantsHtml(ctx.req);
    let headers: Array<[string, string]> | undefined;
    if (action === 'block') {
      headers = html
        ? [['Location', redirectLocation(this.#s.url, this.#s.nextParam, sameOriginNext(ctx.req.url ?? '/'))]]
        : [['WWW-Authenticate', reason === 'too_old' ? this.#challengeRecent : this.#challengeLevel]];
    }
    return {
      action,
      rule: RULE,
      category: CATEGORY,
      status: html ? 303 : 401,
      reason,
      event: EVENT_MFA_REQUIRED,
      severity: INFO_REASONS.has(reason) ? 'INFO' : ERROR_REASONS.has(reason) ? 'ERROR' : 'WARN',
      aggregateKey: `mfa|${route.name}|${reason}|${ctx.ip}`,
      attrs,
      ...(headers ? { headers } : {}),
    };
  }

  /** One `nis2.defense.degraded` when the remote JWKS cannot be fetched, one `recovered` when it can again. */
  #keysUnavailable(down: boolean): void {
    const now = this.#deps.now();
    if (down) this.#degradedSince = now;
    this.#deps.emitter.emit(down
      ? { name: EVENT_DEFENSE_DEGRADED, severity: 'ERROR', attrs: { 'nis2.defense': 'mfa_jwks', [ATTR_SECURITY_RULE_NAME]: RULE, [ATTR_NIS2_REASON]: 'key_unavailable' } }
      : { name: EVENT_DEFENSE_RECOVERED, severity: 'INFO', attrs: { 'nis2.defense': 'mfa_jwks', [ATTR_SECURITY_RULE_NAME]: RULE, 'nis2.degraded_ms': now - this.#degradedSince } });
  }
}

/** Registry entry: the gate when `mfa.routes` is set and `mfa.mode` is not off. */
export function createMfaDefense(config: Nis2Config, deps: DefenseDeps): MfaDefense | undefined {
  const settings = resolveMfaSettings(config);
  return settings && new MfaDefense(settings, deps);
}
