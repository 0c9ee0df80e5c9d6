import { Redis } from 'ioredis';
import { KEY_BY_PATH } from '../config/schema.js';
import { result, type CheckContext, type CheckResult } from './types.js';

/** `host:port` of a Redis URL, for messages: the URL itself may hold a password and is never printed. */
export function redisTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || 6379}`;
  } catch {
    return 'the configured Redis';
  }
}

/** One PING over a fresh connection that neither retries nor queues, bounded by `timeoutMs`. */
export async function pingRedis(url: string, timeoutMs: number): Promise<{ ok: true; reply: string } | { ok: false; reason: string }> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  // Errors are reported through the promise below; an unhandled 'error' event would crash the CLI.
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const reply = await Promise.race([client.connect().then(() => client.ping()), deadline]);
    return { ok: true, reply };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, reason: (e.code ?? e.message ?? 'error').slice(0, 200) };
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** Redis reachable when configured: rate limits and session bindings are shared through it. */
export async function checkRedis(ctx: CheckContext): Promise<CheckResult[]> {
  const id = 'store.redis.reachable';
  if (!KEY_BY_PATH.has('redis.url')) return [];
  const url = ctx.config.values.get('redis.url') as string | undefined;
  if (url === undefined) return [result(id, 'c', 'info', 'no Redis configured: rate limits and session bindings are per process (each instance counts alone)')];
  const target = redisTarget(url);
  if (ctx.offline) return [result(id, 'c', 'info', `not probed (--offline): ${target}`, { data: { target } })];
  const r = await pingRedis(url, ctx.timeoutMs);
  if (!r.ok) {
    const failOpen = ctx.config.values.get('redis.failOpen') !== false;
    return [result(id, 'c', 'fail', `${target} does not answer PING (${r.reason}): the shared limits fall back to ${failOpen ? 'per-process counting (fail-open)' : 'refusing requests (fail-closed)'}`,
      { fix: 'start Redis or fix NIS2_REDIS_URL (host, port, password, TLS)', data: { target, reason: r.reason } })];
  }
  return [result(id, 'c', 'pass', `${target} answers PING`, { data: { target } })];
}
