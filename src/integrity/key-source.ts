import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Nis2Config } from '../config/load.js';
import { Nis2Error } from '../errors.js';
import { fromBase64Any } from './encoding.js';
import { Ed25519SigningKey, HmacSigningKey, KeyFormatError, parseEd25519SigningKey, type SigningKey } from './keys.js';

/** The key the stream signs with, and how it was obtained (for warnings and `nis2-otel check`). */
export interface ResolvedSigningKey {
  readonly key: SigningKey;
  readonly origin: 'env' | 'file' | 'generated' | 'persisted-generated';
  /** Set when the key was generated or re-read from `signing.keyDir`. */
  readonly path?: string;
  /** Set when the key file can be read by group or others. */
  readonly unsafeMode?: boolean;
}

const GENERATED_NAME = 'signing-key';

function wrap<T>(code: 'NIS2_ERR_KEY_INVALID' | 'NIS2_ERR_KEY_FILE', where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KeyFormatError) throw new Nis2Error(code, `${where}: ${err.message}`);
    throw err;
  }
}

/**
 * Resolves the signing key: HMAC key, Ed25519 key from env or file, or, when none is configured, a
 * key generated once and persisted under `signing.keyDir` (0600) so restarts keep one identity.
 */
export function resolveSigningKey(config: Nis2Config): ResolvedSigningKey {
  const { signing } = config;
  if (signing.hmacKey && (signing.key || signing.keyFile)) {
    throw new Nis2Error('NIS2_ERR_KEY_INVALID', 'both an HMAC key (NIS2_HMAC_KEY) and an Ed25519 key are configured; keep one');
  }
  if (signing.hmacKey) {
    const bytes = fromBase64Any(signing.hmacKey);
    if (!bytes) throw new Nis2Error('NIS2_ERR_KEY_INVALID', 'signing.hmacKey (NIS2_HMAC_KEY) is not base64; generate one with `nis2-otel keygen --hmac`');
    return { key: wrap('NIS2_ERR_KEY_INVALID', 'signing.hmacKey (NIS2_HMAC_KEY)', () => new HmacSigningKey(bytes, signing.hmacKeyId)), origin: 'env' };
  }
  if (signing.key) {
    return { key: wrap('NIS2_ERR_KEY_INVALID', 'signing.key (NIS2_SIGNING_KEY)', () => parseEd25519SigningKey(signing.key!)), origin: 'env' };
  }
  if (signing.keyFile) return readKeyFile(signing.keyFile, 'file');
  const path = join(signing.keyDir, GENERATED_NAME);
  if (existsSync(path)) return { ...readKeyFile(path, 'persisted-generated'), path };
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = new Ed25519SigningKey(privateKey);
  mkdirSync(signing.keyDir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${key.seed().toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  return { key, origin: 'generated', path };
}

function readKeyFile(path: string, origin: 'file' | 'persisted-generated'): ResolvedSigningKey {
  let text: string;
  let mode: number;
  try {
    text = readFileSync(path, 'utf8');
    mode = statSync(path).mode;
  } catch (err) {
    throw new Nis2Error('NIS2_ERR_KEY_FILE', `cannot read signing.keyFile (NIS2_SIGNING_KEY_FILE) '${path}' (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const key = wrap('NIS2_ERR_KEY_FILE', `signing key file '${path}'`, () => parseEd25519SigningKey(text));
  const unsafeMode = (mode & 0o077) !== 0;
  if (unsafeMode && origin === 'persisted-generated') chmodSync(path, 0o600);
  return { key, origin, path, unsafeMode };
}
