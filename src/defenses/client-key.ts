import { isIPv4 } from 'node:net';
import { maskIp, parseIp } from '../net/ip.js';

/** A client key as two uint32 halves, written into a reusable object to avoid allocation. */
export interface ClientKey {
  hi: number;
  lo: number;
}

const IPV4_TAG = 0xffff_ffff; // ffff:ffff::/32 is unallocated IPv6 space, so no IPv6 key collides.

function fnv(bytes: Uint8Array, from: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * Maps a normalised address to its limiter key: IPv4 per address, IPv6 per `/ipv6Prefix` (one
 * subscriber usually holds a whole /56). Prefixes up to /64 map exactly; longer ones hash their
 * tail into the low half. Returns false for a non-IP (the caller keys it as one shared bucket).
 */
export function clientKey(ip: string, ipv6Prefix: number, out: ClientKey): boolean {
  if (isIPv4(ip)) {
    let v = 0;
    let octet = 0;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c === 46) { v = (v * 256 + octet) >>> 0; octet = 0; } else octet = octet * 10 + c - 48;
    }
    out.hi = IPV4_TAG;
    out.lo = (v * 256 + octet) >>> 0;
    return true;
  }
  const parsed = parseIp(ip);
  if (!parsed) return false;
  const b = maskIp(parsed, ipv6Prefix).bytes;
  out.hi = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  out.lo = ipv6Prefix <= 64 ? ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0 : fnv(b, 4);
  return true;
}
