import { randomUUID } from 'node:crypto';
import type { Alert, AlertAttrValue } from './types.js';

/** What an alert shows of the first event of its key (already redacted). */
export interface EventSnapshot {
  readonly attrs: Readonly<Record<string, AlertAttrValue>>;
  readonly record: Alert['record'];
  readonly service?: string;
}

interface Entry {
  readonly event: string;
  readonly key: string;
  severity: string;
  readonly snapshot: EventSnapshot;
  readonly firstSeenMs: number;
  lastSeenMs: number;
  readonly windowEnd: number;
  /** Events of this key not yet reported in any alert. */
  unsent: number;
}

/** Options of {@link AlertAggregator}. */
export interface AlertAggregatorOptions {
  readonly destination: string;
  readonly windowMs: number;
  readonly maxKeys: number;
  /** Alert budget: `points` alerts per `windowMs`, refilled continuously. */
  readonly rate: { readonly points: number; readonly windowMs: number };
  readonly now: number;
}

const SEVERITY_RANK: Readonly<Record<string, number>> = { INFO: 1, WARN: 2, ERROR: 3, FATAL: 4 };
/** Distinct event names a digest lists; the catalogue is small, this only bounds the worst case. */
const MAX_DIGEST_EVENTS = 64;
const OVERFLOW_KEY = '*';

/** The higher of two severities (`ERROR` over `WARN`). */
export function maxSeverity(a: string, b: string): string {
  return (SEVERITY_RANK[b] ?? 0) > (SEVERITY_RANK[a] ?? 0) ? b : a;
}

/**
 * Turns a stream of matching events into few alerts for one destination, so an attack cannot turn
 * the app into a webhook cannon:
 *
 * - the first event of an (event name, key) goes out at once; repeats within the window only raise a
 *   count, sent as one summary when the window closes;
 * - keys are bounded (`maxKeys`): past it, new keys share one `*` aggregate per event name;
 * - a token bucket caps alerts per destination; what it holds back is folded into one digest with
 *   per-event counts, sent at most once per window.
 *
 * Windows all have the same length, so Map insertion order is expiry order and a sweep stops at
 * the first open window.
 */
export class AlertAggregator {
  readonly #destination: string;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #capacity: number;
  readonly #refillPerMs: number;
  #tokens: number;
  #refilledAt: number;
  readonly #entries = new Map<string, Entry>();
  readonly #digest = new Map<string, number>();
  #digestAlerts = 0;
  #digestSeverity = 'INFO';
  #digestFirstMs = 0;
  #digestLastMs = 0;
  #digestSnapshot: EventSnapshot | undefined;
  #lastDigestMs = -Infinity;
  /** Alerts the budget folded into a digest. */
  budgeted = 0;

  constructor(options: AlertAggregatorOptions) {
    this.#destination = options.destination;
    this.#windowMs = options.windowMs;
    this.#maxKeys = options.maxKeys;
    this.#capacity = options.rate.points;
    this.#refillPerMs = options.rate.points / options.rate.windowMs;
    this.#tokens = options.rate.points;
    this.#refilledAt = options.now;
  }

  /** Aggregation keys held now (at most `maxKeys` + one `*` key per event name). */
  get size(): number {
    return this.#entries.size;
  }

