// Prints the README's configuration table from the schema (src/config/schema.ts, via dist), so the
// docs cannot drift from the code: test/docs.test.ts compares this output with the README.
import { CONFIG_KEYS } from '../dist/esm/index.js';

export function configTable() {
  const rows = ['| key (code / file) | environment | default | meaning |', '|---|---|---|---|'];
  for (const k of CONFIG_KEYS) {
    const def = k.defaultText ?? (k.defaultValue === undefined ? '—' : Array.isArray(k.defaultValue) ? (k.defaultValue.length ? k.defaultValue.join(', ') : 'none') : `\`${k.defaultValue}\``);
    rows.push(`| \`${k.key}\` | ${k.env ? `\`${k.env}\`` : '—'} | ${def} | ${k.doc.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${configTable()}\n`);
