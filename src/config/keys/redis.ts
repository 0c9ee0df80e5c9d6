import { parseBoolean, parseDuration, parseString, ValueError } from '../parse-values.js';
import type { KeySpec } from '../schema.js';

function parseRedisUrl(value: unknown): string {
  const text = parseString(value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValueError("expected a Redis URL such as 'redis://127.0.0.1:6379/0' or 'rediss://user:pass@host:6380'");
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ValueError("expected a redis:// or rediss:// URL");
  return text;
}

/** Configuration keys of the shared Redis store (documented in the README table like every key). */
export const REDIS_KEYS: readonly KeySpec[] = [
  { key: 'redis.url', env: 'NIS2_REDIS_URL', secret: true, parse: parseRedisUrl,
    doc: 'Redis shared by all instances for rate limits and session bindings (`redis://` or `rediss://` for TLS). Unset: state is per process.' },
  { key: 'redis.failOpen', env: 'NIS2_REDIS_FAIL_OPEN', defaultValue: true, parse: parseBoolean,
    doc: 'When Redis is down or slow: `true` keeps limiting with the per-process store (availability); `false` answers 503 to requests that need the shared store (fail closed).' },
  { key: 'redis.commandTimeout', env: 'NIS2_REDIS_COMMAND_TIMEOUT', defaultValue: '250ms', parse: parseDuration,
    doc: 'A Redis command slower than this counts as an outage for that request (never a stalled request).' },
  { key: 'redis.keyPrefix', env: 'NIS2_REDIS_KEY_PREFIX', defaultValue: 'nis2:', parse: parseString,
    doc: 'Prefix of every key the package writes to Redis.' },
];

/** Options of the Redis concern, as accepted in code and in the config file. */
export interface RedisOptions {
  redis?: { url?: string; failOpen?: boolean | string; commandTimeout?: string | number; keyPrefix?: string };
}
