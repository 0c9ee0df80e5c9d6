import { KeyFormatError } from '../../integrity/keys.js';
import { DEFAULT_PII_FIELDS } from '../../privacy/pii.js';
import { parseSealPublicKey } from '../../privacy/seal.js';
import { ValueError, parseEnum, parseStringList } from '../parse-values.js';
import type { KeySpec } from '../schema.js';

function parseSealKey(value: unknown): Buffer {
  if (typeof value !== 'string' || value.trim() === '') throw new ValueError('expected the X25519 public key from `nis2-otel keygen --encryption` (base64url)');
  try {
    return parseSealPublicKey(value);
  } catch (err) {
    if (err instanceof KeyFormatError) throw new ValueError(`${err.message}; generate a key pair with \`nis2-otel keygen --encryption\``);
    throw err;
  }
}

// Attribute names as the event catalogue writes them; `.hash` names are the pseudonyms themselves.
const FIELD = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/;
// Sealing these would make records unreadable for the verifier or the SIEM pipelines.
const RESERVED = /^(?:nis2\.|security_rule\.|http\.|url\.|event\.)/;

function parsePiiFields(value: unknown): string[] {
  const fields = parseStringList(value);
  for (const f of fields) {
    if (!FIELD.test(f)) throw new ValueError(`'${f}' is not an attribute name such as 'user.email'`);
    if (f.endsWith('.hash')) throw new ValueError(`'${f}' is a pseudonym, not a value: list '${f.slice(0, -5)}'`);
    if (RESERVED.test(f)) throw new ValueError(`'${f}' is not personal data the package may seal (nis2.*, security_rule.*, http.*, url.* and event.* stay readable)`);
  }
  return fields;
}

/** Configuration keys of sealed PII (documented in the README table like every key). */
export const PRIVACY_KEYS: readonly KeySpec[] = [
  { key: 'privacy.seal', env: 'NIS2_PII_SEAL', defaultValue: 'auto', parse: parseEnum('auto', 'on', 'off'),
    doc: '`auto`: PII attributes are sealed when `privacy.sealKey` is set, else dropped (only their pseudonyms stay). `on` requires the key; `off` always drops them.' },
  { key: 'privacy.sealKey', env: 'NIS2_PII_PUBLIC_KEY', parse: parseSealKey, defaultText: 'none',
    doc: "The investigator's X25519 public key (base64url, from `nis2-otel keygen --encryption`). PII values become `nis2enc:1:<kid>:<sealed box>` that only the private key opens (`nis2-otel decrypt`); the app never holds the private key." },
  { key: 'privacy.piiFields', env: 'NIS2_PII_FIELDS', defaultValue: [...DEFAULT_PII_FIELDS], parse: parsePiiFields,
    doc: 'Attributes treated as personal data: sealed (or dropped), each with a keyed pseudonym `<field>.hash`. `user.id` and `user.name` are protected even when not listed. `client.address.raw` is the full client address, kept sealed next to the anonymised `client.address` only while sealing is on (leave it out to keep no full address at all).' },
];

/** Options of sealed PII, as accepted in code and in the config file. */
export interface PrivacyOptions {
  privacy?: {
    ipv4Prefix?: number | string; ipv6Prefix?: number | string; pseudonymKey?: string;
    seal?: 'auto' | 'on' | 'off'; sealKey?: string; piiFields?: string | string[];
  };
}
