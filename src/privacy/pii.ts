import { Nis2Error } from '../errors.js';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';
import { warnOnce } from '../warn.js';
import { Pseudonymizer } from './pseudonym.js';
import { SealingKey } from './seal.js';

/**
 * The raw client address, kept next to the anonymised `client.address` only when sealing is on,
 * so an investigator holding the private key can recover it; it never appears in clear.
 */
export const ATTR_CLIENT_ADDRESS_RAW = 'client.address.raw';

/**
 * Attributes the package itself fills with a raw value (`setUser`, login tracking): always
 * protected, whatever `privacy.piiFields` lists, so narrowing the list can never put them in clear.
 */
export const ALWAYS_PII_FIELDS: readonly string[] = ['user.id', 'user.name'];

/** Attributes treated as personal data unless `privacy.piiFields` says otherwise. */
export const DEFAULT_PII_FIELDS: readonly string[] = [...ALWAYS_PII_FIELDS, 'user.email', ATTR_CLIENT_ADDRESS_RAW];

/**
 * Bytes of a value that are sealed; longer values are cut (the pseudonym still covers the whole
 * value). Bounds what one attacker-chosen value (a username, a user id) costs in every record.
 */
export const MAX_SEALED_BYTES = 1024;

/** Options of {@link PiiSealer}. */
export interface PiiSealerOptions {
  /** Attribute names to protect (plus {@link ALWAYS_PII_FIELDS}). Defaults to {@link DEFAULT_PII_FIELDS}. */
  readonly fields?: readonly string[];
  /** The investigator's public key; without it PII values are dropped and only pseudonyms stay. */
  readonly sealingKey?: SealingKey;
  /** Keyed pseudonyms for `<field>.hash`; defaults to one with a random per-process key. */
  readonly pseudonymizer?: Pseudonymizer;
}

/**
 * The PII step of the event pipeline (DESIGN §2, after IP anonymisation, before signing): each
 * configured attribute that holds a value is replaced by its sealed form
 * `nis2enc:1:<kid>:<base64url>` (or removed when no sealing key is configured), and a keyed
 * pseudonym `<field>.hash` is added so a SIEM can still correlate records without decrypting.
 *
 * Every value is sealed, including one that already looks sealed: a user could otherwise choose a
 * name such as `nis2enc:1:…` and have it pass through in clear.
 */
export class PiiSealer {
  /** Whether values are sealed (true) or dropped (false). */
  readonly sealing: boolean;
  /** Key id of the sealing key, when sealing. */
  readonly kid: string | undefined;
  /** Whether the emitter should keep the raw client address (sealed) next to the anonymised one. */
  readonly sealsRawClientAddress: boolean;
  readonly #fields: readonly string[];
  readonly #hashNames: readonly string[];
  readonly #key: SealingKey | undefined;
  readonly #pseudo: Pseudonymizer;

  constructor(options: PiiSealerOptions = {}) {
    this.#fields = [...new Set([...ALWAYS_PII_FIELDS, ...(options.fields ?? DEFAULT_PII_FIELDS)])];
    this.#hashNames = this.#fields.map((f) => `${f}.hash`);
    this.#key = options.sealingKey;
    this.#pseudo = options.pseudonymizer ?? new Pseudonymizer();
    this.sealing = this.#key !== undefined;
    this.kid = this.#key?.kid;
    this.sealsRawClientAddress = this.sealing && this.#fields.includes(ATTR_CLIENT_ADDRESS_RAW);
  }

  /** The attributes protected, in order. */
  get fields(): readonly string[] {
    return this.#fields;
  }

  /** Seals (or drops) the PII attributes of one event in place and adds their pseudonyms. */
  apply(attrs: Record<string, EnvelopeAttrValue>): void {
    const fields = this.#fields;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const value = attrs[field];
      if (value === undefined || value === null) continue;
      const text = typeof value === 'string' ? value : Array.isArray(value) ? JSON.stringify(value) : String(value);
      const hashName = this.#hashNames[i]!;
      // A pseudonym already written (by the guard, with the same key) is kept as it is.
      if (attrs[hashName] === undefined) attrs[hashName] = this.#pseudo.hash(text);
      if (this.#key) {
        try {
          attrs[field] = this.#key.sealString(capUtf8(text));
        } catch (err) {
          // Never the raw value, and never an exception out of the drain (it would lose the queue).
          delete attrs[field];
          warnOnce('NIS2_WRN_PII_SEAL_FAILED', `a PII value could not be sealed (${(err as Error).message}); it was dropped and its pseudonym kept`);
        }
      } else {
        delete attrs[field];
      }
    }
  }
}

/**
 * Builds the PII step from the parsed `privacy.*` keys (see src/config/keys/privacy.ts), sharing the
 * guard's pseudonymizer so `<field>.hash` matches what the guard and defenses write.
 */
export function createPiiSealer(values: ReadonlyMap<string, unknown>, pseudonymizer: Pseudonymizer): PiiSealer {
  const mode = values.get('privacy.seal') as 'auto' | 'on' | 'off';
  const raw = values.get('privacy.sealKey') as Buffer | undefined;
  if (mode === 'on' && raw === undefined) {
    throw new Nis2Error('NIS2_ERR_CONFIG_INVALID', "privacy.seal (NIS2_PII_SEAL) is 'on' but privacy.sealKey (NIS2_PII_PUBLIC_KEY) is not set; give the investigator's public key from `nis2-otel keygen --encryption`");
  }
  return new PiiSealer({
    fields: values.get('privacy.piiFields') as string[],
    pseudonymizer,
    ...(mode !== 'off' && raw !== undefined && { sealingKey: new SealingKey(raw) }),
  });
}

function capUtf8(text: string): string {
  // One UTF-16 unit is at most 3 UTF-8 bytes: short strings skip the byte count.
  if (text.length * 3 <= MAX_SEALED_BYTES) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= MAX_SEALED_BYTES) return text;
  let end = MAX_SEALED_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // never split a character
  return bytes.toString('utf8', 0, end);
}
