import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { ValueError, parseDuration, parseEnum, parseString, parseStringList } from '../parse-values.js';
import { compilePathPattern } from '../routes.js';
import type { KeySpec } from '../schema.js';

/** A route the MFA gate protects, as resolved from `mfa.routes`. */
export interface MfaRoute {
  /** `METHOD path` as written, reported as `nis2.mfa.route`. */
  readonly name: string;
  /** Upper-case methods (`GET` brings `HEAD`, which frameworks route to GET handlers); empty = every method but OPTIONS. */
  readonly methods: readonly string[];
  /** Case-insensitive; matched against the normalised path (see `src/defenses/mfa/paths.ts`). */
  readonly pattern: RegExp;
}

/** The programmatic evidence of MFA: true when the app knows this request's user passed MFA. */
export type MfaPredicate = (req: IncomingMessage | Http2ServerRequest) => boolean | Promise<boolean>;

const METHOD = /^[A-Z]+$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Asymmetric JWS algorithms jose verifies; `none` is never among them. */
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];

/**
 * A path without `*` protects itself and everything below it on a segment boundary (`/admin`
 * covers `/admin`, `/admin/`, `/admin/users`, not `/administrator`); with `*`/`**` it is a glob
 * (`*` within a segment, `**` across). Matching ignores case: over-protecting `/ADMIN` is harmless,
 * missing it on a case-insensitive router (Express's default) is not.
 */
export function compileMfaPattern(path: string): RegExp {
  if (path.includes('*')) return new RegExp(compilePathPattern(path).source, 'i');
  if (!path.startsWith('/')) throw new ValueError(`route path '${path}' must start with '/'`);
  const base = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (base === '/') return /^\/.*$/;
  return new RegExp(`^${base.replace(/[.+?^${}()|[\]\\]/g, '\\$&')}(?:/.*)?$`, 'i');
}

function route(methodPart: string | string[] | undefined, path: unknown): MfaRoute {
  if (typeof path !== 'string') throw new ValueError('each route needs a `path` string');
  const listed = (Array.isArray(methodPart) ? methodPart : methodPart ? methodPart.split('|') : []).map((m) => m.trim().toUpperCase());
  for (const m of listed) if (!METHOD.test(m) && m !== '*') throw new ValueError(`'${m}' is not an HTTP method`);
  const methods = listed.filter((m) => m !== '*');
  if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
  return { name: `${listed.length ? listed.join('|') : '*'} ${path}`, methods, pattern: compileMfaPattern(path) };
}

/** Parses `'/admin, POST /billing/**, GET|POST /account/*'` or a list of strings or `{method, path}`. */
export function parseMfaRoutes(value: unknown): MfaRoute[] {
  const entries: unknown[] = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean)
    : Array.isArray(value) ? value : [undefined];
  return entries.map((e) => {
    if (typeof e === 'string') {
      const parts = e.trim().split(/\s+/);
      if (parts.length > 2) throw new ValueError(`route '${e}' must be 'PATH' or 'METHOD PATH'`);
      return parts.length === 1 ? route(undefined, parts[0]) : route(parts[0], parts[1]);
    }
    if (typeof e === 'object' && e !== null && !Array.isArray(e)) {
      const o = e as Record<string, unknown>;
      for (const k of Object.keys(o)) if (k !== 'method' && k !== 'path') throw new ValueError(`unknown route field '${k}' (allowed: method, path)`);
      const m = o['method'];
      if (m !== undefined && typeof m !== 'string' && !(Array.isArray(m) && m.every((x) => typeof x === 'string'))) {
        throw new ValueError('route `method` must be a string or a list of strings');
      }
      return route(m as string | string[] | undefined, o['path']);
    }
    throw new ValueError("expected 'METHOD /path, /prefix, /glob/**' or a list of {method, path}");
  });
}

/** The MFA page: a same-origin path (`/mfa/verify`) or an absolute http(s) URL of an identity provider. */
export function parseMfaUrl(value: unknown): string {
  const s = parseString(value).trim();
  if (s.startsWith('/') && !s.startsWith('//') && !s.startsWith('/\\')) return s;
  let url: URL | undefined;
  try { url = new URL(s); } catch { url = undefined; }
  if (url && (url.protocol === 'https:' || url.protocol === 'http:')) return url.href;
  throw new ValueError("expected a path such as '/mfa/verify' or an absolute https:// URL");
}

