import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('an events file under a regular file stops the start with a coded error naming the key, not a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nis2-io-'));
  writeFileSync(join(dir, 'blocker'), 'x');
  const run = spawnSync(process.execPath, ['--require', join(root, 'dist/cjs/register.js'), '-e', 'setTimeout(() => {}, 10)'], {
    cwd: dir, encoding: 'utf8', timeout: 15_000,
    env: { PATH: process.env['PATH'] ?? '', NIS2_EVENTS_FILE: join(dir, 'blocker', 'events.jsonl'), NIS2_KEY_DIR: join(dir, 'keys') },
  });
  assert.equal(run.status, 78);
  assert.match(run.stderr, /NIS2_ERR_CONFIG_INVALID: export\.eventsFile \(NIS2_EVENTS_FILE\) '.*blocker\/events\.jsonl' cannot be used \((ENOTDIR|EEXIST)\)/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});
