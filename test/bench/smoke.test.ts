// Keeps the benchmark harness from rotting: `node bench/run.mjs --smoke` runs every scenario for
// about a second and this test checks the shape of what it wrote, never the speed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Summary { median: number; min: number; max: number; n: number }
interface Variant { label: string; rps: Summary; p50Us: Summary; p99Us: Summary; vsBare?: { throughput: Summary }; vsOtel?: { throughput: Summary } }
interface HttpBlock { app: string; variants: Record<string, Variant>; skipped: Record<string, string> }
interface Target { id: string; target: string; met: boolean | undefined }
interface Results {
  meta: { mode: string; loader: string; node: string };
  http: Record<string, HttpBlock>;
  attack: {
    rejection: Record<string, { ratio?: Summary; rejectedShare?: number; error?: string }>;
    spray: { keys: number; stores: Record<string, { bytesPerKey: number; retainedBytes: number; peakRssBytes: number }> };
    floodEvents: { budget: number; requests: number; securityEventsInFlood: number; byEvent: Record<string, number> };
  };
  micro: { signing: Record<string, { perSec: Summary }>; verify: Record<string, { perSec: Summary; state: string }> };
  targets: Target[];
}

function runSmoke(out: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bench/run.mjs'), '--smoke', '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('bench --smoke runs every scenario and writes results of the published shape', { timeout: 170_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'nis2-bench-smoke-test-'));
  try {
    const run = await runSmoke(out);
    assert.equal(run.code, 0, `bench/run.mjs --smoke failed:\n${run.stderr.slice(-4000)}`);
    const res = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
    assert.equal(res.meta.mode, 'smoke');
    assert.ok(['wrk', 'autocannon'].includes(res.meta.loader));

    for (const app of ['hello', 'express']) {
      const block = res.http[app];
      assert.ok(block, `no HTTP results for ${app}`);
      for (const id of ['bare', 'otel', 'otel+guard', 'otel+guard+access-chain', 'otel+guard+access-record', 'guard', 'otel-untraced']) {
        const v = block.variants[id];
        assert.ok(v, `${app}/${id} was not measured: ${block.skipped[id] ?? ''}`);
        // autocannon (the loader where wrk is not installed) reports latency in whole milliseconds: p50 may be 0.
        assert.ok(v.rps.median > 0 && v.p50Us.median >= 0 && v.p99Us.median >= v.p50Us.median, `${app}/${id} has no throughput/latency`);
        if (id !== 'bare') assert.ok(v.vsBare!.throughput.median > 0, `${app}/${id} has no ratio against bare`);
        if (id !== 'otel') assert.ok(v.vsOtel!.throughput.median > 0, `${app}/${id} has no ratio against OTel`);
      }
      // The alternatives are measured, or skipped with a reason (e.g. a package that cannot run here).
      const alternatives = ['dd-trace-appsec', 'aikido', ...(app === 'express' ? ['express-rate-limit'] : [])];
      for (const id of alternatives) assert.ok(block.variants[id] || block.skipped[id], `${app}/${id} neither measured nor skipped`);
    }

    for (const [variant, r] of Object.entries(res.attack.rejection)) {
      assert.equal(r.error, undefined, `rejection ${variant}: ${r.error}`);
      assert.ok(r.ratio!.median > 0);
      assert.ok(r.rejectedShare! > 0.9, `rejection ${variant}: the flood was not answered 429`);
    }
    for (const store of ['window-store', 'rate-limiter-flexible', 'express-rate-limit']) {
      const s = res.attack.spray.stores[store];
      assert.ok(s && s.bytesPerKey > 0 && s.retainedBytes > 0, `spray ${store} missing`);
    }
    assert.ok(res.attack.floodEvents.requests > 0);
    assert.ok(res.attack.floodEvents.byEvent['nis2.integrity.stream_start'] === 1, 'the flood server wrote no signed stream');

    for (const k of ['ed25519-record', 'chain+checkpoints', 'hmac-record', 'tweetnacl-record']) {
      assert.ok(res.micro.signing[k]!.perSec.median > 0, `micro ${k} missing`);
    }
    for (const k of ['chain', 'record']) assert.equal(res.micro.verify[k]!.state, 'intact-closed', `verifier on ${k} stream`);

    const ids = res.targets.map((t) => t.id);
    for (const id of ['guard-under-tracing-hello', 'guard-alone-hello', 'access-chain-hello', 'chain-signing', 'verify', 'state-1m', 'flood-budget']) {
      assert.ok(ids.includes(id), `target ${id} not evaluated`);
    }
    for (const t of res.targets) assert.ok(t.met === true || t.met === false, `target ${t.id} has no verdict`);

    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    for (const heading of ['## Targets', '## HTTP overhead', '## Attack path', '## Pipeline micro-benchmarks']) assert.ok(md.includes(heading), `latest.md lacks ${heading}`);
    assert.ok(run.stdout.includes('## Targets'), 'the table is not printed');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
