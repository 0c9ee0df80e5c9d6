import { createHmac, randomBytes } from 'node:crypto';

/**
 * Keyed pseudonyms (`<field>.hash`): the same value always maps to the same 22-character token
 * under one key, so a SIEM can correlate records without ever seeing the value. Without a
 * configured key they are stable only for the life of the process.
 */
export class Pseudonymizer {
  readonly #key: Buffer;

  constructor(key?: string) {
    this.#key = key ? Buffer.from(key, 'utf8') : randomBytes(32);
  }

  hash(value: string): string {
    return createHmac('sha256', this.#key).update(value, 'utf8').digest('base64url').slice(0, 22);
  }

  /** The pseudonym as two uint32 halves, for the bounded counters. */
  halves(value: string): { hi: number; lo: number } {
    const d = createHmac('sha256', this.#key).update(value, 'utf8').digest();
    return { hi: d.readUInt32BE(0), lo: d.readUInt32BE(4) };
  }
}
