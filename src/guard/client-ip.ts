import type { Nis2Config } from '../config/load.js';
import type { AnyRequest } from '../defenses/types.js';
import { CidrSet, normalizeIp } from '../net/ip.js';
import { warnOnce } from '../warn.js';
import { parseForwarded, parseXForwardedFor } from './forwarded.js';

/**
 * Resolves the client address. The socket peer is the truth unless it is a trusted proxy; then the
 * forwarding chain (`Forwarded` if present, else `X-Forwarded-For`) is walked from the right and the
 * first untrusted hop is the client (with `trustedProxyHops`, the hop that many places from the
 * right). A hop that is not an IP stops the walk at the last good address: a forged garbage entry
 * must not become a key. Without trusted proxies the headers are never read, only noticed once.
 */
export class ClientIpResolver {
  readonly #trusted: CidrSet;
  readonly #hops: number;
  readonly #enabled: boolean;

  constructor(config: Pick<Nis2Config, 'trustedProxies' | 'trustedProxyHops'>) {
    this.#trusted = new CidrSet(config.trustedProxies);
    this.#hops = config.trustedProxies.length > 0 ? 0 : config.trustedProxyHops;
    this.#enabled = config.trustedProxies.length > 0 || config.trustedProxyHops > 0;
  }

  /** True when `peer` is a configured trusted proxy. */
  isTrusted(peer: string): boolean {
    return this.#trusted.size > 0 ? this.#trusted.has(peer) : this.#hops > 0;
  }

  /** Returns the normalised client address ('unknown' when the socket has none). */
  resolve(req: AnyRequest, peer: string = peerOf(req)): string {
    const headers = req.headers;
    if (!this.#enabled) {
      if (headers['x-forwarded-for'] !== undefined || headers['forwarded'] !== undefined) {
        warnOnce('NIS2_WRN_FORWARDED_UNTRUSTED',
          'requests carry Forwarded/X-Forwarded-For but no proxy is trusted: the headers are ignored and the socket address is used. If the app is behind a proxy, set NIS2_TRUSTED_PROXIES (CIDRs) or NIS2_TRUSTED_PROXY_HOPS.');
      }
      return peer;
    }
    const chain = headers['forwarded'] !== undefined ? parseForwarded(headers['forwarded']) : parseXForwardedFor(headers['x-forwarded-for']);
    if (this.#hops > 0) {
      // The peer is the nearest of `hops` proxies; each appended the address it saw, so the client
      // is `hops` entries in from the right (express/proxy-addr semantics for a numeric trust).
      let client = peer;
      for (let i = chain.length - 1; i >= 0 && i >= chain.length - this.#hops; i--) {
        const ip = normalizeIp(chain[i]);
        if (ip === undefined) return client;
        client = ip;
      }
      return client;
    }
    if (!this.#trusted.has(peer)) return peer;
    let client = peer;
    for (let i = chain.length - 1; i >= 0; i--) {
      const ip = normalizeIp(chain[i]);
      if (ip === undefined) return client;
      client = ip;
      if (!this.#trusted.has(ip)) return ip;
    }
    return client;
  }
}

/** The TCP peer, normalised; http2 compat requests expose it through the session socket. */
export function peerOf(req: AnyRequest): string {
  return normalizeIp(req.socket?.remoteAddress) ?? 'unknown';
}
