import { randomBytes } from 'node:crypto';

/** Outcome of one hit against a window counter. */
export interface WindowHit {
  allowed: boolean;
  /** Points left in the current window after this hit (0 when blocked). */
  remaining: number;
  /** Milliseconds until a blocked client may try again (0 when allowed). */
  retryAfterMs: number;
  /** Milliseconds until the current window ends. */
  resetMs: number;
}

const WAYS = 8;
const MIN_SETS = 128;
const EMPTY = 0;
const MAX_COUNT = 0xffff_ffff;

/**
 * A bounded, allocation-free fixed/sliding window counter keyed by a 64-bit client key (two uint32
 * halves). Why not rate-limiter-flexible's RateLimiterMemory: it keeps one timer and one object per
 * key in an unbounded Map, so a distinct-IP spray grows memory without limit (measured ≈ 250 B/key
 * and rising); a security layer must stay bounded under exactly that attack.
 *
 * Layout: 8-way set-associative table of parallel Uint32Arrays (24 bytes a slot). It grows by
 * doubling up to `maxKeys` slots (never more); past that, a new key evicts the least recently seen
 * key of its set (recency is a per-store hit counter, not wall time), so
 * eviction costs O(1) and never scans the table. A per-process random hash seed keeps an attacker
 * from aiming collisions at a victim's set.
 */
export class WindowStore {
  readonly #maxSlots: number;
  readonly #windowMs: number;
  readonly #points: number;
  readonly #sliding: boolean;
  readonly #seed: number;
  #sets: number;
  #keyHi: Uint32Array;
  #keyLo: Uint32Array;
  #win: Uint32Array;
  #curr: Uint32Array;
  #prev: Uint32Array;
  #seen: Uint32Array;
  #size = 0;
  /** Recency stamp: one tick per hit, so eviction picks the truly least recent key of a set. */
  #tick = 0;
  /** Keys dropped to make room; exposed for stats and benchmarks. */
  evictions = 0;

  constructor(options: { points: number; windowMs: number; sliding: boolean; maxKeys: number }) {
    this.#points = options.points;
    this.#windowMs = options.windowMs;
    this.#sliding = options.sliding;
    // Never more slots than maxKeys (rounded down to whole sets): the cap is a promise about memory.
    this.#maxSlots = Math.max(MIN_SETS, Math.floor(options.maxKeys / WAYS)) * WAYS;
    this.#seed = randomBytes(4).readUInt32LE(0);
    this.#sets = MIN_SETS;
    const slots = this.#sets * WAYS;
    this.#keyHi = new Uint32Array(slots);
    this.#keyLo = new Uint32Array(slots);
    this.#win = new Uint32Array(slots);
    this.#curr = new Uint32Array(slots);
    this.#prev = new Uint32Array(slots);
    this.#seen = new Uint32Array(slots);
  }

  /** Number of keys tracked now. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the table (all typed arrays). */
  get bytes(): number {
    return this.#sets * WAYS * 24;
  }

  #hash(hi: number, lo: number): number {
    let h = Math.imul(hi ^ this.#seed, 0x85ebca6b) ^ Math.imul(lo ^ (hi >>> 15), 0xc2b2ae35);
    h ^= h >>> 13;
    h = Math.imul(h, 0x27d4eb2f);
    h ^= h >>> 16;
    return h >>> 0;
  }

