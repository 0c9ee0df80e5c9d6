import { formatIp, maskIp, normalizeIp, parseIp } from '../net/ip.js';

/** Prefix lengths kept in clear when an address is written to an event. */
export interface AnonymizeOptions {
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
}

/**
 * Masks an address to its network prefix (IPv4 /24 and IPv6 /48 by default, DESIGN §4) so clear
 * attributes identify a network, not a person. Anything that is not an IP becomes `invalid`
 * rather than being logged raw.
 */
export function anonymizeIp(raw: string, options: AnonymizeOptions): string {
  const normalized = normalizeIp(raw);
  const ip = normalized === undefined ? undefined : parseIp(normalized);
  if (!ip) return 'invalid';
  return formatIp(maskIp(ip, ip.family === 4 ? options.ipv4Prefix : options.ipv6Prefix));
}
