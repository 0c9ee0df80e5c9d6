import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES } from '../dist/esm/index.js';
// @ts-expect-error plain .mjs script without declarations
import { configTable } from '../scripts/config-table.mjs';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('the README configuration table is the one generated from the schema', () => {
  const table = configTable() as string;
  assert.ok(readme.includes(table), 'README table is stale: run `node scripts/config-table.mjs` and paste its output into README.md');
});

test('every error and warning code is documented in the README, and the README lists no code that does not exist', () => {
  for (const code of Object.keys(ERROR_CODES)) assert.match(readme, new RegExp(`\\| \`${code}\` \\|`), `${code} missing from README`);
  const documented = [...readme.matchAll(/\| `(NIS2_(?:ERR|WRN)_[A-Z_]+)` \|/g)].map((m) => m[1]);
  for (const code of documented) assert.ok(code! in ERROR_CODES, `README documents unknown code ${code}`);
});

test('every env variable the issue fixes for scripts exists', () => {
  for (const env of ['NIS2_CONFIG_FILE', 'NIS2_MODE', 'NIS2_SIGNING_KEY', 'NIS2_SIGNING_KEY_FILE', 'NIS2_HMAC_KEY', 'NIS2_EVENTS_FILE', 'NIS2_TRUSTED_PROXIES', 'NIS2_RATE_LIMIT']) {
    assert.ok(readme.includes(`\`${env}\``), env);
  }
});
