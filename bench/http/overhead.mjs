// HTTP overhead: every variant of bench/http/variants.mjs on one app, servers started once and
// loaded in interleaved rounds (the order rotates each round), so slow drift of a shared machine
// lands on every variant alike. Ratios are paired per round, then summarised by their median.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad } from '../lib/load.mjs';
import { closedPort, startServer } from '../lib/proc.mjs';
import { pairedRatio, round, summary } from '../lib/stats.mjs';
import { VARIANTS, processSpec } from './variants.mjs';

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, all threads) a process has used so far; undefined off Linux. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return undefined;
  }
}

/** Runs one measured load and adds the server's CPU time per request (µs), robust to a slow loader. */
export async function measure(server, load) {
  const c0 = cpuSeconds(server.pid);
  const m = await runLoad(load);
  const c1 = cpuSeconds(server.pid);
  m.cpuUsPerReq = c0 !== undefined && c1 !== undefined && m.requests > 0 ? ((c1 - c0) * 1e6) / m.requests : NaN;
  return m;
}

/**
 * @param {object} o
 * @param {'hello'|'express'} o.app
 * @param {string[]} [o.only] variant ids to run (default: all that apply)
 */
export async function runOverhead({ app, only, rounds, durationS, warmupS, connections, loader, tmp, log }) {
  const port = await closedPort();
  const chosen = VARIANTS.filter((v) => v.apps.includes(app) && (!only || only.includes(v.id)));
  const servers = new Map();
  const skipped = {};
  for (const v of chosen) {
    const spec = processSpec(v.id, app, { dir: join(tmp, `${app}-${v.id}`), closedPort: port });
    if (spec.skip) { skipped[v.id] = spec.skip; continue; }
    try {
      servers.set(v.id, await startServer({ label: `${app}/${v.id}`, ...spec }));
    } catch (err) {
      skipped[v.id] = `failed to start: ${String(err.message).split('\n').slice(0, 3).join(' | ')}`;
      log(`  ! ${app}/${v.id} ${skipped[v.id]}`);
    }
  }
  const ids = [...servers.keys()];
  const samples = Object.fromEntries(ids.map((id) => [id, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      const order = ids.map((_, i) => ids[(i + r) % ids.length]);
      for (const id of order) {
        const s = servers.get(id);
        if (!s.alive()) {
          skipped[id] ??= `died during the run: ${s.stderr().split('\n').slice(-3).join(' | ')}`;
          samples[id].push(null);
          continue;
        }
        if (warmupS > 0) await runLoad({ url: s.url, durationS: warmupS, connections, loader });
        const m = await measure(s, { url: s.url, durationS, connections, loader });
        samples[id].push(m);
        log(`  ${app} r${r + 1} ${id.padEnd(26)} ${Math.round(m.rps).toString().padStart(7)} req/s  p50 ${(m.latencyUs.p50 / 1000).toFixed(2)} ms  p99 ${(m.latencyUs.p99 / 1000).toFixed(2)} ms  CPU ${m.cpuUsPerReq.toFixed(1)} µs/req${m.non2xx || m.errors ? `  non2xx ${m.non2xx} errors ${m.errors}` : ''}`);
      }
    }
  } finally {
    for (const [id, s] of servers) {
      const rss = rssMiB(s.pid);
      const res = await s.stop();
      servers.set(id, { ...s, rss, exit: res });
    }
  }

  const col = (id, f) => samples[id].map((m) => (m ? f(m) : NaN));
  const variants = {};
  for (const id of ids) {
    const ok = samples[id].filter(Boolean);
    if (ok.length === 0) continue;
    const rps = summary(col(id, (m) => m.rps));
    const ratio = (base) => (samples[base] && base !== id
      ? {
          throughput: pairedRatio(col(id, (m) => m.rps), col(base, (m) => m.rps)),
          p50: pairedRatio(col(id, (m) => m.latencyUs.p50), col(base, (m) => m.latencyUs.p50)),
          p99: pairedRatio(col(id, (m) => m.latencyUs.p99), col(base, (m) => m.latencyUs.p99)),
          cpuPerReq: pairedRatio(col(id, (m) => m.cpuUsPerReq), col(base, (m) => m.cpuUsPerReq)),
        }
      : undefined);
    variants[id] = {
      label: VARIANTS.find((v) => v.id === id).label,
      rps,
      p50Us: summary(col(id, (m) => m.latencyUs.p50)),
      p99Us: summary(col(id, (m) => m.latencyUs.p99)),
      cpuUsPerReq: summary(col(id, (m) => m.cpuUsPerReq)),
      non2xx: ok.reduce((a, m) => a + m.non2xx, 0),
      errors: ok.reduce((a, m) => a + m.errors, 0),
      rssMiB: servers.get(id).rss,
      vsBare: ratio('bare'),
      vsOtel: ratio('otel'),
      samples: ok.map((m) => ({ rps: round(m.rps, 0), p50Us: m.latencyUs.p50, p99Us: m.latencyUs.p99, cpuUsPerReq: round(m.cpuUsPerReq, 2), non2xx: m.non2xx, errors: m.errors })),
    };
  }
  return { app, rounds, durationS, warmupS, connections, loader: samples[ids[0]]?.find(Boolean)?.loader, variants, skipped };
}
