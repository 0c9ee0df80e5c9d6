import type { Nis2Config } from '../config/load.js';
import { canonicalJson } from '../integrity/canonical.js';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';
import { ATTR_NIS2_ACTION, ATTR_SECURITY_RULE_CATEGORY, ATTR_SECURITY_RULE_NAME } from '../semconv.js';
import { clientKey, type ClientKey } from './client-key.js';
import type { AnyRequest, AnyResponse, Defense, DefenseDeps, RequestContext, Verdict } from './types.js';
import { WindowStore, type WindowHit } from './window-store.js';

export const EVENT_CLIENT_TELEMETRY = 'nis2.client.telemetry';

const TYPE = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_PAYLOAD_JSON = 2048;
const MAX_URL = 2048;
const MAX_VERSION = 32;

/** One accepted report, as it goes into the event. */
interface ClientReport {
  type: string;
  severity: 'INFO' | 'WARN' | 'ERROR';
  timestamp: string | undefined;
  url: string | undefined;
  event: string | undefined;
  payload: string | undefined;
}

class PayloadError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function severityOf(type: string, payload: Record<string, unknown> | undefined, explicit: unknown): ClientReport['severity'] {
  const hint = String(explicit ?? payload?.['severity'] ?? type).toUpperCase();
  if (hint.includes('CRITICAL') || hint.includes('ERROR') || hint.includes('CRASH')) return 'ERROR';
  if (hint.includes('WARN')) return 'WARN';
  return 'INFO';
}

function cleanUrl(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.length > MAX_URL) throw new PayloadError(400, 'invalid_payload', '`url` must be a string of at most 2048 characters');
  try {
    const u = new URL(raw);
    // Origin and path only: query strings and fragments carry tokens and personal data.
    return `${u.origin}${u.pathname}`;
  } catch {
    throw new PayloadError(400, 'invalid_payload', '`url` must be an absolute URL');
  }
}

function cleanTimestamp(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.length > 40 || Number.isNaN(Date.parse(raw))) {
    throw new PayloadError(400, 'invalid_payload', '`timestamp` must be an ISO 8601 date-time string');
  }
  return new Date(Date.parse(raw)).toISOString();
}

function report(obj: unknown, where: string): ClientReport {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new PayloadError(400, 'invalid_payload', `${where} must be a JSON object`);
  const o = obj as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['type', 'payload', 'timestamp', 'url', 'severity', 'message', 'data'].includes(k)) {
      throw new PayloadError(400, 'invalid_payload', `${where}: unknown field '${k.slice(0, 40)}'`);
    }
  }
  if (typeof o['type'] !== 'string' || !TYPE.test(o['type'])) {
    throw new PayloadError(400, 'invalid_payload', `${where}.type must be 1-64 characters of A-Z a-z 0-9 _ . : -`);
  }
  const payload = o['payload'] ?? o['data'];
  if (payload !== undefined && (typeof payload !== 'object' || payload === null || Array.isArray(payload))) {
    throw new PayloadError(400, 'invalid_payload', `${where}.payload must be an object`);
  }
  let payloadJson: string | undefined;
  if (payload !== undefined) {
    try {
      payloadJson = canonicalJson(payload);
    } catch {
      throw new PayloadError(400, 'invalid_payload', `${where}.payload is not representable JSON`);
    }
    if (payloadJson.length > MAX_PAYLOAD_JSON) payloadJson = `${payloadJson.slice(0, MAX_PAYLOAD_JSON)}…`;
  }
  const p = payload as Record<string, unknown> | undefined;
  const event = typeof p?.['event'] === 'string' ? (p['event']).slice(0, 64) : typeof o['message'] === 'string' ? (o['message']).slice(0, 200) : undefined;
  return { type: o['type'], severity: severityOf(o['type'], p, o['severity']), timestamp: cleanTimestamp(o['timestamp']), url: cleanUrl(o['url']), event, payload: payloadJson };
}

