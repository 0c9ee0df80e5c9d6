import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/nis2-otel.cjs', import.meta.url));

test('nis2-otel demo rate-limits the example app, verifies its log and catches the edited copy', () => {
  const run = spawnSync(process.execPath, [bin, 'demo'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /statuses: 200 200 200 200 200 429 429 429/);
  assert.match(run.stdout, /statuses: 429 429 429 429/, 'spoofed X-Forwarded-For must not dodge the limit');
  assert.match(run.stdout, /intact, closed/);
  assert.match(run.stdout, /TAMPERED/);
  assert.match(run.stdout, /demo behaved as expected/);
});
