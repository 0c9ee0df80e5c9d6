import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Nis2Config } from '../config/load.js';
import {
  ATTR_NIS2_ACTION, ATTR_NIS2_RATE_LIMIT_ALGORITHM, ATTR_NIS2_RATE_LIMIT_LIMIT, ATTR_NIS2_RATE_LIMIT_POLICY,
  ATTR_NIS2_RATE_LIMIT_WINDOW_S, ATTR_NIS2_REASON, ATTR_SECURITY_RULE_CATEGORY, ATTR_SECURITY_RULE_NAME,
  EVENT_DEFENSE_DEGRADED, EVENT_RATE_LIMIT_EXCEEDED,
} from '../semconv.js';
import { clientKey, type ClientKey } from './client-key.js';
import type { Defense, RequestContext, Verdict } from './types.js';
import type { RedisStore } from '../store/redis.js';
import { SharedWindowStore } from './shared-window-store.js';
import { WindowStore, type WindowHit } from './window-store.js';

interface Policy {
  readonly name: string;
  /** The route pattern as configured (`POST /login`), `*` for the default policy. */
  readonly route: string;
  readonly methods: readonly string[];
  readonly pattern: RegExp | undefined;
  readonly points: number;
  readonly windowS: number;
  readonly algorithm: 'sliding' | 'fixed';
  /** Per-process counters: the store, or with Redis the insurance used while Redis is out. */
  readonly store: WindowStore;
  /** Counters shared through Redis, when `redis.url` is set. */
  readonly shared: SharedWindowStore | undefined;
  /** Precomputed `RateLimit-Policy` value (draft-ietf-httpapi-ratelimit-headers). */
  readonly policyHeader: string;
}

const NON_IP_KEY: ClientKey = { hi: 0, lo: 0 };

/**
 * Per-client rate limiting with a global default and per-route policies (first match wins). Without
 * Redis it answers synchronously from the bounded in-memory store, so the guard adds no promise to
 * the request path; with `redis.url` the counters are shared by every instance and the in-memory
 * store is the insurance used while Redis is unreachable.
 */
export class RateLimitDefense implements Defense {
  readonly name = 'rate_limit';
  readonly #policies: Policy[];
  readonly #default: Policy;
  readonly #mode: 'enforce' | 'monitor';
  readonly #ipv6Prefix: number;
  readonly #headersOnAllow: boolean;
  readonly #key: ClientKey = { hi: 0, lo: 0 };
  readonly #hit: WindowHit = { allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 };
  readonly #now: () => number;
  readonly #external: RateLimiterAbstract | undefined;
  #externalFailures = 0;

  /**
   * @param external a rate-limiter-flexible limiter (RateLimiterRedis, RateLimiterCluster, …) that
   * replaces the in-memory store of the default policy; per-route policies stay in memory. Its
   * `points`/`duration` are the policy then. A store error lets the request through (fail-open)
   * and is counted in `externalFailures`.
   */
  readonly #failOpen: boolean;

  constructor(config: Nis2Config, now: () => number = Date.now, external?: RateLimiterAbstract, redis?: RedisStore) {
    this.#external = external;
    this.#failOpen = config.values.get('redis.failOpen') !== false;
    const rl = config.rateLimit;
    if (rl.mode === 'off') throw new Error('RateLimitDefense built while rateLimit.mode is off');
    this.#mode = rl.mode;
    this.#ipv6Prefix = rl.ipv6Prefix;
    this.#headersOnAllow = rl.headers;
    this.#now = now;
    const make = (name: string, route: string, methods: readonly string[], pattern: RegExp | undefined, points: number, windowMs: number, algorithm: 'sliding' | 'fixed'): Policy => ({
      name, route, methods, pattern, points, windowS: windowMs / 1000, algorithm,
      store: new WindowStore({ points, windowMs, sliding: algorithm === 'sliding', maxKeys: rl.maxKeys }),
      shared: redis ? new SharedWindowStore(redis, { policy: name, points, windowMs, sliding: algorithm === 'sliding' }) : undefined,
      policyHeader: `"${name}";q=${points};w=${Math.ceil(windowMs / 1000)}`,
    });
    this.#policies = rl.routes.map((r, i) => make(`route${i + 1}`, r.name, r.methods, r.pattern, r.points, r.windowMs, r.algorithm ?? rl.algorithm));
    this.#default = external
      ? make('default', '*', [], undefined, external.points, external.duration * 1000, 'fixed')
      : make('default', '*', [], undefined, rl.points, rl.windowMs, rl.algorithm);
  }

  /** Store errors of the external limiter so far (each one let a request through). */
  get externalFailures(): number {
    return this.#externalFailures;
  }

  /** Stores, for stats and benchmarks. */
  get stores(): WindowStore[] {
    return [...this.#policies.map((p) => p.store), this.#default.store];
  }

  #policyFor(method: string, path: string, alt: string | undefined): Policy {
    for (const p of this.#policies) {
      if ((p.methods.length === 0 || p.methods.includes(method)) && (p.pattern!.test(path) || (alt !== undefined && p.pattern!.test(alt)))) return p;
    }
    return this.#default;
  }

