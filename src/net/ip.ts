import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as 16 bytes (IPv4 as IPv4-mapped IPv6) plus its family. */
export interface ParsedIp {
  readonly family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
}

const MAPPED_PREFIX = '::ffff:';

/**
 * Normalises a socket or header address: strips IPv4-mapped IPv6 (`::ffff:1.2.3.4` → `1.2.3.4`),
 * brackets and zone ids, and lower-cases IPv6. Returns undefined for anything that is not an IP, so
 * a hostile header can never become a key.
 */
export function normalizeIp(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let text = raw;
  if (text.length > 0 && text.charCodeAt(0) === 91 /* [ */) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    text = text.slice(1, end);
  }
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (isIPv4(text)) return text;
  // `a.b.c.d:port`, as some proxies write X-Forwarded-For entries.
  const colon = text.indexOf(':');
  if (colon > 0 && colon === text.lastIndexOf(':') && isIPv4(text.slice(0, colon)) && /^\d{1,5}$/.test(text.slice(colon + 1))) {
    return text.slice(0, colon);
  }
  if (!isIPv6(text)) return undefined;
  text = text.toLowerCase();
  if (text.startsWith(MAPPED_PREFIX)) {
    const tail = text.slice(MAPPED_PREFIX.length);
    if (isIPv4(tail)) return tail;
  }
  return text;
}

/** Parses a normalised address into bytes; undefined when it is not an IP. */
export function parseIp(text: string): ParsedIp | undefined {
  if (isIPv4(text)) return { family: 4, bytes: parseIPv4(text) };
  if (isIPv6(text)) {
    const bytes = parseIPv6(text);
    return bytes ? { family: 6, bytes } : undefined;
  }
  return undefined;
}

function parseIPv4(text: string): Uint8Array {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      out[part++] = value;
      value = 0;
    } else {
      value = value * 10 + (c - 48);
    }
  }
  out[part] = value;
  return out;
}

function parseIPv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let head = text;
  let tail = '';
  const gap = text.indexOf('::');
  if (gap >= 0) {
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const expand = (groups: string[]): number[] => {
    const words: number[] = [];
    for (const g of groups) {
      if (g.includes('.')) {
        const v4 = parseIPv4(g);
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        words.push(parseInt(g, 16));
      }
    }
    return words;
  };
  const h = expand(headGroups);
  const t = expand(tailGroups);
  if (h.length + t.length > 8) return undefined;
  const words = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Formats bytes back to text (IPv6 in RFC 5952 compressed form). */
export function formatIp(ip: ParsedIp): string {
  const b = ip.bytes;
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Zeroes every bit after the first `prefix` bits. */
export function maskIp(ip: ParsedIp, prefix: number): ParsedIp {
  const bytes = new Uint8Array(ip.bytes);
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  return { family: ip.family, bytes };
}

/** A parsed CIDR block. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly text: string;
}

/** Parses `a.b.c.d/n`, `x::/n` or a bare address (a /32 or /128); undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addr = normalizeIp(slash >= 0 ? trimmed.slice(0, slash) : trimmed);
  if (!addr) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > max) return undefined;
  }
  const masked = maskIp(ip, prefix);
  return { family: ip.family, bytes: masked.bytes, prefix, text: `${formatIp(masked)}/${prefix}` };
}

/** True when `ip` lies inside `cidr` (families must match). */
export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== ip.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (cidr.bytes[full]! & mask) === (ip.bytes[full]! & mask);
}

/** A set of CIDR blocks answering membership for normalised address strings. */
export class CidrSet {
  readonly #blocks: readonly Cidr[];
  // Hot-path cache: trusted-proxy checks repeat the same few proxy addresses on every request.
  readonly #cache = new Map<string, boolean>();

  constructor(blocks: readonly Cidr[]) {
    this.#blocks = blocks;
  }

  get size(): number {
    return this.#blocks.length;
  }

  has(address: string): boolean {
    const cached = this.#cache.get(address);
    if (cached !== undefined) return cached;
    const ip = parseIp(address);
    const hit = ip !== undefined && this.#blocks.some((b) => cidrContains(b, ip));
    // Bounded: an attacker controls the addresses asked about.
    if (this.#cache.size >= 1024) this.#cache.clear();
    this.#cache.set(address, hit);
    return hit;
  }
}
