// Test input: signed envelopes from the shared envelope-v1 vectors, and a small independent
// verifier (RFC 8785 canonical form, Ed25519, hash chain) used to prove that what a SIEM mock
// received still verifies. The package's own `nis2-otel verify` is the real tool; this copy keeps
// the collector suite independent of the package build.
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '../../../..');

export function vectorsDir(): string {
  const candidates = [
    process.env.NIS2_VECTORS_DIR,
    resolve(REPO_ROOT, '../shared/vectors/envelope-v1'),
    resolve(REPO_ROOT, 'shared/vectors/envelope-v1'),
    '/work/shared/vectors/envelope-v1',
  ].filter((p): p is string => typeof p === 'string' && p !== '');
  for (const c of candidates) if (existsSync(join(c, 'valid-signed.jsonl'))) return c;
  throw new Error(`envelope-v1 vectors not found (looked in ${candidates.join(', ')}); set NIS2_VECTORS_DIR`);
}

/** The exact body strings of a JSONL vector file. Splits on "\n" only (U+2028 is data). */
export function readEnvelopeLines(file: string): string[] {
  const text = readFileSync(join(vectorsDir(), file), 'utf8');
  return text.split('\n').filter((l) => l !== '');
}

export interface Envelope {
  v: number;
  stream: string;
  seq: number;
  ts: string;
  event: string;
  severity: string;
  attrs: Record<string, unknown>;
  prev: string;
  kid: string;
  alg: string;
  sig?: string;
}

export function parseEnvelope(body: string): Envelope {
  return JSON.parse(body) as Envelope;
}

/** RFC 8785: ECMAScript serialisation of primitives, object keys sorted by UTF-16 code units. */
export function jcs(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => jcs(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(obj[k])}`).join(',')}}`;
}

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}

export interface VerifyResult {
  ok: boolean;
  problems: string[];
  streams: number;
  records: number;
}

/**
 * Verifies bodies as an investigator would after exporting them from a SIEM: each body must be
 * canonical (RFC 8785), signed records must verify with the stream's public key (from its
 * stream_start), and per stream the seq must run 0..n without gaps and every prev must be the
 * SHA-256 of the previous body's bytes. `chain` records are covered by that hash chain.
 */
export function verifyBodies(bodies: string[]): VerifyResult {
  const problems: string[] = [];
  const byStream = new Map<string, { env: Envelope; body: string }[]>();
  for (const body of bodies) {
    let env: Envelope;
    try {
      env = parseEnvelope(body);
    } catch {
      problems.push(`not JSON: ${body.slice(0, 60)}`);
      continue;
    }
    if (jcs(env) !== body) problems.push(`${env.stream}#${env.seq}: not canonical (RFC 8785)`);
    const list = byStream.get(env.stream) ?? [];
    list.push({ env, body });
    byStream.set(env.stream, list);
  }
  for (const [stream, list] of byStream) {
    list.sort((a, b) => a.env.seq - b.env.seq);
    const start = list[0];
    let key: ReturnType<typeof createPublicKey> | undefined;
    if (start !== undefined && start.env.event === 'nis2.integrity.stream_start') {
      const pub = start.env.attrs['nis2.public_key'];
      if (typeof pub === 'string') key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub }, format: 'jwk' });
    }
    let prevBody: string | undefined;
    list.forEach(({ env, body }, i) => {
      if (env.seq !== i) problems.push(`${stream}: expected seq ${i}, got ${env.seq}`);
      const expectPrev = prevBody === undefined ? '' : b64url(createHash('sha256').update(prevBody, 'utf8').digest());
      if (env.prev !== expectPrev) problems.push(`${stream}#${env.seq}: prev does not match the previous record`);
      if (env.alg === 'Ed25519') {
        if (key === undefined) problems.push(`${stream}#${env.seq}: no public key (no stream_start)`);
        else {
          const { sig, ...unsigned } = env;
          const ok = typeof sig === 'string' && cryptoVerify(null, Buffer.from(jcs(unsigned), 'utf8'), key, Buffer.from(sig, 'base64url'));
          if (!ok) problems.push(`${stream}#${env.seq}: bad signature`);
        }
      } else if (env.alg !== 'chain') {
        problems.push(`${stream}#${env.seq}: unexpected alg ${env.alg}`);
      }
      prevBody = body;
    });
    const last = list[list.length - 1];
    if (last !== undefined && last.env.event !== 'nis2.integrity.stream_end') problems.push(`${stream}: not closed (no stream_end)`);
  }
  return { ok: problems.length === 0, problems, streams: byStream.size, records: bodies.length };
}
