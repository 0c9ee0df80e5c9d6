import { SeverityNumber, type Attributes, type Context } from '@opentelemetry/api';
import type { LogRecordProcessor, ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import type { Nis2Config } from '../config/load.js';
import { normalizeIp } from '../net/ip.js';
import { anonymizeIp, type AnonymizeOptions } from '../privacy/anonymize.js';
import { warnOnce } from '../warn.js';
import { AlertAggregator, type EventSnapshot } from './aggregator.js';
import { Dispatcher } from './dispatcher.js';
import { redactAttributes } from './redact.js';
import type { Alert, AlertAttrValue, AlertingStats, DeliveryFailure, DestinationStats, WebhookDestination } from './types.js';

/** Options of {@link AlertingProcessor}; every number has the default of its `alerting.*` key. */
export interface AlertingProcessorOptions {
  readonly destinations: readonly WebhookDestination[];
  /** One alert per destination, event and key per window; repeats are counted into a summary. Defaults to 5 min. */
  readonly aggregateWindowMs?: number;
  /** Alerts per destination: `points` per `windowMs`. Defaults to 20 per 60 s. */
  readonly rate?: { readonly points: number; readonly windowMs: number };
  /** Per attempt. Defaults to 5 s. */
  readonly timeoutMs?: number;
  /** Retries after a retryable failure. Defaults to 3. */
  readonly retries?: number;
  /** First backoff step; doubles per retry up to `retryMaxMs`. Defaults to 1 s. */
  readonly retryBaseMs?: number;
  /** Defaults to 30 s. */
  readonly retryMaxMs?: number;
  /** Deliveries in flight per destination. Defaults to 2. */
  readonly concurrency?: number;
  /** Alerts waiting per destination. Defaults to 100. */
  readonly queueSize?: number;
  /** Aggregation keys per destination. Defaults to 1000. */
  readonly maxKeys?: number;
  /** Prefixes addresses are cut to (again) before they leave. Defaults to IPv4 /24, IPv6 /48. */
  readonly privacy?: AnonymizeOptions;
  /** Upper bound of `forceFlush` and `shutdown`. Defaults to 2 s. */
  readonly flushTimeoutMs?: number;
  /** How often closed windows are looked for. Defaults to 1 s (or the window, if shorter). */
  readonly sweepIntervalMs?: number;
  /**
   * Called when an alert is given up on (after its last attempt, or at once for a permanent 4xx).
   * Never receives the URL or the secret. Exceptions it throws are swallowed.
   */
  readonly onDeliveryFailure?: (failure: DeliveryFailure) => void;
  readonly now?: () => number;
}

const NIS2_PREFIX = 'nis2.';
/** Integrity records are bookkeeping; `nis2.alerting.*` would be this processor reporting on itself (a loop). */
const SKIPPED_PREFIXES = ['nis2.integrity.', 'nis2.alerting.'];
const SEVERITY_RANK: Readonly<Record<string, number>> = { INFO: 1, WARN: 2, ERROR: 3, FATAL: 4 };
/** Attributes that describe one client: not shown on the shared `*` aggregate. */
const PER_CLIENT = ['client.address', 'network.peer.address', 'session.id', 'url.path', 'user_agent.family'];
const MAX_KEY = 128;

function severityOf(record: ReadWriteLogRecord): string {
  const text = record.severityText?.toUpperCase();
  if (text !== undefined && text in SEVERITY_RANK) return text;
  const n = record.severityNumber ?? SeverityNumber.INFO;
  return n >= SeverityNumber.FATAL ? 'FATAL' : n >= SeverityNumber.ERROR ? 'ERROR' : n >= SeverityNumber.WARN ? 'WARN' : 'INFO';
}

interface Route {
  readonly destination: WebhookDestination;
  readonly minRank: number;
  readonly aggregator: AlertAggregator;
  readonly dispatcher: Dispatcher;
  readonly stats: DestinationStats;
}

/**
 * Real-time alerting as an OpenTelemetry `LogRecordProcessor`, placed after the signing processor
 * so it sees every signed `nis2.*` record. `onEmit` only filters, counts and queues (it never
 * blocks and never throws); rendering and delivery happen later, per destination, with
 * aggregation, an alert budget, bounded queues, concurrency caps, timeouts and bounded retries.
 * Only redacted attributes leave (see `redact.ts`): anonymised addresses, pseudonyms, rule and
 * reason, the user agent's family; never a raw address, a user agent or a user id.
 */
export class AlertingProcessor implements LogRecordProcessor {
  readonly #routes: Route[];
  readonly #privacy: AnonymizeOptions;
  readonly #now: () => number;
  readonly #flushTimeoutMs: number;
  readonly #sweeper: NodeJS.Timeout;
  readonly #onFailure: ((failure: DeliveryFailure) => void) | undefined;
  #received = 0;
  #errors = 0;
  #shutdown: Promise<void> | undefined;

  constructor(options: AlertingProcessorOptions) {
    this.#now = options.now ?? Date.now;
    this.#privacy = options.privacy ?? { ipv4Prefix: 24, ipv6Prefix: 48 };
    this.#flushTimeoutMs = options.flushTimeoutMs ?? 2000;
    this.#onFailure = options.onDeliveryFailure;
    const windowMs = options.aggregateWindowMs ?? 300_000;
    const now = this.#now();
    this.#routes = options.destinations.map((destination) => {
      const stats: DestinationStats = { matched: 0, aggregated: 0, queued: 0, sent: 0, failed: 0, retried: 0, dropped: 0, budgeted: 0, inFlight: 0, maxInFlight: 0 };
      return {
        destination,
        minRank: SEVERITY_RANK[destination.minSeverity] ?? 0,
        stats,
        aggregator: new AlertAggregator({
          destination: destination.name, windowMs, maxKeys: options.maxKeys ?? 1000,
          rate: options.rate ?? { points: 20, windowMs: 60_000 }, now,
        }),
        dispatcher: new Dispatcher({
          destination, stats,
          concurrency: options.concurrency ?? 2, queueSize: options.queueSize ?? 100, timeoutMs: options.timeoutMs ?? 5000,
          retries: options.retries ?? 3, retryBaseMs: options.retryBaseMs ?? 1000, retryMaxMs: options.retryMaxMs ?? 30_000,
          onFailure: (f) => this.#failed(f),
        }),
      };
    });
    this.#sweeper = setInterval(() => this.#sweep(false), options.sweepIntervalMs ?? Math.min(1000, windowMs));
    this.#sweeper.unref();
  }

  /** Counters: received records, and per destination what was matched, aggregated, sent, retried, failed and dropped. */
  get stats(): AlertingStats {
    const destinations: Record<string, DestinationStats> = {};
    for (const r of this.#routes) destinations[r.destination.name] = { ...r.stats, budgeted: r.aggregator.budgeted };
    return { received: this.#received, errors: this.#errors, destinations };
  }

  /** Filters, counts and queues one record; never blocks on I/O and never throws. */
  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    try {
      const name = record.eventName;
      if (name === undefined || !name.startsWith(NIS2_PREFIX) || SKIPPED_PREFIXES.some((p) => name.startsWith(p))) return;
      if (this.#shutdown !== undefined) return;
      this.#received++;
      const severity = severityOf(record);
      const rank = SEVERITY_RANK[severity] ?? 0;
      const now = this.#now();
      let key: string | undefined;
      let weight: number | undefined;
      let snapshot: EventSnapshot | undefined;
      let shared: EventSnapshot | undefined;
      const snap = (overflow: boolean): EventSnapshot => {
        snapshot ??= this.#snapshot(record);
        if (!overflow) return snapshot;
        shared ??= { ...snapshot, attrs: Object.fromEntries(Object.entries(snapshot.attrs).filter(([k]) => !PER_CLIENT.includes(k) && !k.endsWith('.hash'))) };
        return shared;
      };
      for (const route of this.#routes) {
        if (rank < route.minRank || !route.destination.eventPatterns.some((p) => p.test(name))) continue;
        route.stats.matched++;
        key ??= this.#key(record.attributes);
        weight ??= this.#weight(record.attributes);
        const folded = route.aggregator.add(name, severity, key, weight, now, snap, (alert) => route.dispatcher.enqueue(alert));
        if (folded) route.stats.aggregated++;
      }
    } catch {
      // Alerting is best effort: a surprise here must not break the signed pipeline it sits in.
      this.#errors++;
    }
  }

  /** Events a record stands for: the emitter's own flood control writes repeats as one summary with a count. */
  #weight(attributes: Attributes): number {
    const n = attributes['nis2.aggregate.count'];
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 ? n : 1;
  }

  /** Aggregation key: the anonymised client network, else the rule, else none (one aggregate per event name). */
  #key(attributes: Attributes): string {
    const client = attributes['client.address'];
    if (typeof client === 'string') {
      const ip = normalizeIp(client);
      return ip === undefined ? 'invalid' : anonymizeIp(ip, this.#privacy);
    }
    const rule = attributes['security_rule.name'];
    return typeof rule === 'string' ? rule.slice(0, MAX_KEY) : '';
  }

  #snapshot(record: ReadWriteLogRecord): EventSnapshot {
    const a = record.attributes;
    const [s, ns] = record.hrTime;
    const stream = a['nis2.stream'];
    const seq = a['nis2.seq'];
    const kid = a['nis2.kid'];
    const resourceName = record.resource?.attributes['service.name'];
    // The SDK's placeholder (`unknown_service:/usr/bin/node`) names no service; better none than that.
    const service = typeof resourceName === 'string' && !resourceName.startsWith('unknown_service') ? resourceName : undefined;
    return {
      attrs: redactAttributes(a, this.#privacy) as Record<string, AlertAttrValue>,
      record: {
        tsMs: s * 1000 + Math.floor(ns / 1e6),
        ...(typeof stream === 'string' ? { stream } : {}),
        ...(typeof seq === 'number' ? { seq } : {}),
        ...(typeof kid === 'string' ? { kid } : {}),
      },
      ...(service !== undefined ? { service: service.slice(0, 128) } : {}),
    };
  }

  #sweep(force: boolean): void {
    const now = this.#now();
    for (const route of this.#routes) {
      try {
        route.aggregator.sweep(now, (alert: Alert) => route.dispatcher.enqueue(alert), force);
      } catch {
        this.#errors++;
      }
    }
  }

  #failed(failure: DeliveryFailure): void {
    const why = failure.status !== undefined ? `HTTP ${failure.status}` : failure.code !== undefined ? `${failure.reason} ${failure.code}` : failure.reason;
    warnOnce('NIS2_WRN_WEBHOOK_FAILED',
      `webhook '${failure.destination}' (${failure.type}) could not deliver an alert for ${failure.event} after ${failure.attempts} attempt(s): ${why}. ` +
      'The event is in the signed log; later failures are counted in the alerting stats, not warned again.');
    if (this.#onFailure === undefined) return;
    try {
      this.#onFailure(failure);
    } catch {
      this.#errors++;
    }
  }

  /** Closes every open window (summaries and digests go out now) and waits, bounded, for delivery. */
  async forceFlush(): Promise<void> {
    this.#sweep(true);
    await Promise.all(this.#routes.map((r) => r.dispatcher.whenIdle(this.#flushTimeoutMs)));
  }

  /** Flushes (bounded by `flushTimeoutMs`), then aborts what is still in flight and drops what waits. */
  shutdown(): Promise<void> {
    if (this.#shutdown) return this.#shutdown;
    clearInterval(this.#sweeper);
    this.#sweep(true);
    this.#shutdown = Promise.all(this.#routes.map((r) => r.dispatcher.whenIdle(this.#flushTimeoutMs))).then(() => {
      for (const r of this.#routes) r.dispatcher.close();
    });
    return this.#shutdown;
  }
}

/**
 * The alerting processor the configuration asks for (`alerting.*` keys), or undefined when no
 * webhook is configured.
 */
export function createAlertingProcessor(config: Nis2Config, extra: Pick<AlertingProcessorOptions, 'onDeliveryFailure'> = {}): AlertingProcessor | undefined {
  const destinations = config.values.get('alerting.webhooks') as readonly WebhookDestination[] | undefined;
  if (!destinations || destinations.length === 0) return undefined;
  const v = <T>(key: string): T => config.values.get(key) as T;
  return new AlertingProcessor({
    destinations,
    aggregateWindowMs: v('alerting.aggregateWindow'),
    rate: v('alerting.rate'),
    timeoutMs: v('alerting.timeout'),
    retries: v('alerting.retries'),
    concurrency: v('alerting.concurrency'),
    queueSize: v('alerting.queueSize'),
    maxKeys: v('alerting.maxKeys'),
    privacy: config.privacy,
    // The whole shutdown is bounded by shutdown.timeout; leave the rest of the pipeline a margin.
    flushTimeoutMs: Math.floor(config.shutdown.timeoutMs * 0.8),
    ...extra,
  });
}
