import type { Nis2Config } from '../config/load.js';
import type { LoginRoute } from '../config/keys/login.js';
import { Pseudonymizer } from '../privacy/pseudonym.js';
import {
  ATTR_CLIENT_ADDRESS, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_NIS2_ACTION, ATTR_NIS2_REASON,
  ATTR_SECURITY_RULE_CATEGORY, ATTR_SECURITY_RULE_NAME, ATTR_URL_PATH,
} from '../semconv.js';
import { clientKey, type ClientKey } from './client-key.js';
import type { AnyRequest, Defense, DefenseDeps, RequestContext, Verdict } from './types.js';
import { WindowStore, type WindowHit } from './window-store.js';

export const EVENT_LOGIN_FAILED = 'nis2.auth.login_failed';
export const EVENT_LOCKOUT = 'nis2.auth.lockout';

const MAX_LOCKOUTS = 100_000;

let active: LoginDefense | undefined;

/** The login defense of the running guard, for the programmatic API. */
export function activeLoginDefense(): LoginDefense | undefined {
  return active;
}

/**
 * Brute force and credential stuffing on the login routes: a response status in the failure set
 * (or an explicit `trackLoginFailure`) counts against the client address and, when known, the
 * username (by pseudonym); past the limit the address or username is locked out of the login
 * routes for `login.lockout` (429). Counters are the bounded window stores; lockouts a bounded map.
 */
export class LoginDefense implements Defense {
  readonly name = 'login';
  readonly #routes: readonly LoginRoute[];
  readonly #failures: ReadonlySet<number>;
  readonly #mode: 'enforce' | 'monitor';
  readonly #perIp: WindowStore;
  readonly #perUser: WindowStore;
  readonly #ipLimit: number;
  readonly #userLimit: number;
  readonly #lockoutMs: number;
  readonly #locked = new Map<string, number>();
  readonly #deps: DefenseDeps;
  readonly #pseudo: Pseudonymizer;
  readonly #usernameFrom: readonly string[];
  readonly #ipv6Prefix: number;
  readonly #explicit = new WeakSet<object>();
  readonly #ips = new WeakMap<object, string>();
  readonly #hit: WindowHit = { allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 };
  readonly #key: ClientKey = { hi: 0, lo: 0 };

  constructor(config: Nis2Config, deps: DefenseDeps, pseudo: Pseudonymizer) {
    const v = config.values;
    this.#routes = v.get('login.routes') as LoginRoute[];
    this.#failures = new Set(v.get('login.failureStatuses') as number[]);
    this.#mode = (v.get('login.mode') as 'enforce' | 'monitor' | undefined) ?? config.mode;
    const ip = v.get('login.maxPerIp') as { points: number; windowMs: number };
    const user = v.get('login.maxPerUser') as { points: number; windowMs: number };
    this.#ipLimit = ip.points;
    this.#userLimit = user.points;
    this.#perIp = new WindowStore({ points: ip.points, windowMs: ip.windowMs, sliding: false, maxKeys: 100_000 });
    this.#perUser = new WindowStore({ points: user.points, windowMs: user.windowMs, sliding: false, maxKeys: 100_000 });
    this.#lockoutMs = v.get('login.lockout') as number;
    this.#usernameFrom = (v.get('login.usernameFrom') as string[] | undefined) ?? [];
    this.#ipv6Prefix = config.rateLimit.ipv6Prefix;
    this.#deps = deps;
    this.#pseudo = pseudo;
    // The programmatic API (trackLoginFailure …) reaches the running guard's login defense here.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    active = this;
  }

