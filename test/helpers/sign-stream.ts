// A test-only envelope writer, independent of the package's StreamSigner, so verifier tests do not
// assume the signer is right. It builds whole objects and serialises them with the JCS library.
import { canonicalJson } from '../../dist/esm/integrity/canonical.js';
import { hashBody } from '../../dist/esm/integrity/encoding.js';
import type { SigningKey } from '../../dist/esm/integrity/keys.js';

export type Env = {
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
};

export type StreamOptions = {
  key: SigningKey;
  /** `signed`: every record signed; `chain`: access records chained, covered by checkpoints. */
  mode: 'signed' | 'chain';
  /** Event records to write. */
  events: number;
  /** A checkpoint after this many events (and before the end, when events are pending). */
  checkpointEvery?: number;
  intervalS?: number;
  /** Write stream_end. Defaults to true. */
  end?: boolean;
  stream?: string;
  startMs?: number;
  stepMs?: number;
  /** Overrides the ts of given event numbers (1-based), e.g. to make the clock go backwards. */
  tsOf?: (eventNo: number, defaultMs: number) => number;
  /** Extra attributes for event number i (1-based). */
  attrsOf?: (eventNo: number) => Record<string, unknown>;
};

/** Signs `env` (without sig) with `key`, in place; chain records stay unsigned. */
export function sign(env: Env, key: SigningKey): Env {
  delete env.sig;
  if (env.alg !== 'chain') env.sig = key.sign(Buffer.from(canonicalJson(env), 'utf8')).toString('base64url');
  return env;
}

export function serialize(env: Env): string {
  return canonicalJson(env);
}

/** Writes a whole stream and returns the bodies in seq order. */
export function signStream(options: StreamOptions): string[] {
  const { key, mode } = options;
  const stream = options.stream ?? `test-${mode}-${Math.random().toString(36).slice(2, 10)}`;
  const startMs = options.startMs ?? Date.parse('2026-11-25T10:00:00.000Z');
  const stepMs = options.stepMs ?? 100;
  const every = options.checkpointEvery ?? 3;
  const bodies: string[] = [];
  let prev = '';
  let nowMs = startMs;
  let events = 0;
  let coveredTo = 0;
  const push = (event: string, severity: string, attrs: Record<string, unknown>, chain: boolean, ms = nowMs): void => {
    const env: Env = {
      v: 1,
      stream,
      seq: bodies.length,
      ts: new Date(ms).toISOString(),
      event,
      severity,
      attrs,
      prev,
      kid: key.kid,
      alg: chain ? 'chain' : key.alg,
    };
    const body = serialize(sign(env, key));
    bodies.push(body);
    prev = hashBody(body);
  };
  const checkpoint = (): void => {
    push('nis2.integrity.checkpoint', 'INFO', { from: coveredTo + 1, head: prev, to: events }, false);
    coveredTo = events;
  };
  const startAttrs: Record<string, unknown> = { 'nis2.checkpoint.interval_s': options.intervalS ?? 60, 'service.name': 'test' };
  if (key.publicKey) startAttrs['nis2.public_key'] = key.publicKey.toString('base64url');
  push('nis2.integrity.stream_start', 'INFO', startAttrs, false);
  for (let i = 1; i <= options.events; i++) {
    nowMs += stepMs;
    const ms = options.tsOf ? options.tsOf(i, nowMs) : nowMs;
    const chain = mode === 'chain';
    push(chain ? 'nis2.http.access' : 'nis2.rate_limit.exceeded', chain ? 'INFO' : 'WARN', {
      'client.address': '198.51.100.0',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'nis2.action': chain ? 'allow' : 'block',
      'url.path': `/item/${i}`,
      'user_agent.original': 'Mozilla/5.0 — “ü” 🚀',
      ...options.attrsOf?.(i),
    }, chain, ms);
    events = i;
    if (i % every === 0) {
      nowMs += stepMs;
      checkpoint();
    }
  }
  if (options.end ?? true) {
    nowMs += stepMs;
    if (events > coveredTo) {
      checkpoint();
      nowMs += stepMs;
    }
    push('nis2.integrity.stream_end', 'INFO', {}, false);
  }
  return bodies;
}

/** Parses a body into a mutable envelope (for tampering). */
export function parse(body: string): Env {
  return JSON.parse(body) as Env;
}
