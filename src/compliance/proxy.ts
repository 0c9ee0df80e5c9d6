import type { Cidr } from '../net/ip.js';
import { result, type CheckContext, type CheckResult } from './types.js';

/**
 * Shortest prefixes that still read as "one network": anything wider (down to 0.0.0.0/0 or ::/0)
 * trusts a good part of the internet to say who the client is.
 */
const MIN_PREFIX = { 4: 8, 6: 16 } as const;

/** The trusted-proxy entries that cover too much of the address space to be a proxy. */
export function overlyBroadProxies(cidrs: readonly Cidr[]): Cidr[] {
  return cidrs.filter((c) => c.prefix < MIN_PREFIX[c.family]);
}

/** Trusted proxies set when forwarding headers are expected; no trusted range so broad that clients can spoof their address. */
export function checkProxies(ctx: CheckContext): CheckResult[] {
  const { trustedProxies: cidrs, trustedProxyHops: hops } = ctx.config;
  const out: CheckResult[] = [];
  const listed = cidrs.map((c) => c.text).join(', ');
  if (cidrs.length > 0) {
    out.push(result('proxy.trusted', 'i', 'pass', `Forwarded/X-Forwarded-For believed from ${listed}`, { data: { proxies: cidrs.length, hops } }));
  } else if (hops > 0) {
    out.push(result('proxy.trusted', 'i', 'pass', `trustedProxyHops=${hops}: the client is ${hops} hop(s) from the right of X-Forwarded-For (a CIDR list in NIS2_TRUSTED_PROXIES is sturdier, and the MFA proxy header needs it)`, { data: { proxies: 0, hops } }));
  } else if (ctx.behindProxy) {
    out.push(result('proxy.trusted', 'i', 'fail',
      'the app is expected behind a proxy but no proxy is trusted: every request seems to come from the proxy, so one rate-limit bucket holds all clients and events name the proxy, not the attacker',
      { fix: "set NIS2_TRUSTED_PROXIES to the proxy's addresses (CIDRs, or 'loopback'/'private')", data: { proxies: 0, hops: 0 } }));
  } else {
    out.push(result('proxy.trusted', 'i', 'info',
      'no proxy trusted: forwarding headers are ignored, right for an app that faces clients directly (run with --behind-proxy, or NIS2_EXPECT_PROXY=true, to require one)',
      { data: { proxies: 0, hops: 0 } }));
  }
  if (cidrs.length === 0) {
    out.push(result('proxy.ranges', 'i', 'info', 'no trusted proxy ranges to assess'));
  } else {
    const broad = overlyBroadProxies(cidrs);
    if (broad.length > 0) {
      out.push(result('proxy.ranges', 'i', 'warn',
        `trustedProxies includes ${broad.map((c) => c.text).join(', ')}: addresses in it can claim any client address with X-Forwarded-For and dodge rate limits and deny lists`,
        { fix: "list only the proxies' own addresses or subnets", data: { broad: broad.map((c) => c.text).join(',') } }));
    } else {
      out.push(result('proxy.ranges', 'i', 'pass', `every trusted range is at most a /${MIN_PREFIX[4]} (IPv4) or /${MIN_PREFIX[6]} (IPv6)`));
    }
  }
  return out;
}
