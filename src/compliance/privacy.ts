import { KEY_BY_PATH } from '../config/schema.js';
import { fromBase64Any } from '../integrity/encoding.js';
import { result, type CheckContext, type CheckResult } from './types.js';

/**
 * X25519 public keys of small order (libsodium's blocklist in `crypto_scalarmult_curve25519`): a
 * box sealed to one of them has a shared secret anyone can compute, so the "sealed" PII is readable.
 */
const SMALL_ORDER_POINTS = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]);

const SEAL_KEY = 'privacy.sealKey';
const SEAL_ENV = 'NIS2_PII_PUBLIC_KEY';
const SEAL_MODE = 'privacy.seal';
const FIX = 'run `nis2-otel keygen --encryption`, keep the private key with the investigators, and set NIS2_PII_PUBLIC_KEY to the public key';

/** The raw 32 bytes of the configured sealing key, whatever shape its parser gives it. */
function rawKey(value: unknown): Uint8Array | undefined {
  if (typeof value === 'string') return fromBase64Any(value);
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'object' && value !== null) {
    const inner = (value as Record<string, unknown>)['publicKey'];
    if (inner instanceof Uint8Array) return inner;
    if (typeof inner === 'string') return fromBase64Any(inner);
  }
  return undefined;
}

/**
 * The verdict on PII sealing, pure for tests.
 *
 * @param supported whether this build has the `privacy.sealKey` key at all.
 * @param value its parsed value (undefined: not set).
 * @param envSet whether `NIS2_PII_PUBLIC_KEY` is set (matters only when unsupported).
 * @param mode `privacy.seal` (`auto`, `on`, `off`), when this build has it.
 */
export function assessPiiSealing(supported: boolean, value: unknown, envSet: boolean, mode?: string): CheckResult {
  const id = 'privacy.pii-sealing';
  if (!supported) {
    return result(id, 'h', 'warn',
      envSet ? `${SEAL_ENV} is set, but this build of @nis2/otel does not read it: PII is not sealed`
        : 'this build of @nis2/otel cannot seal PII (no privacy.sealKey): PII is not encrypted for an investigator',
      { fix: 'upgrade @nis2/otel to a version with sealed PII, then set NIS2_PII_PUBLIC_KEY', data: { supported: false, sealed: false } });
  }
  // With privacy.seal (auto/off) unsealed PII is dropped, leaving only pseudonyms: nothing leaks,
  // but an investigation cannot recover who was involved.
  const unsealed = mode === undefined ? 'PII is not encrypted for an investigator'
    : 'PII attributes are dropped (only their pseudonyms stay), so an investigation cannot recover who was involved';
  if (mode === 'off') {
    return result(id, 'h', 'warn', `PII sealing is off (privacy.seal=off${value !== undefined ? `; the key in ${SEAL_ENV} is ignored` : ''}): ${unsealed}`,
      { fix: `set NIS2_PII_SEAL=auto (or on) with ${SEAL_ENV}`, data: { supported: true, sealed: false } });
  }
  if (value === undefined) {
    if (mode === 'on') {
      return result(id, 'h', 'fail', `privacy.seal is on but ${SEAL_ENV} is unset: register refuses to start`, { fix: FIX, data: { supported: true, sealed: false } });
    }
    return result(id, 'h', 'warn', `PII sealing is off (${SEAL_ENV} unset): ${unsealed}`, { fix: FIX, data: { supported: true, sealed: false } });
  }
  const raw = rawKey(value);
  if (raw === undefined) {
    // The parser owns the format; a shape this check does not know is still a configured key.
    return result(id, 'h', 'pass', `PII is sealed (${SEAL_ENV} configured)`, { data: { supported: true, sealed: true } });
  }
  if (raw.length !== 32) {
    return result(id, 'h', 'fail', `${SEAL_ENV} holds ${raw.length} bytes, not a 32-byte X25519 public key`, { fix: FIX, data: { supported: true, sealed: false } });
  }
  if (SMALL_ORDER_POINTS.has(Buffer.from(raw).toString('hex'))) {
    return result(id, 'h', 'fail', `${SEAL_ENV} is a small-order X25519 point: anyone can open what is sealed to it`, { fix: FIX, data: { supported: true, sealed: false } });
  }
  return result(id, 'h', 'pass', `PII is sealed to the X25519 public key in ${SEAL_ENV}: only the private key's holder can read it`, { data: { supported: true, sealed: true } });
}

/**
 * PII sealing on: `privacy.sealKey` (`NIS2_PII_PUBLIC_KEY`) names the investigator's X25519 public
 * key. Read defensively: a build without the key gets a warning that PII cannot be sealed.
 */
export function checkPiiSealing(ctx: CheckContext): CheckResult[] {
  const mode = KEY_BY_PATH.has(SEAL_MODE) ? ctx.config.values.get(SEAL_MODE) as string | undefined : undefined;
  return [assessPiiSealing(KEY_BY_PATH.has(SEAL_KEY), ctx.config.values.get(SEAL_KEY), Boolean(ctx.env[SEAL_ENV]), mode)];
}
