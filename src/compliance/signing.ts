import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { Nis2Error } from '../errors.js';
import { fromBase64Any } from '../integrity/encoding.js';
import { resolveSigningKey } from '../integrity/key-source.js';
import { Ed25519SigningKey, KeyFormatError, parseEd25519SigningKey, type SigningKey } from '../integrity/keys.js';
import { result, type CheckContext, type CheckResult } from './types.js';

/** Where `register` keeps the key it generates when none is configured (see key-source.ts). */
export const GENERATED_KEY_NAME = 'signing-key';

/**
 * Seeds and keys that are public, so a key equal to one of them signs nothing anyone can trust:
 * the RFC 8032 §7.1 Ed25519 test vectors 1–3 (copied from tutorials more often than one would hope).
 */
const PUBLISHED_SECRETS: ReadonlyMap<string, string> = new Map([
  ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'the RFC 8032 test vector 1 seed'],
  ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', 'the RFC 8032 test vector 2 seed'],
  ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'the RFC 8032 test vector 3 seed'],
]);

/** Verdict on the randomness of secret key bytes (never echoes them). */
export interface KeyStrength {
  readonly status: 'pass' | 'warn' | 'fail';
  readonly reason: string;
}

/**
 * Heuristics that catch keys a human made up rather than a CSPRNG. 32 random bytes hold about 30
 * distinct values and are all printable ASCII with probability (95/256)^32 ≈ 10^-14, so both tests
 * have no practical false positives on real keys.
 */
export function assessKeyStrength(secret: Uint8Array): KeyStrength {
  const hex = Buffer.from(secret).toString('hex');
  const published = PUBLISHED_SECRETS.get(hex);
  if (published) return { status: 'fail', reason: `the key is ${published}: it is public, anyone can sign with it` };
  const distinct = new Set(secret).size;
  if (distinct < Math.min(16, secret.length / 2)) {
    return { status: 'fail', reason: `only ${distinct} distinct byte values in ${secret.length} bytes: not a random key` };
  }
  if (secret.every((b) => b >= 0x20 && b <= 0x7e)) {
    return { status: 'warn', reason: 'every byte is printable text: it looks like a password encoded as base64, not random bytes' };
  }
  return { status: 'pass', reason: `${secret.length * 8}-bit key with no sign of being made up` };
}

/** What the read-only key inspection found: the same key `register` would sign with, without side effects. */
interface Inspected {
  /** Where the key was configured, e.g. `NIS2_SIGNING_KEY_FILE` or `signing.keyFile in NIS2_CONFIG_FILE`. */
  readonly configuredBy: string | undefined;
  readonly key: SigningKey | undefined;
  /** Secret bytes for the strength heuristics (HMAC key, or Ed25519 seed); never printed. */
  readonly secret: Uint8Array | undefined;
  readonly path: string | undefined;
  readonly error: string | undefined;
  /** No key configured: where `register` would generate (or has generated) one. */
  readonly generatedPath: string | undefined;
  readonly generatedExists: boolean;
}

/**
 * Mirrors `resolveSigningKey` without its one side effect. A configured key is resolved by the very
 * same function `register` calls (that branch reads only); when nothing is configured, `register`
 * would generate and write a key, so here the generated key's file is only looked at, never created
 * or chmod-ed.
 */
function inspect(ctx: CheckContext): Inspected {
  const s = ctx.config.signing;
  const configuredBy = s.hmacKey ? where(ctx, 'signing.hmacKey', 'NIS2_HMAC_KEY')
    : s.key ? where(ctx, 'signing.key', 'NIS2_SIGNING_KEY')
    : s.keyFile ? where(ctx, 'signing.keyFile', 'NIS2_SIGNING_KEY_FILE') : undefined;
  if (configuredBy) {
    try {
      const resolved = resolveSigningKey(ctx.config);
      const secret = resolved.key instanceof Ed25519SigningKey ? resolved.key.seed() : s.hmacKey ? fromBase64Any(s.hmacKey) : undefined;
      return { configuredBy, key: resolved.key, secret, path: resolved.path, error: undefined, generatedPath: undefined, generatedExists: false };
    } catch (err) {
      if (!(err instanceof Nis2Error)) throw err;
      return { configuredBy, key: undefined, secret: undefined, path: s.keyFile, error: err.message, generatedPath: undefined, generatedExists: false };
    }
  }
  const generatedPath = join(s.keyDir, GENERATED_KEY_NAME);
  if (!existsSync(generatedPath)) {
    return { configuredBy, key: undefined, secret: undefined, path: undefined, error: undefined, generatedPath, generatedExists: false };
  }
  try {
    const key = parseEd25519SigningKey(readFileSync(generatedPath, 'utf8'));
    return { configuredBy, key, secret: key.seed(), path: generatedPath, error: undefined, generatedPath, generatedExists: true };
  } catch (err) {
    const why = err instanceof KeyFormatError ? err.message : (err as NodeJS.ErrnoException).code ?? 'unreadable';
    return { configuredBy, key: undefined, secret: undefined, path: generatedPath, error: `generated key file '${generatedPath}': ${why}`, generatedPath, generatedExists: true };
  }
}

function where(ctx: CheckContext, key: string, env: string): string {
  const source = ctx.config.sources[key];
  return source === 'file' ? `${key} in NIS2_CONFIG_FILE` : source === 'code' ? `option ${key}` : env;
}