/** Accepts the NIS2 Shield front-end shape `{type, payload, timestamp, url}` and the native `{events: [...]}`. */
export function parseReports(body: unknown, maxEvents: number): ClientReport[] {
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'events' in body) {
    const events = (body as { events: unknown }).events;
    if (Object.keys(body).length !== 1) throw new PayloadError(400, 'invalid_payload', 'the native shape has only `events`');
    if (!Array.isArray(events) || events.length === 0) throw new PayloadError(400, 'invalid_payload', '`events` must be a non-empty array');
    if (events.length > maxEvents) throw new PayloadError(413, 'too_many_events', `at most ${maxEvents} events per report`);
    return events.map((e, i) => report(e, `events[${i}]`));
  }
  return [report(body, 'the report')];
}

/**
 * The front-end telemetry endpoint, answered by the guard without the app: strict JSON schema,
 * size and time limits on the body, a per-address rate limit, a CORS allow-list; 202 on success
 * and 400/403/408/413/415/429 with a JSON `{error, message}` otherwise. Each accepted report
 * becomes a signed `nis2.client.telemetry` event.
 */
export class TelemetryEndpoint implements Defense {
  readonly name = 'telemetry';
  readonly #path: string;
  readonly #origins: ReadonlySet<string>;
  readonly #maxBody: number;
  readonly #maxEvents: number;
  readonly #timeoutMs: number;
  readonly #limiter: WindowStore;
  readonly #deps: DefenseDeps;
  readonly #ipv6Prefix: number;
  readonly #key: ClientKey = { hi: 0, lo: 0 };
  readonly #hit: WindowHit = { allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 };

  constructor(config: Nis2Config, deps: DefenseDeps) {
    const v = config.values;
    this.#path = v.get('telemetry.path') as string;
    this.#origins = new Set(v.get('telemetry.allowedOrigins') as string[]);
    this.#maxBody = v.get('telemetry.maxBodyBytes') as number;
    this.#maxEvents = v.get('telemetry.maxEvents') as number;
    this.#timeoutMs = v.get('telemetry.bodyTimeout') as number;
    const rate = v.get('telemetry.rateLimit') as { points: number; windowMs: number };
    this.#limiter = new WindowStore({ points: rate.points, windowMs: rate.windowMs, sliding: true, maxKeys: 100_000 });
    this.#ipv6Prefix = config.rateLimit.ipv6Prefix;
    this.#deps = deps;
  }

