// The records every SIEM test sends: the shared vectors (Ed25519-signed stream; chain-mode access
// records with a U+2028 in a path; non-ASCII and an emoji in a user agent) plus a stream signed
// here with every security event type the mappings distinguish.
import { parseEnvelope, readEnvelopeLines, type Envelope } from './envelopes.ts';
import { securityStream } from './sign.ts';

export interface Fixture {
  bodies: string[];
  byKey: Map<string, { body: string; env: Envelope }>;
}

export const key = (stream: string, seq: number): string => `${stream}#${seq}`;

export function allFixtures(): Fixture {
  const bodies = [
    ...readEnvelopeLines('valid-signed.jsonl'),
    ...readEnvelopeLines('valid-chain.jsonl'),
    ...securityStream(),
  ];
  const byKey = new Map<string, { body: string; env: Envelope }>();
  for (const body of bodies) {
    const env = parseEnvelope(body);
    byKey.set(key(env.stream, env.seq), { body, env });
  }
  return { bodies, byKey };
}

/** Finds the first fixture record of an event type (optionally matching an attribute). */
export function pick(fx: Fixture, event: string, attr?: [string, unknown]): { body: string; env: Envelope } {
  for (const v of fx.byKey.values()) {
    if (v.env.event !== event) continue;
    if (attr !== undefined && v.env.attrs[attr[0]] !== attr[1]) continue;
    return v;
  }
  throw new Error(`no fixture for ${event}`);
}
