import { ROOT_CONTEXT, SeverityNumber, trace, type Logger, type SpanContext } from '@opentelemetry/api';
import type { EnvelopeAttrValue } from '../integrity/envelope.js';
import { anonymizeIp, type AnonymizeOptions } from '../privacy/anonymize.js';
import { ATTR_CLIENT_ADDRESS_RAW, PiiSealer } from '../privacy/pii.js';
import {
  ATTR_CLIENT_ADDRESS, ATTR_NETWORK_PEER_ADDRESS, ATTR_NIS2_SUPPRESSED_COUNT, ATTR_NIS2_SUPPRESSED_EVENTS,
  EVENT_EVENTS_SUPPRESSED, EVENT_HTTP_ACCESS,
} from '../semconv.js';
import { FloodControl, type SecurityEventInput } from './flood-control.js';

const SEVERITY_NUMBER = { INFO: SeverityNumber.INFO, WARN: SeverityNumber.WARN, ERROR: SeverityNumber.ERROR } as const;
const IP_ATTRS = [ATTR_CLIENT_ADDRESS, ATTR_NETWORK_PEER_ADDRESS];

interface Queued {
  readonly event: SecurityEventInput;
  readonly tsMs: number;
  readonly span: SpanContext | undefined;
}

/** Options of {@link SecurityEventEmitter}. */
export interface EmitterOptions {
  /** Resolved at each drain, so the instrumentation can be given its LoggerProvider after creation. */
  readonly logger: () => Logger;
  readonly privacy: AnonymizeOptions;
  readonly budget: number;
  readonly aggregateWindowMs: number;
  readonly maxKeys: number;
  readonly now?: () => number;
  /** Seals (or drops) PII attributes and adds their pseudonyms; defaults to dropping the default PII fields. */
  readonly pii?: PiiSealer;
}

/**
 * The request path's only contact with the event pipeline: `emit` runs flood control and queues;
 * anonymisation, signing (in the log processor) and export happen in a `setImmediate` drain, after
 * the guard has answered (DESIGN §2: enforcement never waits on export).
 */
export class SecurityEventEmitter {
  readonly #logger: () => Logger;
  readonly #privacy: AnonymizeOptions;
  readonly #pii: PiiSealer;
  readonly #flood: FloodControl;
  readonly #now: () => number;
  #queue: Queued[] = [];
  #scheduled = false;
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;
  /** Counters for stats, tests and benchmarks. */
  readonly stats = { emitted: 0, aggregated: 0, suppressed: 0 };

  constructor(options: EmitterOptions) {
    this.#logger = options.logger;
    this.#privacy = options.privacy;
    this.#pii = options.pii ?? new PiiSealer();
    this.#now = options.now ?? Date.now;
    this.#flood = new FloodControl({ budget: options.budget, windowMs: options.aggregateWindowMs, maxKeys: options.maxKeys, now: this.#now() });
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1000, options.aggregateWindowMs));
    this.#sweeper.unref();
  }

  /** Counts a repeat of an aggregated event without its attributes; false when it must be emitted. */
  countRepeat(aggregateKey: string): boolean {
    if (this.#closed || !this.#flood.countRepeat(aggregateKey, this.#now())) return false;
    this.stats.aggregated++;
    return true;
  }

  /** Reports a security event (flood-controlled). */
  emit(event: SecurityEventInput, span?: SpanContext): void {
    if (this.#closed) return;
    const now = this.#now();
    const decision = this.#flood.admit(event, now, (summary) => this.#enqueue(summary, now, undefined));
    if (decision === 'emit') this.#enqueue(event, now, span);
    else if (decision === 'aggregated') this.stats.aggregated++;
    else this.stats.suppressed++;
  }

  /** An access record: one per request by configuration, so not aggregated or budgeted. */
  emitAccess(attrs: Record<string, EnvelopeAttrValue>, span?: SpanContext): void {
    if (this.#closed) return;
    this.#enqueue({ name: EVENT_HTTP_ACCESS, severity: 'INFO', attrs }, this.#now(), span);
  }

  #enqueue(event: SecurityEventInput, tsMs: number, span: SpanContext | undefined): void {
    this.#queue.push({ event, tsMs, span });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Writes every queued event to the logger now. */
  drain(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    const logger = this.#logger();
    for (const { event, tsMs, span } of queue) {
      const attrs = { ...event.attrs };
      // Kept (sealed below) only while sealing is on, so an investigator can recover the full address.
      if (this.#pii.sealsRawClientAddress && typeof attrs[ATTR_CLIENT_ADDRESS] === 'string') attrs[ATTR_CLIENT_ADDRESS_RAW] = attrs[ATTR_CLIENT_ADDRESS];
      for (const key of IP_ATTRS) {
        const v = attrs[key];
        if (typeof v === 'string') attrs[key] = anonymizeIp(v, this.#privacy);
      }
      this.#pii.apply(attrs);
      logger.emit({
        eventName: event.name,
        severityNumber: SEVERITY_NUMBER[event.severity],
        severityText: event.severity,
        timestamp: tsMs,
        attributes: attrs as Record<string, string | number | boolean>,
        context: span ? trace.setSpanContext(ROOT_CONTEXT, span) : ROOT_CONTEXT,
      });
      this.stats.emitted++;
    }
  }

  #reportSuppressed(counts: Map<string, number>, now: number): void {
    if (counts.size === 0) return;
    let total = 0;
    for (const n of counts.values()) total += n;
    this.#enqueue({
      name: EVENT_EVENTS_SUPPRESSED,
      severity: 'WARN',
      attrs: { [ATTR_NIS2_SUPPRESSED_COUNT]: total, [ATTR_NIS2_SUPPRESSED_EVENTS]: [...counts.keys()].sort(), ...Object.fromEntries([...counts].map(([k, n]) => [`nis2.suppressed.by_event.${k}`, n])) },
    }, now, undefined);
  }

  #sweep(): void {
    const now = this.#now();
    this.#reportSuppressed(this.#flood.sweep(now, (s) => this.#enqueue(s, now, undefined)), now);
  }

  /** Flushes open aggregates and suppressed counts, then the queue; later emits are ignored. */
  close(): void {
    if (this.#closed) return;
    clearInterval(this.#sweeper);
    const now = this.#now();
    this.#reportSuppressed(this.#flood.drain(now, (s) => this.#enqueue(s, now, undefined)), now);
    this.#closed = true;
    this.drain();
  }
}
