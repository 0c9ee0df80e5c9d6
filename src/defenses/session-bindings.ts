import type { RedisStore } from '../store/redis.js';

/** What a session was first seen with. */
export interface Binding {
  readonly ip: string;
  readonly ua: string;
}

/** Where bindings live: per process (bounded, idle TTL) or shared through Redis. */
export interface BindingStore {
  /** Returns the binding, or stores `observed` as the binding when there is none (first sight). */
  bind(sessionHash: string, observed: Binding, nowMs: number): Binding | undefined | Promise<Binding | undefined>;
}

interface Entry extends Binding {
  seen: number;
}

/**
 * Per-process bindings: a Map used as an LRU (re-inserted on every hit, so insertion order is
 * recency), bounded by `maxSessions`, each forgotten after `idleTtlMs` without a request.
 */
export class MemoryBindingStore implements BindingStore {
  readonly #map = new Map<string, Entry>();
  readonly #max: number;
  readonly #ttl: number;

  constructor(maxSessions: number, idleTtlMs: number) {
    this.#max = maxSessions;
    this.#ttl = idleTtlMs;
  }

  get size(): number {
    return this.#map.size;
  }

  bind(sessionHash: string, observed: Binding, nowMs: number): Binding | undefined {
    const entry = this.#map.get(sessionHash);
    if (entry !== undefined && nowMs - entry.seen <= this.#ttl) {
      this.#map.delete(sessionHash);
      entry.seen = nowMs;
      this.#map.set(sessionHash, entry);
      return entry;
    }
    if (entry !== undefined) this.#map.delete(sessionHash);
    if (this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
    this.#map.set(sessionHash, { ip: observed.ip, ua: observed.ua, seen: nowMs });
    return undefined;
  }
}

/**
 * Bindings shared by every instance: `SET key value PX ttl NX` binds on first sight atomically (two
 * instances racing on one new session agree on one binding), later requests read it and push its
 * expiry forward without waiting. A Redis failure falls back to the per-process store.
 */
export class RedisBindingStore implements BindingStore {
  readonly #redis: RedisStore;
  readonly #ttl: number;
  readonly #fallback: MemoryBindingStore;

  constructor(redis: RedisStore, idleTtlMs: number, fallback: MemoryBindingStore) {
    this.#redis = redis;
    this.#ttl = idleTtlMs;
    this.#fallback = fallback;
  }

  async bind(sessionHash: string, observed: Binding, nowMs: number): Promise<Binding | undefined> {
    const key = `${this.#redis.keyPrefix}sess:${sessionHash}`;
    const value = `${observed.ip}|${observed.ua}`;
    const client = this.#redis.client;
    try {
      const created = await client.set(key, value, 'PX', this.#ttl, 'NX');
      this.#redis.reportSuccess();
      if (created === 'OK') return undefined;
      const stored = await client.get(key);
      if (stored === null) return undefined;
      client.pexpire(key, this.#ttl).catch(() => undefined);
      const bar = stored.lastIndexOf('|');
      return { ip: stored.slice(0, bar), ua: stored.slice(bar + 1) };
    } catch (err) {
      this.#redis.reportFailure('session', err);
      return this.#fallback.bind(sessionHash, observed, nowMs);
    }
  }
}
