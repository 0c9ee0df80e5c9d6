import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppProcess } from '../helpers/app-process.ts';
import { RedisServer } from '../helpers/redis-server.ts';

const redis = new RedisServer();
const apps: AppProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'nis2-redis-'));

before(() => redis.start());
after(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await redis.stop();
});

function events(file: string): Array<{ event: string; attrs: Record<string, unknown> }> {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

async function statuses(url: string, n: number, path = '/'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await fetch(url + path)).status);
  return out;
}

async function startApp(name: string, env: Record<string, string>): Promise<{ app: AppProcess; file: string }> {
  const file = join(dir, `${name}.jsonl`);
  const app = await AppProcess.start({
    NIS2_REDIS_URL: redis.url, NIS2_EVENTS_FILE: file, NIS2_KEY_DIR: join(dir, `${name}-keys`), NIS2_OTLP: 'off', ...env,
  });
  apps.push(app);
  // Let the app's Redis connection become ready: requests before that use the per-process store.
  await new Promise((r) => setTimeout(r, 300));
  return { app, file };
}

test('two instances share one limit through Redis', async () => {
  const a = await startApp('a', { NIS2_RATE_LIMIT: '4/60s', NIS2_REDIS_KEY_PREFIX: 'shared-test:' });
  const b = await startApp('b', { NIS2_RATE_LIMIT: '4/60s', NIS2_REDIS_KEY_PREFIX: 'shared-test:' });
  assert.deepEqual(await statuses(a.app.url, 2), [200, 200]);
  assert.deepEqual(await statuses(b.app.url, 2), [200, 200]);
  // The fifth request is over the shared limit whichever instance gets it.
  assert.deepEqual(await statuses(a.app.url, 1), [429]);
  assert.deepEqual(await statuses(b.app.url, 1), [429]);
  await a.app.stop();
  await b.app.stop();
  const blocked = [...events(a.file), ...events(b.file)].filter((e) => e.event === 'nis2.rate_limit.exceeded');
  assert.equal(blocked.length, 2);
});

test('Redis killed mid-test: fail-open keeps limiting per process, reports degraded once, then recovered', async () => {
  const { app, file } = await startApp('failopen', { NIS2_RATE_LIMIT: '3/60s', NIS2_REDIS_KEY_PREFIX: 'failopen:' });
  assert.deepEqual(await statuses(app.url, 2), [200, 200]);
  await redis.stop();
  // The insurance store starts counting at the outage: 3 allowed, then 429 — never a hang or a 5xx.
  const during = await statuses(app.url, 5);
  assert.deepEqual(during, [200, 200, 200, 429, 429]);
  await redis.start();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !events(file).some((e) => e.event === 'nis2.defense.recovered')) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await app.stop();
  const all = events(file);
  const degraded = all.filter((e) => e.event === 'nis2.defense.degraded');
  assert.equal(degraded.length, 1, 'one degraded event per outage, not one per request');
  assert.equal(degraded[0]!.attrs['nis2.defense'], 'redis');
  assert.ok(all.some((e) => e.event === 'nis2.defense.recovered'), 'recovery reported');
});

test('fail-closed answers 503 while Redis is down and serves again after it is back', async () => {
  const { app, file } = await startApp('failclosed', { NIS2_RATE_LIMIT: '100/60s', NIS2_REDIS_FAIL_OPEN: 'false', NIS2_REDIS_KEY_PREFIX: 'failclosed:' });
  assert.deepEqual(await statuses(app.url, 1), [200]);
  await redis.stop();
  const down = await statuses(app.url, 3);
  assert.deepEqual(down, [503, 503, 503]);
  await redis.start();
  let back = 0;
  for (let i = 0; i < 50 && back !== 200; i++) {
    await new Promise((r) => setTimeout(r, 200));
    back = (await fetch(app.url)).status;
  }
  assert.equal(back, 200);
  await app.stop();
  const all = events(file);
  assert.ok(all.some((e) => e.event === 'nis2.defense.degraded' && e.attrs['nis2.reason'] === 'store_unavailable'));
});
