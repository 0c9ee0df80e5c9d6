import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify,
  type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions,
} from 'jose';
import { MFA_HMAC_ALGS } from '../../config/keys/mfa.js';
import { ValueError } from '../../config/parse-values.js';

/** Why a token is not evidence of MFA (the `nis2.reason` of `nis2.mfa.required`). */
export type TokenReason =
  | 'malformed' | 'alg_not_allowed' | 'invalid_signature' | 'unknown_key' | 'key_unavailable'
  | 'expired' | 'not_yet_valid' | 'wrong_issuer' | 'wrong_audience' | 'missing_claim'
  | 'insufficient_amr' | 'too_old';

export interface TokenVerifierOptions {
  readonly jwks: string | undefined;
  readonly secret: string | undefined;
  readonly issuer: readonly string[];
  readonly audience: readonly string[];
  readonly algorithms: readonly string[];
  readonly amr: readonly string[];
  readonly acr: readonly string[];
  readonly maxAgeMs: number | undefined;
  readonly clockToleranceMs: number;
  readonly jwksCooldownMs: number;
  readonly now: () => number;
  /** Told when fetching the remote JWKS fails (true) and when it works again (false). */
  readonly onKeysUnavailable?: (unavailable: boolean) => void;
}

/** Marks a JWKS that could not be had (fetch failed, timed out, not a key set) apart from a key that is not in it. */
class KeysUnavailable extends Error {}

const REMOTE = /^https?:\/\//i;

/**
 * Verifies MFA tokens with jose: signature against the JWKS (asymmetric algorithms) or the shared
 * secret (HMAC algorithms) — never across, so a public key can't be replayed as an HMAC secret —
 * then `iss`, `aud`, `exp` (required), `nbf`, then `amr`/`acr` and `auth_time`. Every failure maps to
 * one short reason; nothing from the token is echoed.
 */
export class MfaTokenVerifier {
  readonly #getKey: JWTVerifyGetKey;
  readonly #options: JWTVerifyOptions;
  readonly #amr: ReadonlySet<string>;
  readonly #acr: ReadonlySet<string>;
  readonly #maxAgeS: number | undefined;
  readonly #toleranceS: number;
  readonly #now: () => number;
  readonly #remote: boolean;
  readonly #onKeysUnavailable: ((unavailable: boolean) => void) | undefined;
  #keysUnavailable = false;

  /** Reads a JWKS file now (start-up I/O); throws ValueError when it cannot be used. */
  constructor(o: TokenVerifierOptions) {
    this.#amr = new Set(o.amr);
    this.#acr = new Set(o.acr);
    this.#maxAgeS = o.maxAgeMs === undefined ? undefined : o.maxAgeMs / 1000;
    this.#toleranceS = o.clockToleranceMs / 1000;
    this.#now = o.now;
    this.#onKeysUnavailable = o.onKeysUnavailable;
    const secret = o.secret === undefined ? undefined : new TextEncoder().encode(o.secret);
    this.#remote = o.jwks !== undefined && REMOTE.test(o.jwks);
    let jwks: JWTVerifyGetKey | undefined;
    if (o.jwks !== undefined && this.#remote) {
      jwks = createRemoteJWKSet(new URL(o.jwks), { cooldownDuration: o.jwksCooldownMs, timeoutDuration: 5000 });
    } else if (o.jwks !== undefined) {
      jwks = createLocalJWKSet(readJwksFile(o.jwks));
    }
    this.#getKey = async (header, token) => {
      if (MFA_HMAC_ALGS.includes(header.alg ?? '')) {
        if (secret === undefined) throw new errors.JWKSNoMatchingKey();
        return secret;
      }
      if (jwks === undefined) throw new errors.JWKSNoMatchingKey();
      if (!this.#remote) return jwks(header, token);
      try {
        const key = await jwks(header, token);
        this.#keysAvailable(true);
        return key;
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
          this.#keysAvailable(true);
          throw err;
        }
        this.#keysAvailable(false);
        throw new KeysUnavailable();
      }
    };
    const required = ['exp'];
    if (this.#maxAgeS !== undefined) required.push('auth_time');
    this.#options = {
      issuer: [...o.issuer],
      audience: [...o.audience],
      algorithms: [...o.algorithms],
      clockTolerance: this.#toleranceS,
      requiredClaims: required,
    };
  }

  #keysAvailable(ok: boolean): void {
    if (ok === !this.#keysUnavailable) return;
    this.#keysUnavailable = !ok;
    this.#onKeysUnavailable?.(!ok);
  }

  /** Resolves to undefined when the token is evidence of MFA, else to the reason it is not. Never rejects. */
  async verify(token: string): Promise<TokenReason | undefined> {
    const now = this.#now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#getKey, { ...this.#options, currentDate: new Date(now) }));
    } catch (err) {
      return reasonOf(err);
    }
    const amr = payload['amr'];
    const acr = payload['acr'];
    const amrOk = Array.isArray(amr) && amr.some((v) => typeof v === 'string' && this.#amr.has(v));
    const acrOk = typeof acr === 'string' && this.#acr.has(acr);
    if (!amrOk && !acrOk) return 'insufficient_amr';
    if (this.#maxAgeS !== undefined) {
      const authTime = payload['auth_time'];
      if (typeof authTime !== 'number' || !Number.isFinite(authTime)) return 'too_old';
      if (now / 1000 - authTime > this.#maxAgeS + this.#toleranceS) return 'too_old';
    }
    return undefined;
  }
}

function readJwksFile(path: string): JSONWebKeySet {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(resolve(path), 'utf8'));
  } catch (err) {
    throw new ValueError(`cannot read the JWKS file '${path}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0]})`);
  }
  if (typeof data !== 'object' || data === null || !Array.isArray((data as { keys?: unknown }).keys)) {
    throw new ValueError(`'${path}' is not a JWKS (a JSON object with a "keys" array)`);
  }
  return data as JSONWebKeySet;
}

function reasonOf(err: unknown): TokenReason {
  if (err instanceof KeysUnavailable) return 'key_unavailable';
  if (!(err instanceof errors.JOSEError)) return 'malformed';
  switch (err.code) {
    case 'ERR_JWT_EXPIRED': return 'expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'invalid_signature';
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return 'alg_not_allowed';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': return 'unknown_key';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as errors.JWTClaimValidationFailed;
      if (claim === 'auth_time') return 'too_old';
      if (reason === 'missing') return 'missing_claim';
      if (claim === 'iss') return 'wrong_issuer';
      if (claim === 'aud') return 'wrong_audience';
      if (claim === 'nbf') return 'not_yet_valid';
      return 'malformed';
    }
    default: return 'malformed';
  }
}
