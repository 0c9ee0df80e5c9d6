import type { LoggerProvider } from '@opentelemetry/api';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { loadConfig, type Nis2Config, type Nis2Options } from '../config/load.js';
import { createDefenses } from '../defenses/registry.js';
import type { SessionHijackHook } from '../defenses/session-guard.js';
import type { Defense } from '../defenses/types.js';
import { SecurityEventEmitter } from '../events/emitter.js';
import { createPiiSealer } from '../privacy/pii.js';
import { Pseudonymizer } from '../privacy/pseudonym.js';
import { RedisStore } from '../store/redis.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { Guard } from './guard.js';
import { patchServers, setActiveGuard, unpatchServers } from './patch-servers.js';

/** Configuration of {@link Nis2Instrumentation}: the package options plus the OTel instrumentation ones. */
export interface Nis2InstrumentationConfig extends InstrumentationConfig {
  /** Package options (highest precedence over `NIS2_*` env and the config file). */
  nis2?: Nis2Options;
  /** A config already loaded (used by `register`, so both halves read one config). */
  resolvedConfig?: Nis2Config;
  /**
   * Emit security events through this LoggerProvider and ignore the global one: `register` pins its
   * own provider so events never depend on a global look-up.
   */
  loggerProvider?: LoggerProvider;
  /**
   * A rate-limiter-flexible limiter for the default policy (e.g. `RateLimiterRedis` shared by
   * several instances, `RateLimiterCluster`); its `points`/`duration` replace `rateLimit.limit`.
   */
  rateLimiter?: RateLimiterAbstract;
  /** Called when the session guard suspects a hijack, e.g. to destroy the server-side session. */
  onSessionHijack?: SessionHijackHook;
}

/**
 * The guard as an OpenTelemetry instrumentation: add it to a NodeSDK's `instrumentations` (next to
 * the HTTP instrumentation) and pair it with {@link createNis2LogProcessor} in `logRecordProcessors`.
 * Enabling patches the http/https/http2 server prototypes; disabling restores them (listeners
 * registered meanwhile pass straight through).
 */
export class Nis2Instrumentation extends InstrumentationBase<Nis2InstrumentationConfig> {
  readonly nis2Config: Nis2Config;
  readonly emitter: SecurityEventEmitter;
  readonly guard: Guard;
  readonly defenses: readonly Defense[];
  /** The shared store, when `redis.url` is set. */
  readonly redis: RedisStore | undefined;
  #pinnedProvider: LoggerProvider | undefined;

  constructor(config: Nis2InstrumentationConfig = {}) {
    // Base constructor may call enable(); the fields it needs are set up in #setup via init order below.
    super(PACKAGE_NAME, PACKAGE_VERSION, { ...config, enabled: false });
    this.nis2Config = config.resolvedConfig ?? loadConfig({ options: config.nis2 });
    this.#pinnedProvider = config.loggerProvider;
    const c = this.nis2Config;
    const pinned = config.loggerProvider?.getLogger(PACKAGE_NAME, PACKAGE_VERSION);
    // Built before the emitter: the PII step needs the same pseudonym key as the guard's `.hash` values.
    const pseudonymizer = new Pseudonymizer(c.values.get('privacy.pseudonymKey') as string | undefined);
    this.emitter = new SecurityEventEmitter({
      logger: () => pinned ?? this.logger,
      privacy: c.privacy,
      budget: c.events.budget,
      aggregateWindowMs: c.events.aggregateWindowMs,
      maxKeys: c.events.maxKeys,
      pii: createPiiSealer(c.values, pseudonymizer),
    });
    const redisUrl = c.values.get('redis.url') as string | undefined;
    this.redis = redisUrl
      ? new RedisStore({ url: redisUrl, commandTimeoutMs: c.values.get('redis.commandTimeout') as number, keyPrefix: c.values.get('redis.keyPrefix') as string }, this.emitter)
      : undefined;
    const defenses = createDefenses(c, { emitter: this.emitter, now: Date.now, redis: this.redis, pseudonymizer }, { rateLimiter: config.rateLimiter, onSessionHijack: config.onSessionHijack });
    this.defenses = defenses;
    this.guard = new Guard(c, this.emitter, defenses, pseudonymizer);
    if (config.enabled !== false) this.enable();
  }

  protected init(): [] {
    // Nothing to hook by module name: the server prototypes are patched directly in enable().
    return [];
  }

  override setLoggerProvider(provider: LoggerProvider): void {
    if (this.#pinnedProvider === undefined) super.setLoggerProvider(provider);
  }

  override enable(): void {
    // InstrumentationBase's constructor calls enable() before subclass fields exist.
    if (this.guard === undefined) return;
    super.enable();
    patchServers();
    setActiveGuard(this.guard);
  }

  override disable(): void {
    if (this.guard === undefined) return;
    setActiveGuard(undefined);
    unpatchServers();
    super.disable();
  }

  /** Stops the defenses' background work (list refreshes, store connections). */
  async closeDefenses(): Promise<void> {
    await Promise.allSettled(this.defenses.map((d) => d.close?.()));
    await this.redis?.close();
  }

  /** Flushes flood-control summaries and queued events into the log pipeline. */
  flushEvents(): void {
    this.emitter.close();
  }
}
