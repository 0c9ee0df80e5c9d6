import { parseDuration, parseEnum, parseInteger, parseString, parseStringList, parseBoolean } from '../parse-values.js';
import type { KeySpec } from '../schema.js';

export const DEFAULT_SESSION_COOKIES = [
  'connect.sid', 'sid', 'session', 'sessionid', '__Host-sid', '__Secure-sid', '__Host-session', '__Secure-session',
  '__Host-connect.sid', '__Secure-connect.sid',
];

/** Configuration keys of the session guard (documented in the README table like every key). */
export const SESSION_KEYS: readonly KeySpec[] = [
  { key: 'session.mode', env: 'NIS2_SESSION_MODE', defaultText: 'the global `mode`', parse: parseEnum('enforce', 'monitor', 'off'),
    doc: 'Session hijack guard: `enforce` (401 and the session cookie cleared), `monitor` or `off`.' },
  { key: 'session.cookies', env: 'NIS2_SESSION_COOKIES', defaultValue: DEFAULT_SESSION_COOKIES, parse: parseStringList,
    doc: 'Cookie names that carry a session id (the first present wins).' },
  { key: 'session.bearer', env: 'NIS2_SESSION_BEARER', defaultValue: true, parse: parseBoolean,
    doc: 'Treat an `Authorization: Bearer` token as a session when no session cookie is present.' },
  { key: 'session.ipBinding', env: 'NIS2_SESSION_IP_BINDING', defaultValue: 'subnet', parse: parseEnum('exact', 'subnet', 'none'),
    doc: 'Bind a session to its client address: `exact`, `subnet` (see the two prefixes below) or `none`.' },
  { key: 'session.ipv4Prefix', env: 'NIS2_SESSION_IPV4_PREFIX', defaultValue: 24, parse: parseInteger(8, 32),
    doc: 'Subnet of an IPv4 session binding.' },
  { key: 'session.ipv6Prefix', env: 'NIS2_SESSION_IPV6_PREFIX', defaultValue: 64, parse: parseInteger(16, 128),
    doc: 'Subnet of an IPv6 session binding.' },
  { key: 'session.uaBinding', env: 'NIS2_SESSION_UA_BINDING', defaultValue: 'family', parse: parseEnum('exact', 'family', 'none'),
    doc: 'Bind a session to its User-Agent: `exact`, `family` (browser + OS, no version: browser updates pass) or `none`.' },
  { key: 'session.idleTtl', env: 'NIS2_SESSION_IDLE_TTL', defaultValue: '30m', parse: parseDuration,
    doc: 'A binding not seen for this long is forgotten (the next request binds afresh).' },
  { key: 'session.maxSessions', env: 'NIS2_SESSION_MAX', defaultValue: 100_000, parse: parseInteger(16, 10_000_000),
    doc: 'Cap on bindings held in memory (least recently seen dropped first). With Redis, bindings live there.' },
  { key: 'session.hashKey', env: 'NIS2_SESSION_HASH_KEY', secret: true, parse: parseString, defaultText: 'random per process',
    doc: 'Key of the keyed hash that replaces session ids (only the hash is stored or logged). Set the same value on every instance when using Redis.' },
];

/** Options of the session guard, as accepted in code and in the config file. */
export interface SessionOptions {
  session?: {
    mode?: 'enforce' | 'monitor' | 'off'; cookies?: string | string[]; bearer?: boolean | string;
    ipBinding?: 'exact' | 'subnet' | 'none'; ipv4Prefix?: number | string; ipv6Prefix?: number | string;
    uaBinding?: 'exact' | 'family' | 'none'; idleTtl?: string | number; maxSessions?: number | string; hashKey?: string;
  };
}
