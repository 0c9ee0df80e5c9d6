import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  timingSafeEqual,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import { fromBase64Any, keyIdOf } from './encoding.js';

/** Signature algorithms of envelope v1 (DESIGN §4). */
export type SignatureAlgorithm = 'Ed25519' | 'HMAC-SHA256';

/** A key able to sign envelope bytes. */
export interface SigningKey {
  readonly alg: SignatureAlgorithm;
  /** base64url of the first 8 bytes of SHA-256(raw public key) (HMAC: of the key id source). */
  readonly kid: string;
  /** Raw 32-byte Ed25519 public key; undefined for HMAC. */
  readonly publicKey: Buffer | undefined;
  sign(data: Buffer): Buffer;
}

/** A key able to check envelope signatures. */
export interface VerifyingKey {
  readonly alg: SignatureAlgorithm;
  readonly kid: string;
  verify(data: Buffer, signature: Buffer): boolean;
}

// DER prefixes of PKCS#8 / SPKI Ed25519 keys (RFC 8410): 16 / 12 bytes followed by the raw 32 bytes.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Thrown for key material that cannot be used; the message never contains the material. */
export class KeyFormatError extends Error {
  override readonly name = 'KeyFormatError';
}

const KEY_TYPE_NAMES = { ed25519: 'Ed25519', x25519: 'X25519' } as const;

/**
 * Reads a PEM key block that must be of `type`: the one place that turns unreadable or mistyped
 * PEM into a {@link KeyFormatError} (signing keys, verifying keys and the PII sealing keys alike).
 * A private PEM given where a public key is expected yields its public half, as node:crypto does.
 */
export function readPemKey(text: string, kind: 'private' | 'public', type: keyof typeof KEY_TYPE_NAMES): KeyObject {
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey({ key: text, format: 'pem' }) : createPublicKey({ key: text, format: 'pem' });
  } catch {
    throw new KeyFormatError(`the PEM block is not a readable ${kind} key`);
  }
  if (key.asymmetricKeyType !== type) {
    throw new KeyFormatError(`the PEM key is ${key.asymmetricKeyType ?? 'unknown'}, not ${KEY_TYPE_NAMES[type]}`);
  }
  return key;
}

function privateKeyFromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(key: KeyObject): Buffer {
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

function seedOf(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(der.subarray(der.length - 32));
}

/**
 * An Ed25519 key pair signing through node:crypto (native). Signatures are byte-identical to
 * tweetnacl's `nacl.sign.detached` for the same seed: Ed25519 (RFC 8032) is deterministic.
 */
export class Ed25519SigningKey implements SigningKey {
  readonly alg = 'Ed25519' as const;
  readonly kid: string;
  readonly publicKey: Buffer;
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new KeyFormatError('not an Ed25519 private key');
    this.#privateKey = privateKey;
    this.publicKey = rawPublicKey(privateKey);
    this.kid = keyIdOf(this.publicKey);
  }

  /** Builds a key from its 32-byte seed (tweetnacl: `nacl.sign.keyPair.fromSeed`). */
  static fromSeed(seed: Uint8Array): Ed25519SigningKey {
    if (seed.length !== 32) throw new KeyFormatError(`an Ed25519 seed has 32 bytes, got ${seed.length}`);
    return new Ed25519SigningKey(privateKeyFromSeed(Buffer.from(seed)));
  }

  /** The 32-byte seed, for writing a key file. */
  seed(): Buffer {
    return seedOf(this.#privateKey);
  }

  /** tweetnacl's 64-byte secret key: seed followed by the public key. */
  tweetnaclSecretKey(): Buffer {
    return Buffer.concat([this.seed(), this.publicKey]);
  }

  sign(data: Buffer): Buffer {
    return edSign(null, data, this.#privateKey);
  }
}

/**
 * Parses Ed25519 key material as users hold it: a PKCS#8 PEM, or base64/base64url of a 32-byte seed
 * or of tweetnacl's 64-byte secret key (seed ‖ public key, whose public half must match the seed).
 */
export function parseEd25519SigningKey(material: string): Ed25519SigningKey {
  const text = material.trim();
  if (text.startsWith('-----BEGIN')) return new Ed25519SigningKey(readPemKey(text, 'private', 'ed25519'));
  const bytes = fromBase64Any(text);
  if (!bytes) throw new KeyFormatError('expected a PEM block or base64/base64url text');
  if (bytes.length === 32) return Ed25519SigningKey.fromSeed(bytes);
  if (bytes.length === 64) {
    const key = Ed25519SigningKey.fromSeed(bytes.subarray(0, 32));
    if (!key.publicKey.equals(bytes.subarray(32))) {
      throw new KeyFormatError('the 64-byte secret key\'s public half does not match its seed');
    }
    return key;
  }
  throw new KeyFormatError(`expected a 32-byte seed or 64-byte secret key, got ${bytes.length} bytes`);
}

/** HMAC-SHA256 signing: symmetric, so only holders of the key can verify (not publicly verifiable). */
export class HmacSigningKey implements SigningKey, VerifyingKey {
  readonly alg = 'HMAC-SHA256' as const;
  readonly kid: string;
  readonly publicKey = undefined;
  readonly #key: Buffer;

  /** @param kidSource the key id string the user configures; defaults to deriving it from the key. */
  constructor(key: Uint8Array, kidSource?: string) {
    if (key.length < 32) throw new KeyFormatError(`an HMAC key needs at least 32 bytes, got ${key.length}`);
    this.#key = Buffer.from(key);
    this.kid = keyIdOf(kidSource ?? this.#key);
  }

  sign(data: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(data).digest();
  }

  verify(data: Buffer, signature: Buffer): boolean {
    const expected = this.sign(data);
    return signature.length === expected.length && timingSafeEqual(expected, signature);
  }
}


/** An Ed25519 public key for verification, from its raw 32 bytes. */
export class Ed25519VerifyingKey implements VerifyingKey {
  readonly alg = 'Ed25519' as const;
  readonly kid: string;
  readonly publicKey: Buffer;
  readonly #key: KeyObject;

  constructor(rawPublicKey: Uint8Array) {
    if (rawPublicKey.length !== 32) throw new KeyFormatError(`an Ed25519 public key has 32 bytes, got ${rawPublicKey.length}`);
    this.publicKey = Buffer.from(rawPublicKey);
    this.#key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, this.publicKey]), format: 'der', type: 'spki' });
    this.kid = keyIdOf(this.publicKey);
  }

  verify(data: Buffer, signature: Buffer): boolean {
    if (signature.length !== 64) return false;
    return edVerify(null, data, this.#key, signature);
  }
}
