import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Nis2Config } from '../config/load.js';
import { createIpListsDefense } from './ip-lists.js';
import { createMfaDefense } from './mfa.js';
import { LoginDefense } from './login.js';
import { RateLimitDefense } from './rate-limit.js';
import { createTorDefense } from './tor.js';
import { SessionGuardDefense, type SessionHijackHook } from './session-guard.js';
import { TelemetryEndpoint } from './telemetry.js';
import type { Defense, DefenseDeps } from './types.js';

/** Extra objects given in code that a defense may use (they are not config values). */
export interface DefenseExtras {
  readonly rateLimiter?: RateLimiterAbstract;
  readonly onSessionHijack?: SessionHijackHook;
}

/** A defense factory: returns undefined when the defense is off. */
export type DefenseFactory = (config: Nis2Config, deps: DefenseDeps, extras: DefenseExtras) => Defense | undefined;

/**
 * The defenses in the order DESIGN §2 runs them: cheap address checks first (allow/deny lists, Tor),
 * then the request-content checks (MFA gate, session guard), then the rate limiter. A defense that
 * is off is left out entirely, so it costs nothing per request.
 */
export const DEFENSE_FACTORIES: readonly DefenseFactory[] = [
  createIpListsDefense, createTorDefense,
  (config, deps) => (config.values.get('telemetry.mode') === 'on' ? new TelemetryEndpoint(config, deps) : undefined),
  (config, deps) => createMfaDefense(config, deps),
  (config, deps, extras) => ((config.values.get('session.mode') ?? config.mode) === 'off' ? undefined : new SessionGuardDefense(config, deps, extras.onSessionHijack)),
  (config, deps) => {
    const routes = config.values.get('login.routes') as unknown[];
    if (routes.length === 0 || config.values.get('login.mode') === 'off') return undefined;
    return new LoginDefense(config, deps, deps.pseudonymizer);
  },
  (config, deps, extras) => (config.rateLimit.mode === 'off' ? undefined : new RateLimitDefense(config, deps.now, extras.rateLimiter, deps.redis)),
];

export function createDefenses(config: Nis2Config, deps: DefenseDeps, extras: DefenseExtras = {}): Defense[] {
  const out: Defense[] = [];
  for (const factory of DEFENSE_FACTORIES) {
    const d = factory(config, deps, extras);
    if (d) out.push(d);
  }
  return out;
}
