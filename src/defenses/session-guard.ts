import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Nis2Config } from '../config/load.js';
import { readBearer, readCookie } from '../guard/cookies.js';
import { formatIp, maskIp, parseIp } from '../net/ip.js';
import { anonymizeIp } from '../privacy/anonymize.js';
import { ATTR_NIS2_ACTION, ATTR_NIS2_REASON, ATTR_SECURITY_RULE_CATEGORY, ATTR_SECURITY_RULE_NAME } from '../semconv.js';
import { MemoryBindingStore, RedisBindingStore, type Binding, type BindingStore } from './session-bindings.js';
import type { AnyRequest, Defense, DefenseDeps, RequestContext, Verdict } from './types.js';
import { warnOnce } from '../warn.js';
import { uaFamily } from './ua-family.js';

export const EVENT_SESSION_HIJACK = 'nis2.session.hijack_suspected';

/** What the app's `onSessionHijack` hook is told (no raw addresses). */
export interface SessionHijackInfo {
  /** Name of the cookie that carried the session, or `authorization` for a bearer token. */
  readonly carrier: string;
  /** Keyed hash of the session id (the id itself is never stored or logged). */
  readonly sessionHash: string;
  readonly reasons: readonly ('ip' | 'user_agent')[];
  readonly action: 'block' | 'monitor';
}

export type SessionHijackHook = (req: AnyRequest, info: SessionHijackInfo) => void;

interface Found {
  carrier: string;
  value: string;
}

/**
 * Session hijack guard: a session id (cookie or bearer token) is bound on first sight to the
 * client's address (exact or subnet) and User-Agent (exact or browser/OS family); a request that
 * presents the session from elsewhere is `nis2.session.hijack_suspected`, answered 401 with the
 * session cookie cleared in enforce mode. Only a keyed hash of the id is kept. Mobile clients that
 * move within the bound subnet, and browsers that update, keep their sessions.
 */
export class SessionGuardDefense implements Defense {
  readonly name = 'session';
  readonly #mode: 'enforce' | 'monitor';
  readonly #cookies: readonly string[];
  readonly #bearer: boolean;
  readonly #ipBinding: 'exact' | 'subnet' | 'none';
  readonly #v4: number;
  readonly #v6: number;
  readonly #uaBinding: 'exact' | 'family' | 'none';
  readonly #hashKey: Buffer;
  readonly #store: BindingStore;
  readonly #now: () => number;
  readonly #privacy: Nis2Config['privacy'];
  readonly #hook: SessionHijackHook | undefined;

  constructor(config: Nis2Config, deps: DefenseDeps, hook?: SessionHijackHook) {
    const v = config.values;
    this.#mode = (v.get('session.mode') as 'enforce' | 'monitor' | undefined) ?? config.mode;
    this.#cookies = v.get('session.cookies') as string[];
    this.#bearer = v.get('session.bearer') as boolean;
    this.#ipBinding = v.get('session.ipBinding') as 'exact' | 'subnet' | 'none';
    this.#v4 = v.get('session.ipv4Prefix') as number;
    this.#v6 = v.get('session.ipv6Prefix') as number;
    this.#uaBinding = v.get('session.uaBinding') as 'exact' | 'family' | 'none';
    const hashKey = v.get('session.hashKey') as string | undefined;
    this.#hashKey = hashKey ? createHash('sha256').update(hashKey).digest() : randomBytes(32);
    const ttl = v.get('session.idleTtl') as number;
    const memory = new MemoryBindingStore(v.get('session.maxSessions') as number, ttl);
    this.#store = deps.redis ? new RedisBindingStore(deps.redis, ttl, memory) : memory;
    this.#now = deps.now;
    this.#privacy = config.privacy;
    this.#hook = hook;
  }

