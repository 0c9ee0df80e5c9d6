// Makes extra signed streams for event types the shared vectors do not contain (auth failures,
// Tor/IP blocks, MFA, session hijack in monitor mode …), signed with the vectors' own Ed25519 key
// so that the same verifier accepts them. Layout follows DESIGN §4: stream_start, events,
// checkpoint, stream_end; every record Ed25519-signed, prev = b64url(sha256(previous body)).
import { createHash, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jcs, vectorsDir } from './envelopes.ts';

interface Keys {
  ed25519: { seed_base64url: string; public_key_base64url: string; kid: string };
}

export interface EventSpec {
  event: string;
  severity: 'INFO' | 'WARN' | 'ERROR' | 'FATAL';
  attrs: Record<string, unknown>;
}

export function signStream(stream: string, events: EventSpec[], startMs = Date.parse('2026-11-25T11:00:00.000Z')): string[] {
  const keys = JSON.parse(readFileSync(join(vectorsDir(), 'keys.json'), 'utf8')) as Keys;
  const { seed_base64url: d, public_key_base64url: x, kid } = keys.ed25519;
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x }, format: 'jwk' });
  const all: EventSpec[] = [
    { event: 'nis2.integrity.stream_start', severity: 'INFO', attrs: { 'nis2.checkpoint.interval_s': 60, 'nis2.public_key': x, 'service.name': 'shop-api' } },
    ...events,
  ];
  const bodies: string[] = [];
  let prev = '';
  const hash = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64url');
  const push = (spec: EventSpec, seq: number): void => {
    const unsigned = {
      v: 1,
      stream,
      seq,
      ts: new Date(startMs + seq * 1500).toISOString(),
      event: spec.event,
      severity: spec.severity,
      attrs: spec.attrs,
      prev,
      kid,
      alg: 'Ed25519',
    };
    const sig = cryptoSign(null, Buffer.from(jcs(unsigned), 'utf8'), key).toString('base64url');
    const body = jcs({ ...unsigned, sig });
    bodies.push(body);
    prev = hash(body);
  };
  all.forEach((spec, i) => push(spec, i));
  const n = all.length;
  push({ event: 'nis2.integrity.checkpoint', severity: 'INFO', attrs: { from: 1, to: n - 1, head: prev } }, n);
  push({ event: 'nis2.integrity.stream_end', severity: 'INFO', attrs: {} }, n + 1);
  return bodies;
}

/** One stream with every security event type the mappings treat specially. */
export function securityStream(stream = 'e2e-security-0001'): string[] {
  return signStream(stream, [
    {
      event: 'nis2.auth.login_failed',
      severity: 'WARN',
      attrs: {
        'client.address': '192.0.2.0',
        'http.request.method': 'POST',
        'url.path': '/login',
        'http.response.status_code': 401,
        'nis2.action': 'block',
        'security_rule.name': 'auth_failure',
        'user.id': 'alice@example.com',
        'session.id': 'hS1bH-5mKp0',
        'user_agent.original': 'curl/8.10 tab\there pipe|caret^eq=back\\slash',
      },
    },
    {
      event: 'nis2.tor.blocked',
      severity: 'ERROR',
      attrs: {
        'client.address': '198.51.100.0',
        'http.request.method': 'GET',
        'url.path': '/admin?x=1&y=2',
        'http.response.status_code': 403,
        'nis2.action': 'block',
        'security_rule.name': 'tor_exit',
        'security_rule.category': 'threat_intel',
      },
    },
    {
      event: 'nis2.session.hijack_suspected',
      severity: 'ERROR',
      attrs: {
        'client.address': '2001:db8:1234::',
        'http.request.method': 'GET',
        'url.path': '/account',
        'nis2.action': 'monitor',
        'security_rule.name': 'session_guard',
        'user.id': 'bob',
        'session.id': 'q9Xx_7aB2c',
      },
    },
    {
      event: 'nis2.mfa.required',
      severity: 'INFO',
      attrs: {
        'client.address': '203.0.113.0',
        'http.request.method': 'GET',
        'url.path': '/admin/keys',
        'http.response.status_code': 303,
        'nis2.action': 'block',
        'security_rule.name': 'mfa_gate',
        'user.id': 'carol',
      },
    },
    {
      event: 'nis2.defense.degraded',
      severity: 'FATAL',
      attrs: { 'nis2.reason': 'redis unavailable, in-memory limiter active', 'security_rule.name': 'rate_limit' },
    },
  ]);
}
