import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('stream_start declares the key id PII is sealed to (DESIGN §4), and none when sealing is off', () => {
  const keygen = spawnSync(process.execPath, [join(root, 'bin/nis2-otel.cjs'), 'keygen', '--encryption', '--format', 'json'], { encoding: 'utf8' });
  assert.equal(keygen.status, 0, keygen.stderr);
  const key = JSON.parse(keygen.stdout) as Record<string, string>;
  const publicKey = Object.entries(key).find(([k]) => /public/i.test(k))![1];
  const kid = key['kid'] ?? Object.entries(key).find(([k]) => /kid/i.test(k))![1];
  for (const [env, expected] of [[{ NIS2_PII_PUBLIC_KEY: publicKey }, kid], [{}, undefined]] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'nis2-piikid-'));
    const run = spawnSync(process.execPath, ['--require', join(root, 'dist/cjs/register.js'), '-e', 'setTimeout(() => {}, 50)'], {
      cwd: dir, encoding: 'utf8', timeout: 15_000,
      env: { PATH: process.env['PATH'] ?? '', NODE_NO_WARNINGS: '1', NIS2_KEY_DIR: join(dir, 'k'), NIS2_EVENTS_FILE: join(dir, 'e.jsonl'), ...env },
    });
    assert.equal(run.status, 0, run.stderr);
    const start = JSON.parse(readFileSync(join(dir, 'e.jsonl'), 'utf8').split('\n')[0]!);
    assert.equal(start.event, 'nis2.integrity.stream_start');
    assert.equal(start.attrs['nis2.pii.kid'], expected);
  }
});