  check(ctx: RequestContext): Verdict | undefined | Promise<Verdict | undefined> {
    if (ctx.path !== this.#path || !ctx.res) return undefined;
    const res = ctx.res;
    const origin = ctx.req.headers['origin'];
    const crossOrigin = typeof origin === 'string' && !this.#sameOrigin(ctx.req, origin);
    if (crossOrigin && !this.#origins.has(origin)) return this.#reply(res, 403, { error: 'origin_not_allowed', message: 'this origin may not report here' }, undefined);
    const cors: Array<[string, string]> = crossOrigin ? [['Access-Control-Allow-Origin', origin], ['Vary', 'Origin']] : [];
    if (ctx.method === 'OPTIONS') {
      return this.#reply(res, 204, undefined, [...cors, ['Access-Control-Allow-Methods', 'POST'], ['Access-Control-Allow-Headers', 'Content-Type, X-NIS2-Client-Version'], ['Access-Control-Max-Age', '600']]);
    }
    if (ctx.method !== 'POST') return this.#reply(res, 405, { error: 'method_not_allowed', message: 'POST a JSON report' }, [...cors, ['Allow', 'POST, OPTIONS']]);
    const type = String(ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return this.#reply(res, 415, { error: 'unsupported_media_type', message: 'Content-Type must be application/json' }, cors);
    const declared = Number(ctx.req.headers['content-length'] ?? NaN);
    if (declared > this.#maxBody) return this.#reply(res, 413, { error: 'payload_too_large', message: `at most ${this.#maxBody} bytes` }, cors);
    const key = clientKey(ctx.ip, this.#ipv6Prefix, this.#key) ? this.#key : { hi: 0, lo: 0 };
    const hit = this.#limiter.hit(key.hi, key.lo, this.#deps.now(), this.#hit);
    if (!hit.allowed) {
      return this.#reply(res, 429, { error: 'too_many_requests', message: 'slow down' }, [...cors, ['Retry-After', String(Math.max(1, Math.ceil(hit.retryAfterMs / 1000)))]]);
    }
    return readBody(ctx.req, this.#maxBody, this.#timeoutMs).then(
      (text) => {
        let reports: ClientReport[];
        try {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw new PayloadError(400, 'invalid_json', 'the body is not valid JSON');
          }
          reports = parseReports(parsed, this.#maxEvents);
        } catch (err) {
          const e = err instanceof PayloadError ? err : new PayloadError(400, 'invalid_payload', 'invalid report');
          return this.#reply(res, e.status, { error: e.code, message: e.message }, cors);
        }
        const version = ctx.req.headers['x-nis2-client-version'];
        for (const r of reports) this.#emit(ctx, r, typeof version === 'string' ? version.slice(0, MAX_VERSION) : undefined);
        return this.#reply(res, 202, { accepted: reports.length }, cors);
      },
      (err: PayloadError) => this.#reply(res, err.status, { error: err.code, message: err.message }, [...cors, ['Connection', 'close']]),
    );
  }

  #sameOrigin(req: AnyRequest, origin: string): boolean {
    const host = req.headers['host'] ?? (req.headers as Record<string, unknown>)[':authority'];
    try {
      return typeof host === 'string' && new URL(origin).host === host;
    } catch {
      return false;
    }
  }

  #emit(ctx: RequestContext, r: ClientReport, version: string | undefined): void {
    const attrs: Record<string, EnvelopeAttrValue> = {
      [ATTR_SECURITY_RULE_NAME]: 'client_telemetry', [ATTR_SECURITY_RULE_CATEGORY]: 'client_side',
      [ATTR_NIS2_ACTION]: 'allow', 'nis2.client.type': r.type, 'client.address': ctx.ip,
    };
    if (version) attrs['nis2.client.version'] = version;
    if (r.url) attrs['nis2.client.url'] = r.url;
    if (r.timestamp) attrs['nis2.client.timestamp'] = r.timestamp;
    if (r.event) attrs['nis2.client.event'] = r.event;
    if (r.payload) attrs['nis2.client.payload'] = r.payload;
    const ua = ctx.req.headers['user-agent'];
    if (typeof ua === 'string') attrs['user_agent.original'] = ua.slice(0, 512);
    this.#deps.emitter.emit({ name: EVENT_CLIENT_TELEMETRY, severity: r.severity, attrs, aggregateKey: `tel|${ctx.ip}|${r.type}|${r.event ?? ''}` });
  }

  /** Answers for the app; the guard sees a `handled` verdict and stops there. */
  #reply(res: AnyResponse, status: number, body: object | undefined, headers: Array<[string, string]> | undefined): Verdict {
    const r = res as import('node:http').ServerResponse;
    if (!r.headersSent) {
      for (const [k, v] of headers ?? []) r.setHeader(k, v);
      // Refused before the body was read: close, or a client could keep trickling that body.
      if (status >= 400 && typeof r.setHeader === 'function' && !('stream' in r)) r.setHeader('Connection', 'close');
      r.setHeader('Cache-Control', 'no-store');
      if (body === undefined) {
        r.statusCode = status;
        r.end();
      } else {
        const text = JSON.stringify(body);
        r.setHeader('Content-Type', 'application/json; charset=utf-8');
        r.setHeader('Content-Length', Buffer.byteLength(text));
        r.statusCode = status;
        r.end(text);
      }
    }
    return HANDLED;
  }
}

/** The verdict of a request the endpoint answered itself (no event beyond those it emitted). */
const HANDLED: Verdict = {
  action: 'handled', rule: 'client_telemetry', category: 'client_side', status: 0, reason: 'handled',
  event: '', severity: 'INFO', attrs: {}, aggregateKey: '',
};

/** Reads a body with a byte cap and a deadline; rejects with the 413/408 to send. */
function readBody(req: AnyRequest, max: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: PayloadError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.removeListener('data', onData);
      if (err) {
        req.resume(); // drain and discard; the response closes the connection
        reject(err);
      } else {
        resolve(Buffer.concat(chunks).toString('utf8'));
      }
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) finish(new PayloadError(413, 'payload_too_large', `at most ${max} bytes`));
      else chunks.push(chunk);
    };
    const timer = setTimeout(() => finish(new PayloadError(408, 'request_timeout', 'the body took too long')), timeoutMs);
    req.on('data', onData);
    req.once('end', () => finish());
    req.once('error', () => finish(new PayloadError(400, 'invalid_payload', 'the request body was aborted')));
  });
}