function parseHeaderName(value: unknown): string {
  const s = parseString(value).trim();
  if (!HEADER_NAME.test(s)) throw new ValueError('expected an HTTP header name such as X-Auth-MFA');
  return s.toLowerCase();
}

function parseQueryParam(value: unknown): string {
  const s = parseString(value).trim();
  if (!/^[A-Za-z0-9_.~-]+$/.test(s)) throw new ValueError('expected a query parameter name of letters, digits, _ . ~ -');
  return s;
}

/** The JWKS: an http(s) URL (fetched and cached, refetched on an unknown `kid`) or a file read at start. */
function parseJwks(value: unknown): string {
  return parseString(value).trim();
}

function parseAlgorithms(value: unknown): string[] {
  const list = parseStringList(value);
  for (const alg of list) {
    if (!ASYMMETRIC_ALGS.includes(alg) && !HMAC_ALGS.includes(alg)) {
      throw new ValueError(`'${alg}' is not a JWS algorithm this gate verifies (${[...HMAC_ALGS, ...ASYMMETRIC_ALGS].join(', ')}); 'none' is never accepted`);
    }
  }
  return list;
}

function parseNonEmptyList(value: unknown): string[] {
  const list = parseStringList(value);
  if (list.length === 0) throw new ValueError('expected at least one value');
  return list;
}

