import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { context, isSpanContextValid, trace, type Span } from '@opentelemetry/api';
import type { Nis2Config } from '../config/load.js';
import type { AnyRequest, AnyResponse, Defense, RequestContext, Verdict } from '../defenses/types.js';
import type { SecurityEventEmitter } from '../events/emitter.js';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';
import {
  ATTR_CLIENT_ADDRESS, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NIS2_ACTION, ATTR_NIS2_BLOCK_FAILED, ATTR_NIS2_REASON, ATTR_SECURITY_RULE_CATEGORY, ATTR_SECURITY_RULE_NAME,
  ATTR_URL_PATH, ATTR_USER_AGENT_ORIGINAL,
} from '../semconv.js';
import { warnOnce } from '../warn.js';
import { ClientIpResolver, peerOf } from './client-ip.js';
import { literalPathVariant, matchPath } from '../net/path.js';
import type { Pseudonymizer } from '../privacy/pseudonym.js';
import { getUser } from './request-user.js';
import { writeBlock, writeUpgradeBlock } from './respond.js';

/** What the guard decided: run the app now, blocked, or ask again when the promise settles. */
export type Decision = boolean | Promise<boolean>;

const MAX_UA = 512;
const MAX_PATH = 2048;

/**
 * The request pipeline of DESIGN §2: resolve the client, run the enabled defenses in order, and
 * either let the app run, or answer for it (block), or let it run and report (monitor). Defenses
 * that answer synchronously never cost a promise; only a thenable verdict makes the decision async.
 */
export class Guard {
  readonly #defenses: readonly Defense[];
  readonly #emitter: SecurityEventEmitter;
  readonly #resolver: ClientIpResolver;
  readonly #accessLog: Nis2Config['accessLog'];
  readonly #pseudo: Pseudonymizer;

  constructor(config: Nis2Config, emitter: SecurityEventEmitter, defenses: readonly Defense[], pseudonymizer: Pseudonymizer) {
    this.#defenses = defenses;
    this.#emitter = emitter;
    this.#resolver = new ClientIpResolver(config);
    this.#accessLog = config.accessLog;
    this.#pseudo = pseudonymizer;
  }

  /** Decides for an HTTP request (`res`) or an upgrade (`socket`). */
  decide(req: AnyRequest, res: AnyResponse | undefined, socket?: Duplex): Decision {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
    // Normalised once for every defense, so `//login`, `/%6cogin` or `http://x/login` cannot
    // dodge a route policy that the app's router would still match.
    const path = matchPath(rawPath);
    const peer = peerOf(req);
    const ctx: RequestContext = {
      req,
      res,
      ip: this.#resolver.resolve(req, peer),
      peer,
      viaTrustedProxy: this.#resolver.isTrusted(peer),
      bypass: false,
      method: req.method ?? 'GET',
      path,
      altPath: literalPathVariant(rawPath, path),
      span: recordingSpan(),
      headers: undefined,
    };
    return this.#run(ctx, 0, socket);
  }

