import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';
import nacl from 'tweetnacl';
import { fromBase64Any, keyIdOf } from '../integrity/encoding.js';
import { KeyFormatError, readPemKey } from '../integrity/keys.js';

/**
 * Sealed boxes in libsodium's `crypto_box_seal` format (DESIGN §4), so that a value sealed here opens
 * with libsodium, PyNaCl or `nis2-otel decrypt`, and the app can encrypt but never decrypt:
 *
 *     sealed = epk ‖ crypto_box(m, nonce = BLAKE2b-192(epk ‖ pk), pk, esk)
 *
 * with a fresh ephemeral X25519 key pair (epk, esk) per message; `crypto_box` is XSalsa20-Poly1305
 * under HSalsa20(X25519(esk, pk)), the MAC first (the "easy" layout), 48 bytes of overhead.
 *
 * The X25519 work runs in node:crypto (native; ~14× faster than tweetnacl's JS, see
 * bench/privacy-seal.mjs), HSalsa20 and XSalsa20-Poly1305 in tweetnacl (no native XSalsa20 in
 * node:crypto), BLAKE2b-192 in @noble/hashes (node:crypto only has the 512-bit digest, and a
 * BLAKE2b output length is a parameter of the hash, not a truncation).
 *
 * Why no per-stream shared key: the nonce is a function of `epk ‖ pk` only, so sealing two
 * messages with one ephemeral key would encrypt both under the same key AND the same nonce —
 * XSalsa20 keystream reuse (the XOR of the plaintexts leaks) and a reused Poly1305 one-time key
 * (forgeries). The format allows no reuse at all: every value costs one ephemeral key pair and
 * one X25519 agreement (~70 µs native).
 */

/** Prefix of a sealed attribute value: `nis2enc:1:<kid>:<base64url(sealed box)>`. */
export const SEALED_PREFIX = 'nis2enc:1:';
/** Bytes a sealed box adds to its plaintext: the ephemeral public key and the Poly1305 tag. */
export const SEAL_OVERHEAD = 32 + 16;

// "expand 32-byte k": the Salsa20 constant HSalsa20 takes to turn a shared secret into a box key.
const SIGMA = new Uint8Array([101, 120, 112, 97, 110, 100, 32, 51, 50, 45, 98, 121, 116, 101, 32, 107]);
const ZERO16 = new Uint8Array(16);
// DER prefixes of PKCS#8 / SPKI X25519 keys (RFC 8410), followed by the raw 32 bytes.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

// tweetnacl exports its primitives under `lowlevel`, which its typings leave out.
const lowlevel = (nacl as unknown as {
  lowlevel: { crypto_core_hsalsa20(out: Uint8Array, inp: Uint8Array, k: Uint8Array, c: Uint8Array): number };
}).lowlevel;

/** The box key of crypto_box: HSalsa20 of the X25519 shared secret (libsodium `crypto_box_beforenm`). */
function boxKey(shared: Uint8Array): Uint8Array {
  const k = new Uint8Array(32);
  lowlevel.crypto_core_hsalsa20(k, ZERO16, shared, SIGMA);
  return k;
}

/** The sealed-box nonce: BLAKE2b with a 24-byte output over `epk ‖ pk` (libsodium `_crypto_box_seal_nonce`). */
function sealNonce(epk: Uint8Array, pk: Uint8Array): Uint8Array {
  const input = new Uint8Array(64);
  input.set(epk, 0);
  input.set(pk, 32);
  return blake2b(input, { dkLen: 24 });
}

function x25519PublicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

