import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { renderAlert } from './formats.js';
import { signWebhookBody } from './signature.js';
import type { Alert, DeliveryFailure, DestinationStats, WebhookDestination } from './types.js';

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions {
  readonly destination: WebhookDestination;
  readonly concurrency: number;
  readonly queueSize: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly stats: DestinationStats;
  readonly onFailure: (failure: DeliveryFailure) => void;
}

interface Job {
  readonly alert: Alert;
  /** Rendered once, on the first attempt; retries send the same bytes (signed afresh). */
  body: string | undefined;
  attempts: number;
  notBefore: number;
}

type Outcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly retry: boolean; readonly reason: string; readonly status?: number; readonly code?: string; readonly retryAfterMs?: number };

/** `Retry-After` is honoured up to this, whatever the server asks. */
const MAX_RETRY_AFTER_MS = 60_000;
const USER_AGENT = `${PACKAGE_NAME}/${PACKAGE_VERSION} (webhook)`;

function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d{1,6}$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function classify(status: number, retryAfter: number | undefined): Outcome {
  if (status >= 200 && status < 300) return { ok: true };
  // 3xx is not followed: a redirect could move a credential-bearing POST somewhere else.
  const retry = status === 408 || status === 425 || status === 429 || status >= 500;
  return { ok: false, retry, status, reason: `http_${status}`, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
}

/**
 * Delivers the alerts of one destination off the request path: a bounded queue (the oldest is
 * dropped and counted when full), at most `concurrency` requests in flight, each bounded by
 * `timeoutMs` through an AbortSignal, and retries with exponential backoff and jitter for
 * failures that may pass later (timeouts, network errors, 408/425/429/5xx). A destination that is
 * down costs at most its queue; it never slows another destination, the app or shutdown.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #queue: Job[] = [];
  /** One controller per request on the wire, so `close` can abort them (no long-lived signal for `AbortSignal.any` to pile up on). */
  readonly #requests = new Set<AbortController>();
  #inFlight = 0;
  #pumpScheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(options: DispatcherOptions) {
    this.#o = options;
  }

  /** Alerts waiting (including those waiting to retry). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues an alert; never does I/O in the caller's turn. */
  enqueue(alert: Alert): void {
    if (this.#closed) {
      this.#o.stats.dropped++;
      return;
    }
    this.#push({ alert, body: undefined, attempts: 0, notBefore: 0 });
    this.#o.stats.queued++;
    this.#schedulePump();
  }

  #push(job: Job): void {
    this.#queue.push(job);
    if (this.#queue.length > this.#o.queueSize) {
      this.#queue.shift();
      this.#o.stats.dropped++;
    }
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#closed) return;
    const now = Date.now();
    let next = Infinity;
    for (let i = 0; i < this.#queue.length && this.#inFlight < this.#o.concurrency;) {
      const job = this.#queue[i]!;
      if (job.notBefore <= now) {
        this.#queue.splice(i, 1);
        void this.#send(job);
      } else {
        next = Math.min(next, job.notBefore);
        i++;
      }
    }
    if (this.#inFlight < this.#o.concurrency && next !== Infinity) this.#wakeAt(next);
    this.#checkIdle();
  }

  #wakeAt(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#pump();
    }, Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  async #send(job: Job): Promise<void> {
    const stats = this.#o.stats;
    this.#inFlight++;
    stats.inFlight = this.#inFlight;
    if (this.#inFlight > stats.maxInFlight) stats.maxInFlight = this.#inFlight;
    job.attempts++;
    let outcome: Outcome;
    try {
      job.body ??= renderAlert(this.#o.destination.type, job.alert);
      outcome = await this.#attempt(job.alert, job.body);
    } catch (err) {
      outcome = { ok: false, retry: false, reason: 'render_failed', code: (err as Error).name };
    }
    this.#inFlight--;
    stats.inFlight = this.#inFlight;
    if (outcome.ok) {
      stats.sent++;
    } else if (outcome.retry && job.attempts <= this.#o.retries && !this.#closed) {
      stats.retried++;
      job.notBefore = Date.now() + this.#backoff(job.attempts, outcome.retryAfterMs);
      this.#push(job);
    } else if (this.#closed && outcome.reason === 'aborted') {
      stats.dropped++;
    } else {
      stats.failed++;
      this.#o.onFailure({
        destination: this.#o.destination.name, type: this.#o.destination.type, alertId: job.alert.id, event: job.alert.event,
        attempts: job.attempts, reason: outcome.reason,
        ...(outcome.status !== undefined ? { status: outcome.status } : {}), ...(outcome.code !== undefined ? { code: outcome.code } : {}),
      });
    }
    this.#pump();
  }

  async #attempt(alert: Alert, body: string): Promise<Outcome> {
    const d = this.#o.destination;
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': USER_AGENT,
      'x-nis2-delivery': alert.id,
    };
    if (d.secret !== undefined) headers['x-nis2-signature'] = signWebhookBody(d.secret, body);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, this.#o.timeoutMs);
    timer.unref();
    this.#requests.add(controller);
    try {
      const res = await fetch(d.url, { method: 'POST', headers, body, redirect: 'manual', signal: controller.signal });
      const outcome = classify(res.status, retryAfterMs(res.headers.get('retry-after'), Date.now()));
      // The body is not needed; cancelling it returns the connection to the pool.
      await res.body?.cancel().catch(() => undefined);
      return outcome;
    } catch (err) {
      if (this.#closed) return { ok: false, retry: false, reason: 'aborted' };
      if (timedOut) return { ok: false, retry: true, reason: 'timeout' };
      const e = err as Error & { cause?: { code?: unknown } };
      const code = typeof e.cause?.code === 'string' ? e.cause.code : undefined;
      return { ok: false, retry: true, reason: 'network', ...(code !== undefined ? { code } : {}) };
    } finally {
      clearTimeout(timer);
      this.#requests.delete(controller);
    }
  }

  /** Exponential backoff with "equal jitter": half the step fixed, half random, so retries of many alerts spread out. */
  #backoff(attempt: number, retryAfter: number | undefined): number {
    const step = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** (attempt - 1));
    const jittered = step / 2 + Math.random() * (step / 2);
    return retryAfter === undefined ? jittered : Math.max(jittered, Math.min(retryAfter, MAX_RETRY_AFTER_MS));
  }

  #checkIdle(): void {
    if (this.#queue.length > 0 || this.#inFlight > 0 || this.#idle.length === 0) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const w of waiters) w();
  }

  /** Resolves true when nothing is queued or in flight, false if `timeoutMs` passes first. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#idle = this.#idle.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idle.push(done);
    });
  }

  /** Aborts what is in flight and drops what waits (counted as dropped). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#requests) c.abort();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#o.stats.dropped += this.#queue.length;
    this.#queue.length = 0;
    const waiters = this.#idle;
    this.#idle = [];
    for (const w of waiters) w();
  }
}