  #take(now: number): boolean {
    const elapsed = now - this.#refilledAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#refillPerMs);
      this.#refilledAt = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * Counts one event. `snapshot` is called only when the event opens a new aggregate, so repeats cost
   * a map lookup and an increment; it is told when the aggregate is the shared `*` one (whose alert
   * must not show one client's details as if they were everyone's). `weight` is how many events the
   * record stands for (an emitter summary carries `nis2.aggregate.count`). Alerts to send now go to
   * `send`; returns whether the event was folded into an existing aggregate.
   */
  add(event: string, severity: string, key: string, weight: number, now: number, snapshot: (overflow: boolean) => EventSnapshot, send: (alert: Alert) => void): boolean {
    let id = `${event}\u0000${key}`;
    let entry = this.#live(id, now, send);
    if (entry === undefined && this.#entries.size >= this.#maxKeys) {
      key = OVERFLOW_KEY;
      id = `${event}\u0000${OVERFLOW_KEY}`;
      entry = this.#live(id, now, send);
    }
    if (entry !== undefined) {
      entry.unsent += weight;
      entry.lastSeenMs = now;
      entry.severity = maxSeverity(entry.severity, severity);
      return true;
    }
    const fresh: Entry = { event, key, severity, snapshot: snapshot(key === OVERFLOW_KEY), firstSeenMs: now, lastSeenMs: now, windowEnd: now + this.#windowMs, unsent: weight };
    this.#entries.set(id, fresh);
    if (this.#take(now)) {
      fresh.unsent = 0;
      send(this.#alert('event', fresh, weight));
    }
    return false;
  }

  /** The open aggregate of `id`, after closing it if its window has ended. */
  #live(id: string, now: number, send: (alert: Alert) => void): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined || now < entry.windowEnd) return entry;
    this.#entries.delete(id);
    this.#close(entry, now, send);
    return undefined;
  }

  /** Closes expired windows (all of them with `force`, at flush and shutdown) and sends their summaries. */
  sweep(now: number, send: (alert: Alert) => void, force = false): void {
    for (const [id, entry] of this.#entries) {
      if (!force && now < entry.windowEnd) break;
      this.#entries.delete(id);
      this.#close(entry, now, send);
    }
    if (this.#digestAlerts > 0 && (force || now - this.#lastDigestMs >= this.#windowMs)) {
      this.#lastDigestMs = now;
      send(this.#takeDigest());
    }
  }

  #close(entry: Entry, now: number, send: (alert: Alert) => void): void {
    if (entry.unsent === 0) return;
    if (this.#take(now)) {
      send(this.#alert('summary', entry, entry.unsent));
      return;
    }
    this.budgeted++;
    this.#digestAlerts++;
    if (this.#digestSnapshot === undefined) {
      this.#digestSnapshot = entry.snapshot;
      this.#digestFirstMs = entry.firstSeenMs;
    }
    this.#digestFirstMs = Math.min(this.#digestFirstMs, entry.firstSeenMs);
    this.#digestLastMs = Math.max(this.#digestLastMs, entry.lastSeenMs);
    this.#digestSeverity = maxSeverity(this.#digestSeverity, entry.severity);
    const name = this.#digest.has(entry.event) || this.#digest.size < MAX_DIGEST_EVENTS ? entry.event : 'other';
    this.#digest.set(name, (this.#digest.get(name) ?? 0) + entry.unsent);
  }

  #takeDigest(): Alert {
    let total = 0;
    let top = '';
    let topCount = -1;
    for (const [name, n] of this.#digest) {
      total += n;
      if (n > topCount) { top = name; topCount = n; }
    }
    const alert: Alert = {
      id: randomUUID(), destination: this.#destination, kind: 'digest', event: top, severity: this.#digestSeverity,
      key: '', count: total, firstSeenMs: this.#digestFirstMs, lastSeenMs: this.#digestLastMs, windowMs: this.#windowMs,
      attrs: {}, record: this.#digestSnapshot?.record ?? { tsMs: this.#digestFirstMs },
      ...(this.#digestSnapshot?.service !== undefined ? { service: this.#digestSnapshot.service } : {}),
      digest: { events: Object.fromEntries(this.#digest), alerts: this.#digestAlerts },
    };
    this.#digest.clear();
    this.#digestAlerts = 0;
    this.#digestSeverity = 'INFO';
    this.#digestSnapshot = undefined;
    this.#digestLastMs = 0;
    return alert;
  }

  #alert(kind: 'event' | 'summary', entry: Entry, count: number): Alert {
    return {
      id: randomUUID(), destination: this.#destination, kind, event: entry.event, severity: entry.severity, key: entry.key,
      count, firstSeenMs: entry.firstSeenMs, lastSeenMs: entry.lastSeenMs, windowMs: this.#windowMs,
      attrs: entry.snapshot.attrs, record: entry.snapshot.record,
      ...(entry.snapshot.service !== undefined ? { service: entry.snapshot.service } : {}),
    };
  }
}