const KEYGEN_FIX = 'run `nis2-otel keygen --out <dir outside the app\'s writable paths>` and set NIS2_SIGNING_KEY_FILE to the `signing-key` file it writes';

function permissions(path: string | undefined, configuredBy: Inspected['configuredBy']): CheckResult {
  const id = 'signing.key.file-permissions';
  if (path === undefined) {
    return configuredBy
      ? result(id, 'i', 'info', `the key is given inline in ${configuredBy}: no key file to check (the process environment is readable by its own user and root)`)
      : result(id, 'i', 'info', 'no key file to check');
  }
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A missing file is already a signing.key.valid failure; one cause, one failure.
    if (code === 'ENOENT') return result(id, 'i', 'info', `key file '${path}' does not exist: nothing to check`);
    return result(id, 'i', 'fail', `cannot stat the key file '${path}' (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { fix: 'fix the path in NIS2_SIGNING_KEY_FILE' });
  }
  const mode = st.mode & 0o777;
  const octal = mode.toString(8).padStart(4, '0');
  const data = { path, mode: octal, uid: st.uid };
  if ((mode & 0o077) !== 0) {
    const who = [(mode & 0o070) !== 0 && 'group', (mode & 0o007) !== 0 && 'others'].filter(Boolean).join(' and ');
    return result(id, 'i', 'fail', `key file '${path}' has mode ${octal}: ${who} can read or replace the signing key and forge events`, { fix: `chmod 600 '${path}'`, data });
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    return result(id, 'i', 'fail', `key file '${path}' is owned by uid ${st.uid}, not by the user running this check (uid ${uid}); run the check as the app's user`, { fix: `chown the key file to the app's user, or run \`nis2-otel check\` as that user`, data });
  }
  // The file is only as safe as its directory: whoever may write there can swap the key.
  const dir = dirname(path);
  try {
    const d = statSync(dir);
    if ((d.mode & 0o022) !== 0 && (d.mode & 0o1000) === 0) {
      return result(id, 'i', 'fail', `key file '${path}' sits in '${dir}' (mode ${(d.mode & 0o7777).toString(8)}), which group or others can write: they can replace the key`, { fix: `chmod go-w '${dir}', or move the key to a directory only its user can write`, data });
    }
  } catch {
    // The file was stat-ed a moment ago; a vanished directory is reported by the next run.
  }
  return result(id, 'i', 'pass', `key file '${path}' is mode ${octal}, owned by uid ${st.uid}`, { data });
}

/** The signing-key checks: present and configured (not generated), algorithm, format, strength, file permissions. */
export function checkSigning(ctx: CheckContext): CheckResult[] {
  const k = inspect(ctx);
  const out: CheckResult[] = [];
  const kid = k.key?.kid ?? null;

  // signing.key.present
  if (k.configuredBy) {
    out.push(result('signing.key.present', 'h', 'pass', `signing key configured in ${k.configuredBy}`, { data: { source: k.configuredBy, kid } }));
  } else if (k.generatedExists) {
    out.push(result('signing.key.present', 'h', 'fail',
      `no signing key configured: register signs with the key it generated at '${k.generatedPath}'${kid ? ` (kid ${kid})` : ''}; it lives next to the app, so whoever can read it can forge events`,
      { fix: KEYGEN_FIX, data: { source: 'generated', kid, path: k.generatedPath ?? null } }));
  } else {
    out.push(result('signing.key.present', 'h', 'fail',
      `no signing key configured: register would generate one at '${k.generatedPath}' on start (NIS2_WRN_GENERATED_KEY)`,
      { fix: KEYGEN_FIX, data: { source: null, kid: null, path: k.generatedPath ?? null } }));
  }

  // signing.key.valid
  if (k.error) {
    out.push(result('signing.key.valid', 'h', 'fail', `${k.error.replace(/ \(see README#error-codes\)$/, '')}; register would refuse to start`, { fix: KEYGEN_FIX }));
  } else if (k.key) {
    out.push(result('signing.key.valid', 'h', 'pass', `${k.key.alg} key, kid ${k.key.kid}`, { data: { alg: k.key.alg, kid: k.key.kid } }));
  } else {
    out.push(result('signing.key.valid', 'h', 'info', 'no key to parse'));
  }

  // signing.key.algorithm
  if (!k.key) {
    out.push(result('signing.key.algorithm', 'h', 'info', 'no usable key: algorithm unknown'));
  } else if (k.key.alg === 'HMAC-SHA256') {
    out.push(result('signing.key.algorithm', 'h', 'warn',
      'HMAC-SHA256 is not publicly verifiable: every verifier holds the secret and could forge events, so the log proves nothing to a third party',
      { fix: 'switch to Ed25519: `nis2-otel keygen`, set NIS2_SIGNING_KEY_FILE, unset NIS2_HMAC_KEY; verifiers then need only the public key', data: { alg: k.key.alg } }));
  } else {
    out.push(result('signing.key.algorithm', 'h', 'pass', 'Ed25519: verifiers need only the public key', { data: { alg: k.key.alg } }));
  }

  // signing.key.strength
  if (!k.secret || !k.key) {
    out.push(result('signing.key.strength', 'h', 'info', 'no usable key: strength not assessed'));
  } else {
    const s = assessKeyStrength(k.secret);
    out.push(result('signing.key.strength', 'h', s.status, s.reason, { fix: KEYGEN_FIX }));
  }

  out.push(permissions(k.path, k.configuredBy));
  return out;
}