/** Configuration keys of the mfa concern (documented in the README table like every key). */
export const MFA_KEYS: readonly KeySpec[] = [
  { key: 'mfa.mode', env: 'NIS2_MFA_MODE', defaultText: 'the global `mode` when `mfa.routes` is set, else `off`', parse: parseEnum('enforce', 'monitor', 'off'),
    doc: '`enforce`, `monitor` or `off` for the MFA gate.' },
  { key: 'mfa.routes', env: 'NIS2_MFA_ROUTES', defaultValue: [], parse: parseMfaRoutes,
    doc: "Routes that need MFA: `'/admin, POST /billing/**, GET|POST /account/*'` or a list of `{method, path}`. A path without `*` covers itself and everything below it (`/admin` → `/admin/users`, not `/administrator`); `*` matches within a segment, `**` across. Case-insensitive, on the decoded, dot-segment-resolved path. `GET` includes `HEAD`; a route without method covers every method but `OPTIONS` (CORS preflights)." },
  { key: 'mfa.url', env: 'NIS2_MFA_URL', defaultValue: '/mfa/verify', parse: parseMfaUrl,
    doc: 'Where browsers (`Accept: text/html`) are sent with a 303: a same-origin path or an absolute http(s) URL. The request\'s own path and query go along, URL-encoded, in `mfa.nextParam`.' },
  { key: 'mfa.nextParam', env: 'NIS2_MFA_NEXT_PARAM', defaultValue: 'next', parse: parseQueryParam,
    doc: 'Query parameter of `mfa.url` that carries the same-origin path to return to.' },
  { key: 'mfa.amr', env: 'NIS2_MFA_AMR', defaultValue: ['mfa', 'otp', 'hwk', 'swk'], parse: parseStringList,
    doc: 'A verified token passes when its `amr` claim holds any of these values (RFC 8176).' },
  { key: 'mfa.acr', env: 'NIS2_MFA_ACR', defaultValue: [], parse: parseStringList,
    doc: 'A verified token also passes when its `acr` claim is one of these; they are sent as `acr_values` in the 401 challenge (RFC 9470).' },
  { key: 'mfa.maxAge', env: 'NIS2_MFA_MAX_AGE', parse: parseDuration,
    doc: 'When set, a token passes only if its `auth_time` is at most this old (and must carry `auth_time`); sent as `max_age` in the 401 challenge.' },
  { key: 'mfa.jwt.jwks', env: 'NIS2_MFA_JWKS', parse: parseJwks,
    doc: 'JWKS to verify MFA tokens with: an `https://` (or `http://`) URL, cached and refetched when a token names an unknown `kid` (key rotation), or a file read at start.' },
  { key: 'mfa.jwt.secret', env: 'NIS2_MFA_JWT_SECRET', secret: true, parse: parseString,
    doc: 'Shared secret (UTF-8, ≥ 32 bytes) to verify HS256/HS384/HS512 MFA tokens.' },
  { key: 'mfa.jwt.issuer', env: 'NIS2_MFA_JWT_ISSUER', parse: parseNonEmptyList,
    doc: 'Accepted `iss` values; required with `mfa.jwt.jwks` or `mfa.jwt.secret`.' },
  { key: 'mfa.jwt.audience', env: 'NIS2_MFA_JWT_AUDIENCE', parse: parseNonEmptyList,
    doc: 'Accepted `aud` values (any one); required with `mfa.jwt.jwks` or `mfa.jwt.secret`.' },
  { key: 'mfa.jwt.algorithms', env: 'NIS2_MFA_JWT_ALGORITHMS', defaultText: '`HS256` with a secret; RS, PS, ES and EdDSA algorithms with a JWKS', parse: parseAlgorithms,
    doc: 'Accepted JWS `alg` values (`none` is never accepted). HMAC algorithms verify with `mfa.jwt.secret` only, the others with the JWKS only.' },
  { key: 'mfa.jwt.cookie', env: 'NIS2_MFA_JWT_COOKIE', parse: parseString,
    doc: 'Cookie that carries the MFA token, besides the `Authorization: Bearer` header.' },
  { key: 'mfa.jwt.clockTolerance', env: 'NIS2_MFA_JWT_CLOCK_TOLERANCE', defaultValue: '30s', parse: parseDuration,
    doc: 'Clock skew allowed on `exp`, `nbf` and `auth_time`.' },
  { key: 'mfa.jwt.jwksCooldown', env: 'NIS2_MFA_JWKS_COOLDOWN', defaultValue: '30s', parse: parseDuration,
    doc: 'Least time between two JWKS fetches caused by unknown `kid`s (a forged `kid` cannot make the gate hammer the identity provider).' },
  { key: 'mfa.proxyHeader', env: 'NIS2_MFA_PROXY_HEADER', parse: parseHeaderName,
    doc: 'Header an authenticating proxy sets after MFA (e.g. `X-Auth-MFA`). Believed only on connections from `trustedProxies` (CIDRs; `trustedProxyHops` alone is refused), so a client cannot set it itself.' },
  { key: 'mfa.proxyHeaderValues', env: 'NIS2_MFA_PROXY_HEADER_VALUES', defaultValue: ['true'], parse: parseNonEmptyList,
    doc: 'Values of `mfa.proxyHeader` that mean MFA passed (case-insensitive; a comma- or space-separated header value passes when any item matches, e.g. `otp` in `pwd otp`).' },
  { key: 'mfa.predicate', programmaticOnly: true, parse: (v) => v,
    doc: 'In code only: `(req) => boolean | Promise<boolean>`, true when the app knows the user passed MFA (e.g. from its session). Exceptions and rejections count as false.' },
];

/** Options of the mfa concern, as accepted in code and in the config file. */
export interface MfaOptions {
  mfa?: {
    mode?: 'enforce' | 'monitor' | 'off';
    routes?: string | Array<string | { method?: string | string[]; path: string }>;
    url?: string;
    nextParam?: string;
    amr?: string | string[];
    acr?: string | string[];
    maxAge?: string | number;
    jwt?: {
      jwks?: string; secret?: string; issuer?: string | string[]; audience?: string | string[];
      algorithms?: string | string[]; cookie?: string; clockTolerance?: string | number; jwksCooldown?: string | number;
    };
    proxyHeader?: string;
    proxyHeaderValues?: string | string[];
    /** In code only: true when the app knows this request's user passed MFA. */
    predicate?: MfaPredicate;
  };
}

export { ASYMMETRIC_ALGS as MFA_ASYMMETRIC_ALGS, HMAC_ALGS as MFA_HMAC_ALGS };
