import type { Nis2Config } from '../config/load.js';
import { torSettings, type TorSettings } from '../config/keys/tor.js';
import {
  ATTR_NIS2_ACTION, ATTR_NIS2_IP_LIST_AGE_S, ATTR_NIS2_IP_LIST_NAME, ATTR_NIS2_IP_LIST_SIZE, ATTR_NIS2_REASON,
  ATTR_SECURITY_RULE_CATEGORY, ATTR_SECURITY_RULE_NAME, EVENT_TOR_BLOCKED,
} from '../semconv.js';
import { parseSource } from '../threat-intel/source.js';
import { ThreatList } from '../threat-intel/threat-list.js';
import type { Defense, DefenseDeps, RequestContext, Verdict } from './types.js';

export const TOR_RULE = 'tor_exit_node';
export const TOR_CATEGORY = 'threat_intel';
export const TOR_REASON = 'tor_exit_node';
export const TOR_LIST_NAME = 'tor_exit';

/**
 * Blocks (or, in monitor mode, reports) requests whose client address is a Tor exit node. The list
 * is a {@link ThreatList}: loaded from its cache or file before the first request, refreshed in
 * the background, swapped whole. The check is one O(1) hash lookup on the address string the
 * guard already has; a verdict is made only for a hit.
 */
export class TorDefense implements Defense {
  readonly name = 'tor';
  readonly list: ThreatList;
  readonly #mode: 'enforce' | 'monitor';

  constructor(settings: TorSettings, deps: Pick<DefenseDeps, 'emitter' | 'now'>) {
    if (settings.mode === 'off') throw new Error('TorDefense built while tor.mode is off');
    this.#mode = settings.mode;
    const source = parseSource(settings.source);
    this.list = new ThreatList({
      name: TOR_LIST_NAME,
      defense: this.name,
      rule: TOR_RULE,
      source,
      cacheFile: source.kind === 'url' ? settings.cacheFile : undefined,
      refreshIntervalMs: settings.refreshIntervalMs,
      staleAfterMs: settings.staleAfterMs,
      emitter: deps.emitter,
      now: deps.now,
    });
    this.list.start();
  }

  check(ctx: RequestContext): Verdict | undefined {
    const matcher = this.list.matcher;
    if (matcher.indexOf(ctx.ip) < 0) return undefined;
    const action = this.#mode === 'enforce' ? 'block' : 'monitor';
    return {
      action,
      rule: TOR_RULE,
      category: TOR_CATEGORY,
      status: 403,
      reason: TOR_REASON,
      event: EVENT_TOR_BLOCKED,
      severity: 'WARN',
      aggregateKey: `tor|${ctx.ip}`,
      attrs: {
        [ATTR_SECURITY_RULE_NAME]: TOR_RULE,
        [ATTR_SECURITY_RULE_CATEGORY]: TOR_CATEGORY,
        [ATTR_NIS2_ACTION]: action,
        [ATTR_NIS2_REASON]: TOR_REASON,
        [ATTR_NIS2_IP_LIST_NAME]: TOR_LIST_NAME,
        [ATTR_NIS2_IP_LIST_SIZE]: matcher.size,
        [ATTR_NIS2_IP_LIST_AGE_S]: this.list.ageSeconds() ?? -1,
      },
    };
  }

  close(): void {
    this.list.close();
  }
}

/** Registry factory: the Tor defense, or undefined when `tor.mode` resolves to `off`. */
export function createTorDefense(config: Nis2Config, deps: DefenseDeps): TorDefense | undefined {
  const settings = torSettings(config);
  return settings.mode === 'off' ? undefined : new TorDefense(settings, deps);
}
