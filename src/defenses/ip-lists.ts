import { Nis2Error } from '../errors.js';
import type { Nis2Config } from '../config/load.js';
import { ipListsSettings, type IpListsSettings } from '../config/keys/ip-lists.js';
import type { Cidr } from '../net/ip.js';
import {
  ATTR_NIS2_ACTION, ATTR_NIS2_IP_LIST_ENTRY, ATTR_NIS2_IP_LIST_NAME, ATTR_NIS2_IP_LIST_SIZE, ATTR_NIS2_REASON,
  ATTR_SECURITY_RULE_CATEGORY, ATTR_SECURITY_RULE_NAME, EVENT_IP_BLOCKED,
} from '../semconv.js';
import { IpMatcher } from '../threat-intel/ip-set.js';
import { parseSource } from '../threat-intel/source.js';
import { ThreatList } from '../threat-intel/threat-list.js';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';
import type { Defense, DefenseDeps, RequestContext, Verdict } from './types.js';

export const DENY_RULE = 'ip_deny_list';
export const ALLOW_RULE = 'ip_allow_list';
export const IP_LISTS_CATEGORY = 'access_control';
export const DENY_REASON = 'ip_denied';

/** One side (allow or deny): the entries from config plus, optionally, a file kept current. */
class Side {
  readonly inline: IpMatcher;
  readonly file: ThreatList | undefined;

  constructor(name: 'allow' | 'deny', inline: readonly Cidr[], path: string | undefined, settings: IpListsSettings, deps: Pick<DefenseDeps, 'emitter' | 'now'>) {
    this.inline = new IpMatcher(inline);
    if (path === undefined) return;
    this.file = new ThreatList({
      name, defense: 'ip_lists', rule: name === 'allow' ? ALLOW_RULE : DENY_RULE,
      source: parseSource(path),
      refreshIntervalMs: settings.refreshIntervalMs,
      // A hand-kept file does not go stale; it is only re-read when it changes.
      staleAfterMs: 0,
      emitter: deps.emitter,
      now: deps.now,
    });
    if (!this.file.stats.loaded) {
      this.file.close();
      const key = name === 'allow' ? 'ipLists.allowFile (NIS2_IP_ALLOW_FILE)' : 'ipLists.denyFile (NIS2_IP_DENY_FILE)';
      throw new Nis2Error('NIS2_ERR_CONFIG_INVALID', `${key}: cannot read '${path}' as an IP list (${this.file.stats.lastError ?? 'error'}); fix the path or the file`);
    }
    this.file.start();
  }

  get size(): number {
    return this.inline.size + (this.file?.matcher.size ?? 0);
  }

  /** The matching entry, or undefined. */
  match(ip: string): Cidr | undefined {
    return this.inline.match(ip) ?? this.file?.matcher.match(ip);
  }

  has(ip: string): boolean {
    return this.inline.indexOf(ip) >= 0 || (this.file !== undefined && this.file.matcher.indexOf(ip) >= 0);
  }
}

/**
 * Generic CIDR allow and deny lists (DESIGN §2: the first check). An allow-listed client (a
 * monitoring probe, a health checker) sets `ctx.bypass`, so no further defense runs for it — not
 * the deny list, not the Tor list, not the rate limiter. A denied client gets 403 (`ip_denied`), or
 * passes with a `nis2.ip.blocked` event in monitor mode.
 */
export class IpListsDefense implements Defense {
  readonly name = 'ip_lists';
  readonly allow: Side;
  readonly deny: Side;
  readonly #mode: 'enforce' | 'monitor';
  readonly #privacy: { readonly ipv4Prefix: number; readonly ipv6Prefix: number };

  constructor(settings: IpListsSettings, deps: Pick<DefenseDeps, 'emitter' | 'now'>, privacy: { readonly ipv4Prefix: number; readonly ipv6Prefix: number }) {
    if (settings.mode === 'off') throw new Error('IpListsDefense built while ipLists.mode is off');
    this.#mode = settings.mode;
    this.#privacy = privacy;
    this.allow = new Side('allow', settings.allow, settings.allowFile, settings, deps);
    try {
      this.deny = new Side('deny', settings.deny, settings.denyFile, settings, deps);
    } catch (err) {
      this.allow.file?.close();
      throw err;
    }
  }

  check(ctx: RequestContext): Verdict | undefined {
    if (this.allow.has(ctx.ip)) {
      ctx.bypass = true;
      ctx.span?.setAttribute(ATTR_SECURITY_RULE_NAME, ALLOW_RULE);
      ctx.span?.setAttribute(ATTR_NIS2_ACTION, 'allow');
      return undefined;
    }
    const entry = this.deny.match(ctx.ip);
    if (entry === undefined) return undefined;
    const action = this.#mode === 'enforce' ? 'block' : 'monitor';
    const attrs: Record<string, EnvelopeAttrValue> = {
      [ATTR_SECURITY_RULE_NAME]: DENY_RULE,
      [ATTR_SECURITY_RULE_CATEGORY]: IP_LISTS_CATEGORY,
      [ATTR_NIS2_ACTION]: action,
      [ATTR_NIS2_REASON]: DENY_REASON,
      [ATTR_NIS2_IP_LIST_NAME]: 'deny',
      [ATTR_NIS2_IP_LIST_SIZE]: this.deny.size,
    };
    // The matched block is logged only when it names a network, not a person: at least as wide as the
    // prefix addresses are anonymised to (a /32 entry would put the client's address in clear).
    if (entry.prefix <= (entry.family === 4 ? this.#privacy.ipv4Prefix : this.#privacy.ipv6Prefix)) attrs[ATTR_NIS2_IP_LIST_ENTRY] = entry.text;
    return {
      action,
      rule: DENY_RULE,
      category: IP_LISTS_CATEGORY,
      status: 403,
      reason: DENY_REASON,
      event: EVENT_IP_BLOCKED,
      severity: 'WARN',
      aggregateKey: `ipdeny|${ctx.ip}`,
      attrs,
    };
  }

  close(): void {
    this.allow.file?.close();
    this.deny.file?.close();
  }
}

/** Registry factory: the IP lists, or undefined when `ipLists.mode` resolves to `off`. */
export function createIpListsDefense(config: Nis2Config, deps: DefenseDeps): IpListsDefense | undefined {
  const settings = ipListsSettings(config);
  return settings.mode === 'off' ? undefined : new IpListsDefense(settings, deps, config.privacy);
}
