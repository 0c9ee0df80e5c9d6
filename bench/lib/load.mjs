// Load generation from a separate process, pinned to its own core: Debian's `wrk` when installed
// (C, event-driven: it outruns a single-core Node server, so it never hides overhead), else
// autocannon's programmatic API in a child process (bench/lib/autocannon-worker.mjs). Every run
// targets 127.0.0.1 only and stops by itself after `durationS`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CPU, runJson } from './proc.mjs';

const WORKER = fileURLToPath(new URL('./autocannon-worker.mjs', import.meta.url));

let wrkOk;
export function hasWrk() {
  if (wrkOk === undefined) wrkOk = spawnSync('wrk', ['--version']).error === undefined;
  return wrkOk;
}

/** `auto` picks wrk when present. */
export function pickLoader(wanted = 'auto') {
  if (wanted === 'wrk' && !hasWrk()) throw new Error('--loader wrk: wrk is not installed (apt-get install wrk)');
  if (wanted === 'auto') return hasWrk() ? 'wrk' : 'autocannon';
  return wanted;
}

function assertLoopback(url) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') throw new Error(`refusing to load ${url}: loopback only`);
}

let luaDir;
function wrkScript(xffPool) {
  if (luaDir === undefined) {
    luaDir = mkdtempSync(join(tmpdir(), 'nis2-bench-wrk-'));
    process.once('exit', () => rmSync(luaDir, { recursive: true, force: true }));
  }
  const file = join(luaDir, `report-${xffPool ?? 0}.lua`);
  // X-Forwarded-For spray: addresses from 198.18.0.0/15 (RFC 2544's benchmarking range); they only
  // ever appear in a header, the connection is always to 127.0.0.1.
  const request = xffPool
    ? `local i = 0
request = function()
  i = (i + 1) % ${xffPool}
  return wrk.format(nil, nil, { ["X-Forwarded-For"] = string.format("198.%d.%d.%d", 18 + math.floor(i / 65536) % 2, math.floor(i / 256) % 256, i % 256) })
end
`
    : '';
  writeFileSync(file, `${request}done = function(summary, latency, requests)
  io.write(string.format('\\n{"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`);
  return file;
}

/**
 * One load run. Returns throughput and latency (µs); `non2xx` counts 4xx/5xx answers and
 * `errors` socket errors and timeouts.
 */
export async function runLoad({ url, durationS, connections = 32, loader = 'auto', xffPool }) {
  assertLoopback(url);
  const which = pickLoader(loader);
  let r;
  if (which === 'wrk') {
    const raw = await runJson({
      label: 'wrk',
      cmd: 'wrk',
      args: ['-t1', `-c${connections}`, `-d${Math.max(1, Math.round(durationS))}s`, '--timeout', '10s', '-s', wrkScript(xffPool), url],
      cpu: CPU.load,
      timeoutMs: (durationS + 30) * 1000,
    });
    r = { requests: raw.requests, seconds: raw.duration_us / 1e6, non2xx: raw.non2xx, errors: raw.errors, latencyUs: { p50: raw.p50, p90: raw.p90, p99: raw.p99, max: raw.max, mean: raw.mean } };
  } else {
    r = await runJson({
      label: 'autocannon',
      args: [WORKER, JSON.stringify({ url, durationS, connections, xffPool })],
      cpu: CPU.load,
      timeoutMs: (durationS + 30) * 1000,
    });
  }
  return { loader: which, connections, ...r, rps: r.requests / r.seconds };
}