  check(ctx: RequestContext): Verdict | undefined | Promise<Verdict | undefined> {
    const policy = this.#policyFor(ctx.method, ctx.path, ctx.altPath);
    const key = clientKey(ctx.ip, this.#ipv6Prefix, this.#key) ? this.#key : NON_IP_KEY;
    if (policy === this.#default && this.#external) return this.#checkExternal(ctx, policy, `${key.hi}:${key.lo}`);
    if (policy.shared) return this.#checkShared(ctx, policy, { hi: key.hi, lo: key.lo });
    return this.#decideLocal(ctx, policy, key);
  }

  #decideLocal(ctx: RequestContext, policy: Policy, key: ClientKey): Verdict | undefined {
    const hit = policy.store.hit(key.hi, key.lo, this.#now(), this.#hit);
    if (hit.allowed) {
      this.#allowHeaders(ctx, policy, hit.remaining, hit.resetMs);
      return undefined;
    }
    return this.#verdict(policy, key, hit.retryAfterMs);
  }

  #allowHeaders(ctx: RequestContext, policy: Policy, remaining: number, resetMs: number): void {
    if (this.#headersOnAllow) {
      (ctx.headers ??= []).push(['RateLimit-Policy', policy.policyHeader], ['RateLimit', `"${policy.name}";r=${remaining};t=${Math.ceil(resetMs / 1000)}`]);
    }
  }

  /** Shared counters; on a Redis failure, the per-process insurance store or a 503 (`redis.failOpen`). */
  #checkShared(ctx: RequestContext, policy: Policy, key: ClientKey): Promise<Verdict | undefined> {
    return policy.shared!.hit(`${key.hi.toString(36)}.${key.lo.toString(36)}`, this.#now()).then(
      (hit) => {
        if (hit.allowed) {
          this.#allowHeaders(ctx, policy, hit.remaining, hit.resetMs);
          return undefined;
        }
        return this.#verdict(policy, key, hit.retryAfterMs);
      },
      () => (this.#failOpen ? this.#decideLocal(ctx, policy, key) : this.#unavailable(policy)),
    );
  }

  #unavailable(policy: Policy): Verdict {
    return {
      action: this.#mode === 'enforce' ? 'block' : 'monitor',
      rule: 'rate_limit',
      category: 'rate_limiting',
      status: 503,
      reason: 'store_unavailable',
      event: EVENT_DEFENSE_DEGRADED,
      severity: 'ERROR',
      aggregateKey: `rl-unavailable|${policy.name}`,
      attrs: { 'nis2.defense': 'rate_limit', [ATTR_NIS2_RATE_LIMIT_POLICY]: policy.name },
      headers: [['Retry-After', '5']],
    };
  }

  #checkExternal(ctx: RequestContext, policy: Policy, key: string): Promise<Verdict | undefined> {
    const limiter = this.#external!;
    const clientKeyHalves = { hi: this.#key.hi, lo: this.#key.lo };
    return limiter.consume(key).then(
      (res) => {
        this.#allowHeaders(ctx, policy, res.remainingPoints, res.msBeforeNext);
        return undefined;
      },
      (rejection: unknown) => {
        if (rejection instanceof RateLimiterRes) return this.#verdict(policy, clientKeyHalves, rejection.msBeforeNext);
        this.#externalFailures++;
        return undefined;
      },
    );
  }

  #verdict(policy: Policy, key: ClientKey, retryAfterMs: number): Verdict {
    const retryS = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return {
      action: this.#mode === 'enforce' ? 'block' : 'monitor',
      rule: 'rate_limit',
      category: 'rate_limiting',
      status: 429,
      reason: 'limit_exceeded',
      event: EVENT_RATE_LIMIT_EXCEEDED,
      severity: 'WARN',
      aggregateKey: `rl|${policy.name}|${key.hi}:${key.lo}`,
      attrs: {
        [ATTR_SECURITY_RULE_NAME]: 'rate_limit',
        [ATTR_SECURITY_RULE_CATEGORY]: 'rate_limiting',
        [ATTR_NIS2_ACTION]: this.#mode === 'enforce' ? 'block' : 'monitor',
        [ATTR_NIS2_REASON]: 'limit_exceeded',
        [ATTR_NIS2_RATE_LIMIT_LIMIT]: policy.points,
        [ATTR_NIS2_RATE_LIMIT_WINDOW_S]: policy.windowS,
        [ATTR_NIS2_RATE_LIMIT_POLICY]: policy.name,
        'nis2.rate_limit.route': policy.route,
        [ATTR_NIS2_RATE_LIMIT_ALGORITHM]: policy.algorithm,
      },
      headers: [
        ['Retry-After', String(retryS)],
        ['RateLimit-Policy', policy.policyHeader],
        ['RateLimit', `"${policy.name}";r=0;t=${retryS}`],
      ],
    };
  }
}
