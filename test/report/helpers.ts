// Shared by the report tests: fixtures in a fresh temp dir, and the CLI run as a user would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { IncidentReport } from '../../dist/esm/report/schema.js';
import { HMAC_KEY_BYTES, HMAC_KID, writeFixtures, type FixtureFiles } from '../fixtures/report/streams.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';

/** Writes the fixtures into a temp dir that is removed when the test file ends. */
export function fixtures(prefix: string): FixtureFiles {
  const dir = mkdtempSync(join(tmpdir(), `nis2-report-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return writeFixtures(dir);
}

/** The key flags that make stream C (HMAC) verifiable. */
export const HMAC_ARGS = ['--hmac-key', HMAC_KEY_BYTES.toString('base64'), '--hmac-kid', HMAC_KID];

export async function reportJson(args: string[]): Promise<CliResult & { report: IncidentReport }> {
  const r = await runCli(['report', '--format', 'json', ...args]);
  let report: IncidentReport;
  try {
    report = JSON.parse(r.stdout) as IncidentReport;
  } catch {
    throw new Error(`report did not print JSON (exit ${r.code}): ${r.stderr}`);
  }
  return { ...r, report };
}
