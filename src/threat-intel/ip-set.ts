import { randomBytes } from 'node:crypto';
import type { Cidr } from '../net/ip.js';

// Scratch space for parsing the address asked about: the request path allocates nothing. Every
// word is kept as a signed int32 (a V8 small integer): uint32 values above 2^31 would be boxed as
// heap numbers whenever they cross a call.
const V4 = new Int32Array(1);
const WORDS = new Int32Array(4);
const GROUPS = new Uint16Array(8);
const SEED = randomBytes(4).readInt32LE(0);
/** XOR-ing the sign bit makes signed comparison order int32 words as unsigned ones. */
const BIAS = -0x8000_0000;

/** Dotted-quad IPv4 from `s[from..]` into `V4[0]` (raw bits as int32); false when it is not one. */
function ipv4At(s: string, from: number): boolean {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return false;
      value = (value << 8) | octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      if (octet > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  if (dots !== 3 || digits === 0) return false;
  V4[0] = (value << 8) | octet;
  return true;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses IPv6 text (with `::` and a trailing dotted quad) into four int32 words of `out`. */
function ipv6Words(s: string, out: Int32Array): boolean {
  const len = s.length;
  let i = 0;
  let n = 0;
  let gap = -1;
  if (len < 2) return false;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    const start = i;
    let v = 0;
    let digits = 0;
    while (i < len) {
      const d = hexValue(s.charCodeAt(i));
      if (d < 0) break;
      if (++digits > 4) return false;
      v = (v << 4) | d;
      i++;
    }
    if (i < len && s.charCodeAt(i) === 46) {
      if (n > 6 || !ipv4At(s, start)) return false;
      const v4 = V4[0]!;
      GROUPS[n++] = v4 >>> 16;
      GROUPS[n++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || n === 8) return false;
    GROUPS[n++] = v;
    if (i === len) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < len && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === len) {
      return false;
    }
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false;
    const tail = n - gap;
    for (let k = tail - 1; k >= 0; k--) GROUPS[8 - tail + k] = GROUPS[gap + k]!;
    for (let k = gap; k < 8 - tail; k++) GROUPS[k] = 0;
  }
  for (let w = 0; w < 4; w++) out[w] = (GROUPS[w * 2]! << 16) | GROUPS[w * 2 + 1]!;
  return true;
}

/** Table slot of four words (a small non-negative integer). */
function slot4(a: number, b: number, c: number, d: number, mask: number): number {
  let h = Math.imul(a ^ SEED, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ d, 0x27d4eb2f);
  return (h ^ (h >>> 15)) & mask;
}

function slot1(v: number, mask: number): number {
  const h = Math.imul(v ^ SEED, 0x9e3779b1);
  return (h ^ (h >>> 16)) & mask;
}

function tableBits(count: number): number {
  let bits = 4;
  while (1 << bits < count * 2) bits++;
  return bits;
}

function cidrWords(cidr: Cidr, out: Int32Array, offset: number): void {
  const b = cidr.bytes;
  for (let w = 0; w < 4; w++) out[offset + w] = (b[w * 4]! << 24) | (b[w * 4 + 1]! << 16) | (b[w * 4 + 2]! << 8) | b[w * 4 + 3]!;
}

/** Compares biased words `a[ai..ai+4)` with raw words `q` (biased here). */
function compareBiased(a: Int32Array, ai: number, q: Int32Array): number {
  for (let w = 0; w < 4; w++) {
    const x = a[ai + w]!;
    const y = q[w]! ^ BIAS;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function compareRaw(a: Int32Array, b: Int32Array): number {
  for (let w = 0; w < 4; w++) {
    const x = a[w]! ^ BIAS;
    const y = b[w]! ^ BIAS;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * An immutable set of addresses and CIDR blocks, built once per list version and swapped in whole.
 *
 * - single addresses (/32, /128) sit in open-addressing hash tables of typed arrays: O(1) lookups;
 * - wider blocks are kept as sorted, disjoint ranges (two CIDR blocks either nest or do not
 *   overlap, so only the outermost of nested blocks is kept): O(log n) binary search.
 *
 * Lookups take the normalised address string the guard already has and parse it into scratch
 * typed arrays: no object, string or closure is made per request.
 */
export class IpMatcher {
  static readonly EMPTY = new IpMatcher([]);

  readonly #entries: readonly Cidr[];
  readonly #v4Mask: number;
  readonly #v4Keys: Int32Array;
  readonly #v4Idx: Int32Array;
  readonly #v6Mask: number;
  readonly #v6Keys: Int32Array;
  readonly #v6Idx: Int32Array;
  /** Biased starts and ends of the disjoint IPv4 blocks, sorted. */
  readonly #v4Start: Int32Array;
  readonly #v4End: Int32Array;
  readonly #v4RangeIdx: Int32Array;
  /** Biased four-word starts and ends of the disjoint IPv6 blocks, sorted. */
  readonly #v6Start: Int32Array;
  readonly #v6End: Int32Array;
  readonly #v6RangeIdx: Int32Array;
  readonly #counts: { readonly ipv4: number; readonly ipv6: number; readonly ranges: number };

  /** @param entries the list; duplicates and blocks nested in other blocks are dropped. */
  constructor(entries: readonly Cidr[]) {
    const v4Exact: number[] = [];
    const v6Exact: number[] = [];
    const v4Ranges: number[] = [];
    const v6Ranges: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.family === 4) (e.prefix === 32 ? v4Exact : v4Ranges).push(i);
      else (e.prefix === 128 ? v6Exact : v6Ranges).push(i);
    }
    const kept: Cidr[] = [];
    const w = new Int32Array(4);

    // Single IPv4 addresses: open addressing, load factor at most 1/2, -1 marks an empty slot.
    const bits4 = tableBits(v4Exact.length);
    this.#v4Mask = (1 << bits4) - 1;
    this.#v4Keys = new Int32Array(1 << bits4);
    this.#v4Idx = new Int32Array(1 << bits4).fill(-1);
    let ipv4 = 0;
    for (const i of v4Exact) {
      cidrWords(entries[i]!, w, 0);
      const v = w[0]!;
      if (this.#find4(v) >= 0) continue;
      let slot = slot1(v, this.#v4Mask);
      while (this.#v4Idx[slot]! >= 0) slot = (slot + 1) & this.#v4Mask;
      this.#v4Keys[slot] = v;
      this.#v4Idx[slot] = kept.length;
      kept.push(entries[i]!);
      ipv4++;
    }

    // Single IPv6 addresses, four words a slot.
    const bits6 = tableBits(v6Exact.length);
    this.#v6Mask = (1 << bits6) - 1;
    this.#v6Keys = new Int32Array(4 << bits6);
    this.#v6Idx = new Int32Array(1 << bits6).fill(-1);
    let ipv6 = 0;
    for (const i of v6Exact) {
      cidrWords(entries[i]!, w, 0);
      if (this.#find6(w) >= 0) continue;
      let slot = slot4(w[0]!, w[1]!, w[2]!, w[3]!, this.#v6Mask);
      while (this.#v6Idx[slot]! >= 0) slot = (slot + 1) & this.#v6Mask;
      this.#v6Keys.set(w, slot * 4);
      this.#v6Idx[slot] = kept.length;
      kept.push(entries[i]!);
      ipv6++;
    }

    // IPv4 blocks: sorted by start, wider first; a block inside the last kept one is dropped.
    const r4 = v4Ranges.map((i) => {
      const e = entries[i]!;
      cidrWords(e, w, 0);
      const host = (-1 >>> e.prefix) | 0;
      return { i, start: w[0]! ^ BIAS, end: (w[0]! | host) ^ BIAS, prefix: e.prefix };
    }).sort((a, b) => a.start - b.start || a.prefix - b.prefix);
    const s4: number[] = [];
    const e4: number[] = [];
    const x4: number[] = [];
    for (const r of r4) {
      if (e4.length > 0 && r.start <= e4[e4.length - 1]!) continue;
      s4.push(r.start);
      e4.push(r.end);
      x4.push(kept.length);
      kept.push(entries[r.i]!);
    }
    this.#v4Start = Int32Array.from(s4);
    this.#v4End = Int32Array.from(e4);
    this.#v4RangeIdx = Int32Array.from(x4);

    // IPv6 blocks, the same way with four-word starts and ends.
    const r6 = v6Ranges.map((i) => {
      const e = entries[i]!;
      const start = new Int32Array(4);
      cidrWords(e, start, 0);
      const end = new Int32Array(start);
      for (let bit = e.prefix; bit < 128; bit++) end[bit >> 5]! |= 0x8000_0000 >>> (bit & 31);
      return { i, start, end, prefix: e.prefix };
    }).sort((a, b) => compareRaw(a.start, b.start) || a.prefix - b.prefix);
    const kept6: typeof r6 = [];
    for (const r of r6) {
      const last = kept6[kept6.length - 1];
      if (last && compareRaw(r.start, last.end) <= 0) continue;
      kept6.push(r);
    }
    this.#v6Start = new Int32Array(kept6.length * 4);
    this.#v6End = new Int32Array(kept6.length * 4);
    this.#v6RangeIdx = new Int32Array(kept6.length);
    kept6.forEach((r, k) => {
      for (let j = 0; j < 4; j++) {
        this.#v6Start[k * 4 + j] = r.start[j]! ^ BIAS;
        this.#v6End[k * 4 + j] = r.end[j]! ^ BIAS;
      }
      this.#v6RangeIdx[k] = kept.length;
      kept.push(entries[r.i]!);
    });

    this.#entries = kept;
    this.#counts = { ipv4, ipv6, ranges: s4.length + kept6.length };
  }

  /** Entries kept (after dropping duplicates and nested blocks). */
  get size(): number {
    return this.#entries.length;
  }

  /** How many single IPv4 and IPv6 addresses, and how many wider blocks. */
  get counts(): { readonly ipv4: number; readonly ipv6: number; readonly ranges: number } {
    return this.#counts;
  }

  /** The kept entries, in lookup order (single IPv4, single IPv6, IPv4 blocks, IPv6 blocks). */
  get entries(): readonly Cidr[] {
    return this.#entries;
  }

  /** True when the normalised address is in the set. */
  has(ip: string): boolean {
    return this.indexOf(ip) >= 0;
  }

  /** The entry the address matches, or undefined. */
  match(ip: string): Cidr | undefined {
    const i = this.indexOf(ip);
    return i < 0 ? undefined : this.#entries[i];
  }

  /** Index (into `entries`) of the entry the address matches, or -1. */
  indexOf(ip: string): number {
    if (ip.indexOf(':') < 0) {
      if (!ipv4At(ip, 0)) return -1;
      const v = V4[0]!;
      const exact = this.#find4(v);
      return exact >= 0 ? exact : this.#range4(v ^ BIAS);
    }
    if (!ipv6Words(ip, WORDS)) return -1;
    const exact = this.#find6(WORDS);
    return exact >= 0 ? exact : this.#range6(WORDS);
  }

  #find4(v: number): number {
    const mask = this.#v4Mask;
    const keys = this.#v4Keys;
    const idx = this.#v4Idx;
    for (let slot = slot1(v, mask); ; slot = (slot + 1) & mask) {
      const at = idx[slot]!;
      if (at < 0) return -1;
      if (keys[slot] === v) return at;
    }
  }

  #find6(w: Int32Array): number {
    const mask = this.#v6Mask;
    const keys = this.#v6Keys;
    const idx = this.#v6Idx;
    const a = w[0]!;
    const b = w[1]!;
    const c = w[2]!;
    const d = w[3]!;
    for (let slot = slot4(a, b, c, d, mask); ; slot = (slot + 1) & mask) {
      const at = idx[slot]!;
      if (at < 0) return -1;
      const k = slot * 4;
      if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) return at;
    }
  }

  /** `biased`: the address with its sign bit flipped. */
  #range4(biased: number): number {
    const starts = this.#v4Start;
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= biased) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && biased <= this.#v4End[found]! ? this.#v4RangeIdx[found]! : -1;
  }

  #range6(w: Int32Array): number {
    let lo = 0;
    let hi = this.#v6RangeIdx.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBiased(this.#v6Start, mid * 4, w) <= 0) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && compareBiased(this.#v6End, found * 4, w) >= 0 ? this.#v6RangeIdx[found]! : -1;
  }
}
