import type { SignatureAlgorithm } from './keys.js';

/** Envelope version this package writes and reads. */
export const ENVELOPE_VERSION = 1;

/** `alg` of a record without a signature of its own, covered by the next signed checkpoint. */
export const CHAIN_ALG = 'chain';

/** Scalar attribute values an envelope carries (JSON-safe, finite numbers only). */
export type EnvelopeAttrValue = string | number | boolean | null | EnvelopeAttrValue[];

/** The signed envelope of DESIGN §4 (normative). */
export interface Envelope {
  v: number;
  stream: string;
  seq: number;
  ts: string;
  event: string;
  severity: string;
  attrs: Record<string, EnvelopeAttrValue>;
  prev: string;
  kid: string;
  alg: SignatureAlgorithm | typeof CHAIN_ALG;
  sig?: string;
}

/** Event names of the integrity records the signer writes itself. */
export const INTEGRITY_EVENTS = {
  streamStart: 'nis2.integrity.stream_start',
  checkpoint: 'nis2.integrity.checkpoint',
  streamEnd: 'nis2.integrity.stream_end',
} as const;