  /** First slot of the key's set; multiply-shift so any number of sets works, not only powers of two. */
  #base(hi: number, lo: number): number {
    return Math.floor((this.#hash(hi, lo) * this.#sets) / 4294967296) * WAYS;
  }

  /** Finds or claims the slot of a key; returns its index. */
  #slot(hi: number, lo: number, stamp: number): number {
    const now = this.#tick;
    for (;;) {
      const base = this.#base(hi, lo);
      let free = -1;
      let oldest = base;
      for (let i = base; i < base + WAYS; i++) {
        if (this.#win[i] === EMPTY) {
          if (free < 0) free = i;
        } else if (this.#keyHi[i] === hi && this.#keyLo[i] === lo) {
          return i;
        } else if (((now - this.#seen[i]!) >>> 0) > ((now - this.#seen[oldest]!) >>> 0) || this.#win[oldest] === EMPTY) {
          oldest = i;
        }
      }
      if (free >= 0) return this.#claim(free, hi, lo, stamp);
      if (this.#sets * WAYS < this.#maxSlots) {
        this.#grow();
        continue;
      }
      this.evictions++;
      this.#size--;
      return this.#claim(oldest, hi, lo, stamp);
    }
  }

  #claim(i: number, hi: number, lo: number, stamp: number): number {
    this.#keyHi[i] = hi;
    this.#keyLo[i] = lo;
    this.#win[i] = EMPTY;
    this.#curr[i] = 0;
    this.#prev[i] = 0;
    this.#seen[i] = stamp;
    this.#size++;
    return i;
  }

  #grow(): void {
    const old = { hi: this.#keyHi, lo: this.#keyLo, win: this.#win, curr: this.#curr, prev: this.#prev, seen: this.#seen };
    this.#sets = Math.min(this.#sets * 2, this.#maxSlots / WAYS);
    const slots = this.#sets * WAYS;
    this.#keyHi = new Uint32Array(slots);
    this.#keyLo = new Uint32Array(slots);
    this.#win = new Uint32Array(slots);
    this.#curr = new Uint32Array(slots);
    this.#prev = new Uint32Array(slots);
    this.#seen = new Uint32Array(slots);
    this.#size = 0;
    for (let j = 0; j < old.win.length; j++) {
      if (old.win[j] === EMPTY) continue;
      const i = this.#slot(old.hi[j]!, old.lo[j]!, old.seen[j]!);
      this.#win[i] = old.win[j]!;
      this.#curr[i] = old.curr[j]!;
      this.#prev[i] = old.prev[j]!;
    }
  }

  /** Forgets a key's counts (e.g. a successful login clears its failures). */
  reset(hi: number, lo: number): void {
    const base = this.#base(hi, lo);
    for (let i = base; i < base + WAYS; i++) {
      if (this.#win[i] !== EMPTY && this.#keyHi[i] === hi && this.#keyLo[i] === lo) {
        this.#curr[i] = 0;
        this.#prev[i] = 0;
      }
    }
  }

  /** Counts one request for the key and says whether it is within the limit. */
  hit(hi: number, lo: number, nowMs: number, out: WindowHit): WindowHit {
    const stamp = (this.#tick = (this.#tick + 1) >>> 0);
    const i = this.#slot(hi, lo, stamp);
    const windowMs = this.#windowMs;
    const idx = Math.floor(nowMs / windowMs) + 1;
    const stored = this.#win[i]!;
    if (stored !== idx) {
      this.#prev[i] = stored === idx - 1 ? this.#curr[i]! : 0;
      this.#curr[i] = 0;
      this.#win[i] = idx;
    }
    this.#seen[i] = stamp;
    const curr = this.#curr[i]!;
    const prev = this.#prev[i]!;
    const elapsed = nowMs - (idx - 1) * windowMs;
    const points = this.#points;
    out.resetMs = windowMs - elapsed;
    let used = curr;
    if (this.#sliding && prev > 0) used = curr + prev * ((windowMs - elapsed) / windowMs);
    if (curr < MAX_COUNT) this.#curr[i] = curr + 1;
    if (used + 1 <= points) {
      out.allowed = true;
      out.remaining = Math.max(0, Math.floor(points - used - 1));
      out.retryAfterMs = 0;
      return out;
    }
    out.allowed = false;
    out.remaining = 0;
    out.retryAfterMs = this.#sliding ? slidingRetryMs(points, windowMs, curr + 1, prev, elapsed) : out.resetMs;
    return out;
  }

}

/**
 * Sliding window: time until `prev·weight + curr + 1 ≤ points` holds again if the client stops now.
 * `curr` includes the hit just counted; `elapsed` is the time since the current window began.
 */
export function slidingRetryMs(points: number, windowMs: number, curr: number, prev: number, elapsed: number): number {
  const room = points - 1;
  if (curr > room) {
    // Wait for the next window, then until this window's count, as the new `prev`, decays enough.
    return windowMs - elapsed + Math.ceil(windowMs * (1 - room / curr));
  }
  return Math.max(1, Math.ceil(windowMs * (1 - (room - curr) / prev) - elapsed));
}
