import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Span } from '@opentelemetry/api';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** What a defense sees of a request. Built once per request by the guard. */
export interface RequestContext {
  readonly req: AnyRequest;
  /** Undefined for `upgrade` requests (the guard answers on the raw socket). */
  readonly res: AnyResponse | undefined;
  /** Normalised client address (after trusted-proxy resolution). */
  readonly ip: string;
  /** Normalised address of the TCP peer. */
  readonly peer: string;
  /** True when the peer is a configured trusted proxy (headers such proxies set may be believed). */
  readonly viaTrustedProxy: boolean;
  readonly method: string;
  /** Path without query string, normalised (see `src/net/path.ts`). */
  readonly path: string;
  /**
   * The path with dot segments kept literally, when that differs from `path` (`/admin/..`):
   * route policies match if either spelling matches, so no router's reading escapes them.
   */
  readonly altPath?: string | undefined;
  readonly span: Span | undefined;
  /** Response headers a defense wants on the response whether it blocks or not. */
  headers: Array<[string, string]> | undefined;
  /** Set by an allow-list match: no further defense runs for this request. */
  bypass: boolean;
}

/**
 * A defense's decision to block (or, in monitor mode, to report what it would have blocked), or
 * `handled`: the defense answered the request itself (the telemetry endpoint) and the app must not run.
 */
export interface Verdict {
  readonly action: 'block' | 'monitor' | 'handled';
  /** `security_rule.name`, e.g. `rate_limit`. */
  readonly rule: string;
  readonly category: string;
  readonly status: number;
  /** Short machine reason, e.g. `limit_exceeded`; safe to show to clients. */
  readonly reason: string;
  readonly event: string;
  readonly severity: 'INFO' | 'WARN' | 'ERROR';
  readonly attrs: Record<string, EnvelopeAttrValue>;
  /** Flood-control key: repeated verdicts with one key are aggregated. */
  readonly aggregateKey: string;
  /** Extra headers for the block response (e.g. Retry-After). */
  readonly headers?: Array<[string, string]>;
}

/** What a defense factory gets besides the config. */
export interface DefenseDeps {
  /** Reports events that are not request verdicts (degraded, recovered, lockouts). */
  readonly emitter: import('../events/emitter.js').SecurityEventEmitter;
  readonly now: () => number;
  /** Keyed pseudonyms for user ids and usernames (one key per process or from config). */
  readonly pseudonymizer: import('../privacy/pseudonym.js').Pseudonymizer;
  /** The shared Redis store when `redis.url` is set. */
  readonly redis: import('../store/redis.js').RedisStore | undefined;
}

/**
 * One defense (STYLE: name, init, check, close). `check` answers synchronously when it can; the
 * guard awaits only thenables, so a sync defense costs no promise.
 */
export interface Defense {
  readonly name: string;
  check(ctx: RequestContext): Verdict | undefined | Promise<Verdict | undefined>;
  close?(): Promise<void> | void;
}