  #isLoginRoute(method: string, path: string, alt: string | undefined): boolean {
    return this.#routes.some((r) => (r.methods.length === 0 || r.methods.includes(method)) && (r.pattern.test(path) || (alt !== undefined && r.pattern.test(alt))));
  }

  #lockedFor(key: string, now: number): number {
    const until = this.#locked.get(key);
    if (until === undefined) return 0;
    if (until <= now) {
      this.#locked.delete(key);
      return 0;
    }
    return until - now;
  }

  #lock(key: string, now: number): void {
    if (this.#locked.size >= MAX_LOCKOUTS) {
      const oldest = this.#locked.keys().next().value;
      if (oldest !== undefined) this.#locked.delete(oldest);
    }
    this.#locked.set(key, now + this.#lockoutMs);
  }

  check(ctx: RequestContext): Verdict | undefined {
    if (!this.#isLoginRoute(ctx.method, ctx.path, ctx.altPath)) return undefined;
    this.#ips.set(ctx.req, ctx.ip);
    const now = this.#deps.now();
    let remaining = this.#lockedFor(`ip|${ctx.ip}`, now);
    let subject: 'address' | 'username' = 'address';
    const username = this.#username(ctx.req);
    if (remaining === 0 && username !== undefined) {
      remaining = this.#lockedFor(`user|${this.#pseudo.hash(username)}`, now);
      subject = 'username';
    }
    if (remaining > 0) return this.#lockedVerdict(subject, remaining, username);
    const res = ctx.res;
    if (res) res.once('finish', () => this.#onFinish(ctx.req, ctx, res.statusCode));
    return undefined;
  }

  #lockedVerdict(subject: 'address' | 'username', remainingMs: number, username: string | undefined): Verdict {
    const action = this.#mode === 'enforce' ? 'block' : 'monitor';
    const attrs: Verdict['attrs'] = {
      [ATTR_SECURITY_RULE_NAME]: 'login_lockout', [ATTR_SECURITY_RULE_CATEGORY]: 'authentication',
      [ATTR_NIS2_ACTION]: action, [ATTR_NIS2_REASON]: `${subject}_locked_out`, 'nis2.lockout.remaining_s': Math.ceil(remainingMs / 1000),
    };
    // The username goes only to the emitter's PII step, which seals it (privacy.sealKey) or drops it.
    if (username !== undefined) { attrs['user.name'] = username; attrs['user.name.hash'] = this.#pseudo.hash(username); }
    return {
      action, rule: 'login_lockout', category: 'authentication', status: 429, reason: `${subject}_locked_out`,
      event: EVENT_LOCKOUT, severity: 'WARN', aggregateKey: `lockout|${subject}|${username ?? ''}`, attrs,
      headers: [['Retry-After', String(Math.max(1, Math.ceil(remainingMs / 1000)))]],
    };
  }

  #username(req: AnyRequest): string | undefined {
    for (const source of this.#usernameFrom) {
      const dot = source.indexOf('.');
      const kind = source.slice(0, dot);
      const field = source.slice(dot + 1);
      let value: unknown;
      if (kind === 'body') value = (req as { body?: Record<string, unknown> }).body?.[field];
      else if (kind === 'header') value = req.headers[field.toLowerCase()];
      else if (kind === 'query') value = new URL(req.url ?? '/', 'http://x').searchParams.get(field);
      if (typeof value === 'string' && value.length > 0 && value.length <= 256) return value;
    }
    return undefined;
  }

  #onFinish(req: AnyRequest, ctx: RequestContext, status: number): void {
    if (this.#explicit.has(req) || !this.#failures.has(status)) return;
    this.recordFailure(req, this.#username(req), { method: ctx.method, path: ctx.path, status });
  }

  /** Counts a failed login (from the response status or from `trackLoginFailure`). */
  recordFailure(req: AnyRequest, username: string | undefined, context?: { method: string; path: string; status: number }): { locked: boolean } {
    const ip = this.#ips.get(req) ?? req.socket?.remoteAddress ?? 'unknown';
    const now = this.#deps.now();
    const userHash = username === undefined ? undefined : this.#pseudo.hash(username);
    const attrs: Verdict['attrs'] = {
      [ATTR_SECURITY_RULE_NAME]: 'login_failure', [ATTR_SECURITY_RULE_CATEGORY]: 'authentication',
      [ATTR_CLIENT_ADDRESS]: ip, [ATTR_NIS2_ACTION]: 'allow',
    };
    if (context) {
      attrs[ATTR_HTTP_REQUEST_METHOD] = context.method;
      attrs[ATTR_URL_PATH] = context.path;
      attrs[ATTR_HTTP_RESPONSE_STATUS_CODE] = context.status;
    }
    if (userHash) { attrs['user.name'] = username!; attrs['user.name.hash'] = userHash; }
    this.#deps.emitter.emit({ name: EVENT_LOGIN_FAILED, severity: 'WARN', attrs, aggregateKey: `loginfail|${ip}` });
    let locked = false;
    const key = clientKey(ip, this.#ipv6Prefix, this.#key) ? this.#key : { hi: 0, lo: 0 };
    if (!this.#perIp.hit(key.hi, key.lo, now, this.#hit).allowed && this.#lockedFor(`ip|${ip}`, now) === 0) {
      this.#lock(`ip|${ip}`, now);
      this.#emitLockout('address', ip, username, userHash, this.#ipLimit);
      locked = true;
    }
    if (userHash && username !== undefined) {
      const h = this.#pseudo.halves(username);
      if (!this.#perUser.hit(h.hi, h.lo, now, this.#hit).allowed && this.#lockedFor(`user|${userHash}`, now) === 0) {
        this.#lock(`user|${userHash}`, now);
        this.#emitLockout('username', ip, username, userHash, this.#userLimit);
        locked = true;
      }
    }
    return { locked };
  }

  #emitLockout(subject: 'address' | 'username', ip: string, username: string | undefined, userHash: string | undefined, limit: number): void {
    const attrs: Verdict['attrs'] = {
      [ATTR_SECURITY_RULE_NAME]: 'login_lockout', [ATTR_SECURITY_RULE_CATEGORY]: 'authentication',
      [ATTR_CLIENT_ADDRESS]: ip, [ATTR_NIS2_ACTION]: this.#mode === 'enforce' ? 'block' : 'monitor',
      [ATTR_NIS2_REASON]: `${subject}_lockout_started`, 'nis2.lockout.limit': limit, 'nis2.lockout.duration_s': this.#lockoutMs / 1000,
    };
    // The raw name goes to the emitter only to be sealed (or dropped) by the PII step, like failures.
    if (userHash) { attrs['user.name'] = username!; attrs['user.name.hash'] = userHash; }
    this.#deps.emitter.emit({ name: EVENT_LOCKOUT, severity: 'ERROR', attrs });
  }

  /** `trackLoginFailure`: counted once per request even if the status is also a failure status. */
  trackFailure(req: AnyRequest, username?: string): { locked: boolean } {
    this.#explicit.add(req);
    return this.recordFailure(req, username);
  }

  /** `trackLoginSuccess`: a good login clears the username's failures. */
  trackSuccess(_req: AnyRequest, username?: string): void {
    if (username === undefined) return;
    const h = this.#pseudo.halves(username);
    this.#perUser.reset(h.hi, h.lo);
    this.#locked.delete(`user|${this.#pseudo.hash(username)}`);
  }

  /** Whether the request's address, or the username, is locked out now. */
  isLocked(req: AnyRequest, username?: string): boolean {
    const now = this.#deps.now();
    const ip = this.#ips.get(req) ?? req.socket?.remoteAddress ?? 'unknown';
    if (this.#lockedFor(`ip|${ip}`, now) > 0) return true;
    return username !== undefined && this.#lockedFor(`user|${this.#pseudo.hash(username)}`, now) > 0;
  }

  close(): void {
    if (active === this) active = undefined;
  }
}
