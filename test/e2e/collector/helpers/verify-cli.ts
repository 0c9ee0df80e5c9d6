// Runs the package's own `nis2-otel verify` on envelopes extracted from a SIEM mock, as an
// investigator would after exporting them. Needs the package built (dist/): the test command builds
// it first; when it is absent this returns undefined and the caller skips.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, vectorsDir } from './envelopes.ts';

export interface CliVerdict {
  exitCode: number;
  ok: boolean;
  streams: { stream: string; state: string }[];
  output: string;
}

export function verifyWithCli(bodies: string[]): CliVerdict | undefined {
  const bin = join(REPO_ROOT, 'bin/nis2-otel.cjs');
  if (!existsSync(bin) || !existsSync(join(REPO_ROOT, 'dist/cjs/cli/main.js'))) return undefined;
  const keys = JSON.parse(readFileSync(join(vectorsDir(), 'keys.json'), 'utf8')) as { ed25519: { public_key_base64url: string } };
  const dir = mkdtempSync(join(tmpdir(), 'nis2-verify-'));
  try {
    const file = join(dir, 'exported.jsonl');
    writeFileSync(file, bodies.map((b) => `${b}\n`).join(''), 'utf8');
    let output: string;
    let exitCode = 0;
    try {
      output = execFileSync(process.execPath, [bin, 'verify', file, '--public-key', keys.ed25519.public_key_base64url, '--format', 'json'], {
        encoding: 'utf8',
        timeout: 60_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      const e = err as { status?: number; stdout?: string };
      exitCode = e.status ?? -1;
      output = e.stdout ?? '';
    }
    const parsed = JSON.parse(output) as { ok: boolean; streams: { stream: string; state: string }[] };
    return { exitCode, ok: parsed.ok, streams: parsed.streams.map((s) => ({ stream: s.stream, state: s.state })), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Test step: `nis2-otel verify` must accept every stream (skips when the package is not built). */
export function assertCliAccepts(t: TestContext, bodies: string[], streams: number): void {
  const verdict = verifyWithCli(bodies);
  if (verdict === undefined) {
    t.skip('package not built (dist/ missing): run `npm run build` to include the nis2-otel verify cross-check');
    return;
  }
  assert.equal(verdict.exitCode, 0, verdict.output);
  assert.equal(verdict.ok, true);
  assert.equal(verdict.streams.length, streams);
  for (const s of verdict.streams) assert.equal(s.state, 'intact-closed', s.stream);
}
