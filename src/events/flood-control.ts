import type { EnvelopeAttrValue } from '../integrity/envelope.js';

/** An event the guard wants to report. */
export interface SecurityEventInput {
  readonly name: string;
  readonly severity: 'INFO' | 'WARN' | 'ERROR';
  readonly attrs: Record<string, EnvelopeAttrValue>;
  /** Repeated events with one key are aggregated; omit for events that must each be written. */
  readonly aggregateKey?: string;
}

interface Aggregate {
  readonly first: SecurityEventInput;
  readonly windowEnd: number;
  count: number;
}

/** What flood control says to do with an event right now. */
export type FloodDecision = 'emit' | 'aggregated' | 'suppressed';

/**
 * Keeps the event stream from growing with an attack (DESIGN §2): the first event of a key goes out
 * at once, repeats within the window only raise a count that is written as one summary when the
 * window closes, and a global token bucket caps events per second. Everything dropped is counted
 * and reported by `nis2.events.suppressed`, so the log says how much it left out.
 *
 * Memory is bounded by `maxKeys` aggregation entries (Map insertion order = window order, so the
 * oldest is flushed first and expiry never scans more than what expired).
 */
export class FloodControl {
  readonly #budget: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #aggregates = new Map<string, Aggregate>();
  #tokens: number;
  #refilledAt: number;
  readonly #suppressed = new Map<string, number>();

  constructor(options: { budget: number; windowMs: number; maxKeys: number; now: number }) {
    this.#budget = options.budget;
    this.#windowMs = options.windowMs;
    this.#maxKeys = options.maxKeys;
    this.#tokens = options.budget;
    this.#refilledAt = options.now;
  }

  /** Aggregation keys held now (bounded by maxKeys). */
  get size(): number {
    return this.#aggregates.size;
  }

  #take(now: number): boolean {
    const elapsed = now - this.#refilledAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#budget, this.#tokens + (elapsed * this.#budget) / 1000);
      this.#refilledAt = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #suppress(name: string, count: number): void {
    this.#suppressed.set(name, (this.#suppressed.get(name) ?? 0) + count);
  }

  /**
   * Counts a repeat into an open aggregate and returns true, or returns false when the event must
   * go through {@link admit}. Lets the caller skip building a repeat's attributes entirely: under a
   * flood almost every event is such a repeat.
   */
  countRepeat(key: string, now: number): boolean {
    const agg = this.#aggregates.get(key);
    if (agg === undefined || now >= agg.windowEnd) return false;
    agg.count++;
    return true;
  }

  /** Decides for one event; `emit` means the caller writes it now. */
  admit(event: SecurityEventInput, now: number, flushed: (summary: SecurityEventInput) => void): FloodDecision {
    const key = event.aggregateKey;
    if (key !== undefined) {
      const agg = this.#aggregates.get(key);
      if (agg !== undefined && now < agg.windowEnd) {
        agg.count++;
        return 'aggregated';
      }
      if (agg !== undefined) this.#flushOne(key, agg, now, flushed);
      if (this.#aggregates.size >= this.#maxKeys) {
        const oldest = this.#aggregates.entries().next().value;
        if (oldest) this.#flushOne(oldest[0], oldest[1], now, flushed);
      }
      this.#aggregates.set(key, { first: event, windowEnd: now + this.#windowMs, count: 0 });
    }
    if (this.#take(now)) return 'emit';
    this.#suppress(event.name, 1);
    return 'suppressed';
  }

  #flushOne(key: string, agg: Aggregate, now: number, flushed: (summary: SecurityEventInput) => void): void {
    this.#aggregates.delete(key);
    if (agg.count === 0) return;
    if (!this.#take(now)) {
      this.#suppress(agg.first.name, agg.count);
      return;
    }
    flushed({
      name: agg.first.name,
      severity: agg.first.severity,
      attrs: { ...agg.first.attrs, 'nis2.aggregate.count': agg.count, 'nis2.aggregate.window_s': this.#windowMs / 1000 },
    });
  }

  /**
   * Writes the summaries of windows that have closed and returns the suppressed counts since the
   * last call (empty when nothing was dropped).
   */
  sweep(now: number, flushed: (summary: SecurityEventInput) => void): Map<string, number> {
    for (const [key, agg] of this.#aggregates) {
      if (agg.windowEnd > now) break;
      this.#flushOne(key, agg, now, flushed);
    }
    const out = new Map(this.#suppressed);
    this.#suppressed.clear();
    return out;
  }

  /** At shutdown: every open aggregate is written (budget permitting) and the counts returned. */
  drain(now: number, flushed: (summary: SecurityEventInput) => void): Map<string, number> {
    for (const [key, agg] of this.#aggregates) this.#flushOne(key, agg, now, flushed);
    return this.sweep(now, flushed);
  }
}