function x25519PrivateKeyObject(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** Raw 32-byte public key of an X25519 KeyObject (JWK export: cheap, and available on Node 22). */
function rawPublicOf(key: KeyObject): Buffer {
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new KeyFormatError('not an X25519 key');
  return Buffer.from(x, 'base64url');
}

function rawPrivateOf(key: KeyObject): Buffer {
  const d = key.export({ format: 'jwk' }).d;
  if (typeof d !== 'string') throw new KeyFormatError('not an X25519 private key');
  return Buffer.from(d, 'base64url');
}

/** The message-independent half of one sealed box: used for one message, then its key is zeroed. */
interface Ephemeral {
  readonly epk: Buffer;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

function ephemeralFrom(privateKey: KeyObject, epk: Buffer, recipient: KeyObject, recipientRaw: Uint8Array): Ephemeral {
  const shared = diffieHellman({ privateKey, publicKey: recipient });
  const key = boxKey(shared);
  shared.fill(0);
  return { epk, key, nonce: sealNonce(epk, recipientRaw) };
}

/** Seals `message` with one ephemeral triple and consumes it (its box key is zeroed). */
function sealWith(message: Uint8Array, eph: Ephemeral): Buffer {
  const box = nacl.secretbox(message, eph.nonce, eph.key);
  eph.key.fill(0);
  const out = Buffer.allocUnsafe(32 + box.length);
  out.set(eph.epk, 0);
  out.set(box, 32);
  return out;
}

/**
 * Seals with a given ephemeral secret key: deterministic, for tests that compare byte for byte with
 * another implementation. Never use it to seal real data (a repeated `ephemeralSecret` is the
 * nonce reuse described above).
 * @internal
 */
export function sealWithEphemeralSecret(message: Uint8Array, recipientPublicKey: Uint8Array, ephemeralSecret: Uint8Array): Buffer {
  const privateKey = x25519PrivateKeyObject(ephemeralSecret);
  return sealWith(message, ephemeralFrom(privateKey, rawPublicOf(createPublicKey(privateKey)), x25519PublicKeyObject(recipientPublicKey), recipientPublicKey));
}

/**
 * Parses the investigator's X25519 public key: base64/base64url of its 32 bytes (libsodium,
 * PyNaCl, `nis2-otel keygen --encryption`) or an SPKI PEM. Rejects low-order points, with which
 * the shared secret would be all zeros (libsodium refuses them too).
 */
export function parseSealPublicKey(material: string): Buffer {
  const text = material.trim();
  let raw: Buffer | undefined;
  if (text.startsWith('-----BEGIN')) {
    raw = rawPublicOf(readPemKey(text, 'public', 'x25519'));
  } else {
    raw = fromBase64Any(text);
    if (!raw) throw new KeyFormatError('expected base64/base64url of a 32-byte X25519 public key, or a PEM block');
    if (raw.length !== 32) throw new KeyFormatError(`an X25519 public key has 32 bytes, got ${raw.length}`);
  }
  try {
    diffieHellman({ privateKey: generateKeyPairSync('x25519').privateKey, publicKey: x25519PublicKeyObject(raw) });
  } catch {
    throw new KeyFormatError('the X25519 public key is a low-order point: nothing sealed to it would be secret');
  }
  return raw;
}

/**
 * Parses the investigator's X25519 private key: base64/base64url of its 32 bytes (as written by
 * `nis2-otel keygen --encryption`, libsodium's `crypto_box_keypair`) or a PKCS#8 PEM. Error
 * messages never contain the material.
 */
export function parseSealPrivateKey(material: string): Buffer {
  const text = material.trim();
  if (text.startsWith('-----BEGIN')) return rawPrivateOf(readPemKey(text, 'private', 'x25519'));
  const raw = fromBase64Any(text);
  if (!raw) throw new KeyFormatError('expected base64/base64url of a 32-byte X25519 private key, or a PEM block');
  if (raw.length !== 32) throw new KeyFormatError(`an X25519 private key has 32 bytes, got ${raw.length}`);
  return raw;
}

/** Key id of a sealing key: base64url of the first 8 bytes of SHA-256(raw public key), as for signing keys. */
export function sealKeyId(publicKey: Uint8Array): string {
  return keyIdOf(publicKey);
}

/** A fresh X25519 key pair for `nis2-otel keygen --encryption` (raw 32-byte halves). */
export function generateSealKeyPair(): { publicKey: Buffer; privateKey: Buffer; kid: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const pub = rawPublicOf(publicKey);
  return { publicKey: pub, privateKey: rawPrivateOf(privateKey), kid: sealKeyId(pub) };
}

/**
 * The investigator's public key, on the app side: seals values so that only the private key's
 * holder can read them. The app never holds (or needs) the private key.
 */
export class SealingKey {
  /** Raw 32-byte X25519 public key. */
  readonly publicKey: Buffer;
  /** base64url of the first 8 bytes of SHA-256(public key); written into every sealed value. */
  readonly kid: string;
  readonly #recipient: KeyObject;
  readonly #prefix: string;

  constructor(publicKey: Uint8Array) {
    if (publicKey.length !== 32) throw new KeyFormatError(`an X25519 public key has 32 bytes, got ${publicKey.length}`);
    this.publicKey = Buffer.from(publicKey);
    this.kid = sealKeyId(this.publicKey);
    this.#recipient = x25519PublicKeyObject(this.publicKey);
    this.#prefix = `${SEALED_PREFIX}${this.kid}:`;
  }

  /** Parses a public key as users hold it (see {@link parseSealPublicKey}). */
  static parse(material: string): SealingKey {
    return new SealingKey(parseSealPublicKey(material));
  }

  /** libsodium `crypto_box_seal(message, publicKey)`: ephemeral public key ‖ MAC ‖ ciphertext. */
  seal(message: Uint8Array): Buffer {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    return sealWith(message, ephemeralFrom(privateKey, rawPublicOf(publicKey), this.#recipient, this.publicKey));
  }

  /** Seals a string's UTF-8 bytes into an attribute value `nis2enc:1:<kid>:<base64url>`. */
  sealString(value: string): string {
    return this.#prefix + this.seal(Buffer.from(value, 'utf8')).toString('base64url');
  }
}

/** A parsed `nis2enc:1:<kid>:<base64url>` value. */
export interface SealedToken {
  readonly kid: string;
  readonly box: Buffer;
}

const TOKEN = /^nis2enc:1:([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)$/;

/** Parses a sealed attribute value; undefined when the text is not one. */
export function parseSealedToken(value: string): SealedToken | undefined {
  const m = TOKEN.exec(value);
  if (!m) return undefined;
  return { kid: m[1]!, box: Buffer.from(m[2]!, 'base64url') };
}

/** Whether an attribute value looks like a sealed value (`nis2enc:` prefix, any version). */
export function isSealedValue(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('nis2enc:');
}

/** Why a sealed value could not be opened. */
export type OpenFailure = 'malformed' | 'unsupported-version' | 'other-key' | 'rejected';

/** What {@link OpeningKey.openString} found. */
export type OpenResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: OpenFailure; readonly detail: string };

/** The investigator's private key: opens what {@link SealingKey} (or libsodium) sealed to its public half. */
export class OpeningKey {
  readonly publicKey: Buffer;
  readonly kid: string;
  readonly #privateKey: KeyObject;

  constructor(privateKey: Uint8Array) {
    if (privateKey.length !== 32) throw new KeyFormatError(`an X25519 private key has 32 bytes, got ${privateKey.length}`);
    this.#privateKey = x25519PrivateKeyObject(privateKey);
    this.publicKey = rawPublicOf(createPublicKey(this.#privateKey));
    this.kid = sealKeyId(this.publicKey);
  }

  /** Parses a private key as users hold it (see {@link parseSealPrivateKey}). */
  static parse(material: string): OpeningKey {
    return new OpeningKey(parseSealPrivateKey(material));
  }

  /**
   * libsodium `crypto_box_seal_open`: the plaintext, or undefined when the box is too short, its
   * ephemeral key is a low-order point, or the MAC does not verify (tampered, or another key).
   * tweetnacl compares the MAC in constant time.
   */
  open(sealed: Uint8Array): Buffer | undefined {
    if (sealed.length < SEAL_OVERHEAD) return undefined;
    const epk = sealed.subarray(0, 32);
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey: this.#privateKey, publicKey: x25519PublicKeyObject(epk) });
    } catch {
      return undefined; // low-order ephemeral key: OpenSSL refuses the all-zero shared secret
    }
    const key = boxKey(shared);
    shared.fill(0);
    const plain = nacl.secretbox.open(sealed.subarray(32), sealNonce(epk, this.publicKey), key);
    key.fill(0);
    return plain ? Buffer.from(plain) : undefined;
  }

  /** Opens an attribute value `nis2enc:1:<kid>:<base64url>`; says why when it cannot. */
  openString(value: string): OpenResult {
    if (!value.startsWith(SEALED_PREFIX)) {
      return isSealedValue(value)
        ? { ok: false, reason: 'unsupported-version', detail: `sealed-value version '${value.split(':')[1] ?? ''}' is not supported (this tool reads nis2enc:1)` }
        : { ok: false, reason: 'malformed', detail: 'not a sealed value' };
    }
    const token = parseSealedToken(value);
    if (!token) return { ok: false, reason: 'malformed', detail: 'not of the form nis2enc:1:<kid>:<base64url>' };
    if (token.kid !== this.kid) return { ok: false, reason: 'other-key', detail: `sealed to key ${token.kid}, not to this key (${this.kid})` };
    const plain = this.open(token.box);
    if (!plain) return { ok: false, reason: 'rejected', detail: 'authentication failed: the value was altered, or sealed to another key with the same id' };
    return { ok: true, value: plain.toString('utf8') };
  }
}
