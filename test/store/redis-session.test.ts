import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppProcess } from '../helpers/app-process.ts';
import { CHROME_120 } from '../helpers/in-process.ts';
import { RedisServer } from '../helpers/redis-server.ts';

const redis = new RedisServer();
const apps: AppProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'nis2-redis-sess-'));
before(() => redis.start());
after(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await redis.stop();
});

test('a session bound on one instance is checked on another (shared bindings, shared hash key)', async () => {
  const env = (name: string) => ({
    NIS2_REDIS_URL: redis.url, NIS2_TRUSTED_PROXIES: '127.0.0.1/32', NIS2_SESSION_HASH_KEY: 'shared-test-key-0123456789',
    NIS2_EVENTS_FILE: join(dir, `${name}.jsonl`), NIS2_KEY_DIR: join(dir, `${name}-keys`), NIS2_OTLP: 'off',
  });
  const a = await AppProcess.start(env('a'));
  const b = await AppProcess.start(env('b'));
  apps.push(a, b);
  await new Promise((r) => setTimeout(r, 300));
  const req = (app: AppProcess, from: string) => fetch(app.url, { headers: { Cookie: 'connect.sid=s%3Ashared.sig', 'X-Forwarded-For': from, 'User-Agent': CHROME_120 } });
  assert.equal((await req(a, '198.51.100.10')).status, 200);
  assert.equal((await req(b, '198.51.100.20')).status, 200, 'same /24 on the other instance passes');
  assert.equal((await req(b, '203.0.113.5')).status, 401, 'another network on the other instance is caught');
});
