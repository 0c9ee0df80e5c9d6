import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { RedisStore } from '../store/redis.js';
import { slidingRetryMs, type WindowHit } from './window-store.js';

/**
 * The fixed/sliding window counter of {@link WindowStore}, kept in Redis so every instance shares
 * one limit. Each window's count is an atomic rate-limiter-flexible counter (`RateLimiterRedis`,
 * one INCR+PEXPIRE script per hit) under `<prefix><policy>:<client>:<window index>`, living two
 * windows so the sliding estimate can weigh the previous one; the decision is made here from the
 * two counts, exactly as in memory. The limiter's own `points` is set out of reach: it only counts.
 */
export class SharedWindowStore {
  readonly #limiter: RateLimiterRedis;
  readonly #store: RedisStore;
  readonly #points: number;
  readonly #windowMs: number;
  readonly #sliding: boolean;

  constructor(store: RedisStore, options: { policy: string; points: number; windowMs: number; sliding: boolean }) {
    this.#store = store;
    this.#points = options.points;
    this.#windowMs = options.windowMs;
    this.#sliding = options.sliding;
    this.#limiter = new RateLimiterRedis({
      storeClient: store.client,
      keyPrefix: `${store.keyPrefix}rl:${options.policy}`,
      points: 0x7fff_ffff,
      duration: Math.ceil((2 * options.windowMs) / 1000),
      rejectIfRedisNotReady: true,
    });
  }

  /** Counts one hit; rejects when Redis failed (the caller falls back per `redis.failOpen`). */
  async hit(client: string, nowMs: number): Promise<WindowHit> {
    const w = this.#windowMs;
    const idx = Math.floor(nowMs / w);
    const [res, prevRes] = await Promise.all([
      this.#limiter.consume(`${client}:${idx}`),
      this.#sliding ? this.#limiter.get(`${client}:${idx - 1}`) : Promise.resolve(null),
    ]).catch((err: unknown) => {
      this.#store.reportFailure('rate_limit', err);
      throw err;
    });
    this.#store.reportSuccess();
    const curr = res.consumedPoints - 1;
    const prev = prevRes?.consumedPoints ?? 0;
    const elapsed = nowMs - idx * w;
    const used = this.#sliding && prev > 0 ? curr + prev * ((w - elapsed) / w) : curr;
    const resetMs = w - elapsed;
    if (used + 1 <= this.#points) {
      return { allowed: true, remaining: Math.max(0, Math.floor(this.#points - used - 1)), retryAfterMs: 0, resetMs };
    }
    const retryAfterMs = this.#sliding ? slidingRetryMs(this.#points, w, curr + 1, prev, elapsed) : resetMs;
    return { allowed: false, remaining: 0, retryAfterMs, resetMs };
  }
}
