// Runs on every supported Node line (the test command runs it on Node 22 as well as 24).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

for (const [flag, entry, app] of [
  ['--require', join(root, 'dist/cjs/register.js'), join(root, 'examples/http-server.cjs')],
  ['--import', join(root, 'register.mjs'), join(root, 'examples/http-server.mjs')],
] as const) {
  test(`${flag}: rate-limits a real server and writes a signed stream that ends cleanly`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nis2-smoke-'));
    const child = spawn(process.execPath, [flag, entry, app], {
      cwd: dir,
      env: { ...process.env, PORT: '0', NIS2_RATE_LIMIT: '2/60s', NIS2_KEY_DIR: join(dir, 'keys'), NIS2_EVENTS_FILE: join(dir, 'events.jsonl') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('app did not start')), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          const m = /listening on (\S+)/.exec(d.toString());
          if (m) { clearTimeout(timer); resolve(m[1]!); }
        });
        child.on('exit', (code) => reject(new Error(`app exited ${code}`)));
      });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(url)).status);
      assert.deepEqual(statuses, [200, 200, 429, 429]);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
      child.kill('SIGTERM');
      assert.equal(await exited, 'SIGTERM');
      const events = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(events[0].event, 'nis2.integrity.stream_start');
      assert.equal(events.at(-1).event, 'nis2.integrity.stream_end');
      assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i));
      assert.ok(events.some((e) => e.event === 'nis2.rate_limit.exceeded' && e.attrs['client.address'] === '127.0.0.0'));
    } finally {
      child.kill('SIGKILL');
    }
  });
}
