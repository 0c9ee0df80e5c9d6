import { Redis } from 'ioredis';
import type { SecurityEventEmitter } from '../events/emitter.js';
import { ATTR_NIS2_DEFENSE, ATTR_NIS2_DEGRADED_MS, ATTR_NIS2_REASON, EVENT_DEFENSE_DEGRADED, EVENT_DEFENSE_RECOVERED } from '../semconv.js';

/** A short machine reason (`nis2.reason`), never a raw driver message. */
function redisReason(err: unknown): string {
  const text = err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}` : '';
  if (/ECONNREFUSED/.test(text)) return 'connection_refused';
  if (/timed? ?out/i.test(text)) return 'timeout';
  if (/not writeable|enableOfflineQueue|not ready|Connection is closed/i.test(text)) return 'disconnected';
  if (/NOAUTH|WRONGPASS/.test(text)) return 'auth_failed';
  return err === undefined ? 'unavailable' : 'error';
}

/** Settings of the shared store connection. */
export interface RedisStoreOptions {
  readonly url: string;
  readonly commandTimeoutMs: number;
  readonly keyPrefix: string;
}

/**
 * One ioredis connection for every defense that shares state, plus its health as the defenses see
 * it. Commands fail fast instead of queueing while disconnected (`enableOfflineQueue: false`,
 * `commandTimeout`), so an outage never stalls requests or piles up pending commands; ioredis keeps
 * reconnecting in the background. The first failure of an outage emits `nis2.defense.degraded`,
 * the first success after it `nis2.defense.recovered` — one pair per outage, not one per request.
 */
export class RedisStore {
  readonly client: Redis;
  readonly keyPrefix: string;
  readonly #emitter: SecurityEventEmitter;
  #degraded = false;
  #degradedSince = 0;
  #everReady = false;
  /** Failed commands since start, for stats and tests. */
  failures = 0;

  constructor(options: RedisStoreOptions, emitter: SecurityEventEmitter) {
    this.#emitter = emitter;
    this.keyPrefix = options.keyPrefix;
    this.client = new Redis(options.url, {
      enableOfflineQueue: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(1000, options.commandTimeoutMs * 4),
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      lazyConnect: false,
    });
    // Connection errors are reported through the health events; an unhandled 'error' would crash.
    this.client.on('error', () => this.reportFailure('connection'));
    this.client.on('ready', () => {
      this.#everReady = true;
      this.reportSuccess();
    });
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  reportFailure(component: string, err?: unknown): void {
    this.failures++;
    // Before the first connection, a command fails fast by design; that is start-up, not an outage
    // (a refused connection still reports through the client's 'error' event).
    if (this.#degraded || (!this.#everReady && component !== 'connection')) return;
    this.#degraded = true;
    this.#degradedSince = Date.now();
    this.#emitter.emit({
      name: EVENT_DEFENSE_DEGRADED,
      severity: 'ERROR',
      attrs: {
        [ATTR_NIS2_DEFENSE]: 'redis',
        'nis2.component': component,
        [ATTR_NIS2_REASON]: redisReason(err),
      },
    });
  }

  reportSuccess(): void {
    if (!this.#degraded) return;
    this.#degraded = false;
    this.#emitter.emit({
      name: EVENT_DEFENSE_RECOVERED,
      severity: 'INFO',
      attrs: { [ATTR_NIS2_DEFENSE]: 'redis', [ATTR_NIS2_DEGRADED_MS]: Date.now() - this.#degradedSince },
    });
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