  #run(ctx: RequestContext, from: number, socket: Duplex | undefined): Decision {
    const defenses = this.#defenses;
    for (let i = from; i < defenses.length && !ctx.bypass; i++) {
      const v = defenses[i]!.check(ctx);
      if (v === undefined) continue;
      if (typeof (v as Promise<Verdict | undefined>).then === 'function') {
        return (v as Promise<Verdict | undefined>).then((verdict) => {
          if (verdict !== undefined && !this.#apply(ctx, verdict, socket)) return false;
          return this.#run(ctx, i + 1, socket);
        });
      }
      if (!this.#apply(ctx, v as Verdict, socket)) return false;
    }
    this.#allow(ctx);
    return true;
  }

  /** Applies a verdict; returns false when the request was blocked (the app must not run). */
  #apply(ctx: RequestContext, verdict: Verdict, socket: Duplex | undefined): boolean {
    if (verdict.action === 'handled') return false;
    const span = ctx.span;
    span?.setAttribute(ATTR_SECURITY_RULE_NAME, verdict.rule);
    span?.setAttribute(ATTR_NIS2_ACTION, verdict.action);
    span?.setAttribute(ATTR_NIS2_REASON, verdict.reason);
    if (verdict.action === 'monitor') {
      if (!this.#emitter.countRepeat(verdict.aggregateKey)) {
        this.#emitter.emit({ name: verdict.event, severity: verdict.severity, attrs: this.#eventAttrs(ctx, verdict), aggregateKey: verdict.aggregateKey }, span?.spanContext());
      }
      return true;
    }
    const sc = span?.spanContext();
    const requestId = sc && isSpanContextValid(sc) ? sc.traceId : nextRequestId();
    const written = ctx.res ? writeBlock(ctx.req, ctx.res, verdict, requestId, ctx.headers) : socket ? writeUpgradeBlock(socket, verdict, requestId) : false;
    // Under a flood almost every block repeats an open aggregate: count it, build nothing.
    if (written && this.#accessLog === 'off' && this.#emitter.countRepeat(verdict.aggregateKey)) return false;
    const attrs = this.#eventAttrs(ctx, verdict);
    if (!written) {
      // Headers already went out (another listener answered first): record the failed block honestly.
      span?.setAttribute(ATTR_NIS2_BLOCK_FAILED, true);
      attrs[ATTR_NIS2_BLOCK_FAILED] = true;
      // The client got whatever the other listener sent, not our status.
      if (ctx.res) attrs[ATTR_HTTP_RESPONSE_STATUS_CODE] = ctx.res.statusCode;
      else delete attrs[ATTR_HTTP_RESPONSE_STATUS_CODE];
      warnOnce('NIS2_WRN_BLOCK_AFTER_HEADERS', 'a request was to be blocked but its response had already started; the block is recorded as failed (nis2.block_failed=true). Make sure no other request listener answers before the app.');
    }
    this.#emitter.emit({ name: verdict.event, severity: verdict.severity, attrs, aggregateKey: verdict.aggregateKey }, span?.spanContext());
    if (this.#accessLog !== 'off') this.#access(ctx, verdict.status, span, verdict);
    return false;
  }

  #allow(ctx: RequestContext): void {
    const res = ctx.res;
    if (ctx.headers && res && !res.headersSent) {
      for (const [k, v] of ctx.headers) (res as import('node:http').ServerResponse).setHeader(k, v);
    }
    if (this.#accessLog === 'all' && res) {
      const span = ctx.span;
      res.once('finish', () => this.#access(ctx, res.statusCode, span, undefined));
    }
  }

  /** Attributes every event about a request carries (path and user agent length-capped). */
  #requestAttrs(ctx: RequestContext): Record<string, EnvelopeAttrValue> {
    const attrs: Record<string, EnvelopeAttrValue> = {
      [ATTR_HTTP_REQUEST_METHOD]: ctx.method,
      [ATTR_URL_PATH]: ctx.path.length > MAX_PATH ? ctx.path.slice(0, MAX_PATH) : ctx.path,
      [ATTR_CLIENT_ADDRESS]: ctx.ip,
    };
    const ua = ctx.req.headers['user-agent'];
    if (typeof ua === 'string') attrs[ATTR_USER_AGENT_ORIGINAL] = ua.length > MAX_UA ? ua.slice(0, MAX_UA) : ua;
    const user = getUser(ctx.req);
    // The id goes only to the emitter's PII step, which seals it (privacy.sealKey) or drops it.
    if (user) { attrs['user.id'] = user.id; attrs['user.id.hash'] = this.#pseudo.hash(user.id); }
    return attrs;
  }

  #eventAttrs(ctx: RequestContext, verdict: Verdict): Record<string, EnvelopeAttrValue> {
    const attrs: Record<string, EnvelopeAttrValue> = {
      ...verdict.attrs,
      ...this.#requestAttrs(ctx),
      [ATTR_SECURITY_RULE_NAME]: verdict.rule,
      [ATTR_SECURITY_RULE_CATEGORY]: verdict.category,
      [ATTR_NIS2_ACTION]: verdict.action,
      [ATTR_NIS2_REASON]: verdict.reason,
    };
    if (verdict.action === 'block') attrs[ATTR_HTTP_RESPONSE_STATUS_CODE] = verdict.status;
    if (ctx.peer !== ctx.ip) attrs[ATTR_NETWORK_PEER_ADDRESS] = ctx.peer;
    return attrs;
  }

  #access(ctx: RequestContext, status: number, span: Span | undefined, verdict: Verdict | undefined): void {
    const attrs = this.#requestAttrs(ctx);
    attrs[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
    attrs[ATTR_NIS2_ACTION] = verdict ? verdict.action : 'allow';
    if (verdict) attrs[ATTR_SECURITY_RULE_NAME] = verdict.rule;
    this.#emitter.emitAccess(attrs, span?.spanContext());
  }
}
const REQUEST_ID_PREFIX = randomBytes(8).toString('hex');
let requestCounter = 0;

/**
 * Without tracing, a request id unique within the process and across restarts: 32 hex digits
 * like a trace id (random per-process half, counter half), without a UUID per block.
 */
function nextRequestId(): string {
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${REQUEST_ID_PREFIX}${requestCounter.toString(16).padStart(16, '0')}`;
}

/** The active server span, or undefined when tracing is off (a non-recording span has no ids worth logging). */
function recordingSpan(): Span | undefined {
  const span = trace.getSpan(context.active());
  return span !== undefined && span.isRecording() ? span : undefined;
}