  #find(req: AnyRequest): Found | undefined {
    // Most requests carry no cookie at all: one header look-up, not one per configured name.
    if (req.headers['cookie'] !== undefined) {
      for (const name of this.#cookies) {
        const value = readCookie(req, name);
        if (value) return { carrier: name, value };
      }
    }
    if (this.#bearer && req.headers['authorization'] !== undefined) {
      const token = readBearer(req);
      if (token) return { carrier: 'authorization', value: token };
    }
    return undefined;
  }

  #observed(ctx: RequestContext): Binding {
    let ip = '';
    if (this.#ipBinding === 'exact') ip = ctx.ip;
    else if (this.#ipBinding === 'subnet') {
      const parsed = parseIp(ctx.ip);
      ip = parsed ? formatIp(maskIp(parsed, parsed.family === 4 ? this.#v4 : this.#v6)) : ctx.ip;
    }
    const rawUa = ctx.req.headers['user-agent'];
    const uaText = typeof rawUa === 'string' ? rawUa : undefined;
    let ua = '';
    if (this.#uaBinding === 'family') ua = uaFamily(uaText);
    else if (this.#uaBinding === 'exact') ua = createHash('sha256').update(uaText ?? '').digest('base64url').slice(0, 22);
    return { ip, ua };
  }

  check(ctx: RequestContext): Verdict | undefined | Promise<Verdict | undefined> {
    const found = this.#find(ctx.req);
    if (!found) return undefined;
    const hash = createHmac('sha256', this.#hashKey).update(`${found.carrier}=${found.value}`).digest('base64url').slice(0, 22);
    const observed = this.#observed(ctx);
    const bound = this.#store.bind(hash, observed, this.#now());
    if (bound !== undefined && typeof (bound as Promise<Binding | undefined>).then === 'function') {
      return (bound as Promise<Binding | undefined>).then((b) => this.#compare(ctx, found, hash, observed, b));
    }
    return this.#compare(ctx, found, hash, observed, bound as Binding | undefined);
  }

  #compare(ctx: RequestContext, found: Found, hash: string, observed: Binding, bound: Binding | undefined): Verdict | undefined {
    if (bound === undefined) return undefined;
    const reasons: Array<'ip' | 'user_agent'> = [];
    if (bound.ip !== observed.ip) reasons.push('ip');
    if (bound.ua !== observed.ua) reasons.push('user_agent');
    if (reasons.length === 0) return undefined;
    const action = this.#mode === 'enforce' ? 'block' : 'monitor';
    if (this.#hook) {
      try {
        this.#hook(ctx.req, { carrier: found.carrier, sessionHash: hash, reasons, action });
      } catch (err) {
        // The app's hook must not break the request (STYLE: safeExecuteInTheMiddle).
        warnOnce('NIS2_WRN_HOOK_FAILED', `onSessionHijack threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const rawUa = ctx.req.headers['user-agent'];
    const newFamily = uaFamily(typeof rawUa === 'string' ? rawUa : undefined);
    const clear = found.carrier === 'authorization' ? undefined : clearCookie(found.carrier);
    return {
      action,
      rule: 'session_guard',
      category: 'session_management',
      status: 401,
      reason: reasons.length === 2 ? 'ip_and_user_agent_changed' : reasons[0] === 'ip' ? 'ip_changed' : 'user_agent_changed',
      event: EVENT_SESSION_HIJACK,
      severity: 'WARN',
      aggregateKey: `sess|${hash}`,
      attrs: {
        [ATTR_SECURITY_RULE_NAME]: 'session_guard',
        [ATTR_SECURITY_RULE_CATEGORY]: 'session_management',
        [ATTR_NIS2_ACTION]: action,
        [ATTR_NIS2_REASON]: reasons.join(','),
        'session.id': hash,
        'nis2.session.carrier': found.carrier,
        'nis2.session.old_prefix': bound.ip ? anonymizeIp(bound.ip, this.#privacy) : '',
        'nis2.session.new_prefix': anonymizeIp(ctx.ip, this.#privacy),
        'nis2.session.old_ua_family': this.#uaBinding === 'family' ? bound.ua : '',
        'nis2.session.new_ua_family': newFamily,
      },
      headers: clear ? [['Set-Cookie', clear]] : undefined,
    };
  }
}

function clearCookie(name: string): string {
  // __Host- cookies are only accepted (and so only cleared) with Secure and Path=/.
  const secure = name.startsWith('__Host-') || name.startsWith('__Secure-') ? '; Secure' : '';
  return `${name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax${secure}`;
}
