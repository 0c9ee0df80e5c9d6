import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AppProcess } from '../helpers/app-process.ts';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

test('under register, a webhook that keeps failing becomes a signed nis2.alerting.delivery_failed event, and the app keeps serving', async () => {
  let hits = 0;
  const receiver = http.createServer((req, res) => { hits++; req.resume(); res.writeHead(500).end(); });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { receiver.closeAllConnections(); receiver.close(() => r()); }));
  const dir = mkdtempSync(join(tmpdir(), 'nis2-alertfail-'));
  const events = join(dir, 'events.jsonl');
  const app = await AppProcess.start({
    NIS2_EVENTS_FILE: events, NIS2_KEY_DIR: join(dir, 'keys'), NIS2_RATE_LIMIT: '1/60s', NIS2_ALERTING_RETRIES: '0',
    NIS2_WEBHOOKS: JSON.stringify([{ type: 'slack', name: 'soc', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }]),
  });
  cleanups.push(() => app.stop());
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await fetch(app.url)).status);
  assert.deepEqual(statuses, [200, 429, 429]);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && hits === 0) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 300));
  await app.stop();
  const records = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const failed = records.find((e) => e.event === 'nis2.alerting.delivery_failed');
  assert.ok(failed, `events: ${records.map((e) => e.event).join(', ')}`);
  assert.equal(failed.attrs['nis2.alerting.destination'], 'soc');
  assert.equal(failed.attrs['nis2.alerting.event'], 'nis2.rate_limit.exceeded');
  assert.ok(!JSON.stringify(failed).includes('/hook'), 'the webhook URL (a credential) is never logged');
  assert.equal(records.filter((e) => e.event === 'nis2.alerting.delivery_failed').length, 1, 'reported once, not once per alert');
});
