// Rejection cost: one client floods a guarded hello-world server. "served" has a limit it never
// reaches (the app answers every request); "rejected" has 1 request/60 s (the guard answers 429
// from the first second on). Both servers run the same variant and are loaded in interleaved
// rounds; the ratio rejected/served > 1 means a 429 costs less than a served request.
import { join } from 'node:path';
import { runLoad } from '../lib/load.mjs';
import { measure } from '../http/overhead.mjs';
import { closedPort, startServer } from '../lib/proc.mjs';
import { pairedRatio, summary } from '../lib/stats.mjs';
import { processSpec } from '../http/variants.mjs';

export const REJECTION_VARIANTS = ['guard', 'otel+guard'];

export async function runRejection({ rounds, durationS, warmupS, connections, loader, tmp, log, variants = REJECTION_VARIANTS }) {
  const port = await closedPort();
  const out = {};
  for (const variant of variants) {
    const servers = {};
    try {
      for (const kind of ['served', 'rejected']) {
        const spec = processSpec(variant, 'hello', { dir: join(tmp, `rejection-${variant}-${kind}`), closedPort: port });
        if (kind === 'rejected') spec.env.NIS2_RATE_LIMIT = '1/60s';
        servers[kind] = await startServer({ label: `rejection ${variant} ${kind}`, ...spec });
      }
      const s = { served: [], rejected: [] };
      const cpu = { served: [], rejected: [] };
      const non2xx = { served: 0, rejected: 0 };
      const total = { served: 0, rejected: 0 };
      for (let r = 0; r < rounds; r++) {
        for (const kind of r % 2 ? ['rejected', 'served'] : ['served', 'rejected']) {
          const url = servers[kind].url;
          if (warmupS > 0) await runLoad({ url, durationS: warmupS, connections, loader });
          const m = await measure(servers[kind], { url, durationS, connections, loader });
          s[kind].push(m.rps);
          cpu[kind].push(m.cpuUsPerReq);
          non2xx[kind] += m.non2xx;
          total[kind] += m.requests;
          log(`  rejection ${variant} r${r + 1} ${kind.padEnd(8)} ${Math.round(m.rps).toString().padStart(7)} req/s  CPU ${m.cpuUsPerReq.toFixed(1)} µs/req  non-2xx ${m.non2xx}/${m.requests}`);
        }
      }
      out[variant] = {
        servedRps: summary(s.served),
        rejectedRps: summary(s.rejected),
        ratio: pairedRatio(s.rejected, s.served),
        servedCpuUsPerReq: summary(cpu.served),
        rejectedCpuUsPerReq: summary(cpu.rejected),
        cpuRatio: pairedRatio(cpu.rejected, cpu.served),
        rejectedShare: total.rejected ? non2xx.rejected / total.rejected : 0,
        servedNon2xx: non2xx.served,
      };
    } catch (err) {
      out[variant] = { error: String(err.message).split('\n')[0] };
      log(`  ! rejection ${variant}: ${out[variant].error}`);
    } finally {
      for (const srv of Object.values(servers)) await srv.stop();
    }
  }
  return out;
}
