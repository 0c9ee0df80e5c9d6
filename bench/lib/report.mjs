// Targets (issue 7) and the Markdown table of bench/results/latest.md.
import { pairedRatio } from './stats.mjs';

const MiB = 2 ** 20;
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const ms = (us) => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '—');
const range = (s, fmt = f2) => (s && Number.isFinite(s.median) ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : '—');

/** Each target with its measured value; `met` is judged on the median. */
export function evaluateTargets(res) {
  const t = [];
  const add = (id, text, value, threshold, cmp, detail, cpuEquivalent) => {
    const ok = Number.isFinite(value) ? (cmp === '>=' ? value >= threshold : cmp === '>' ? value > threshold : value <= threshold) : undefined;
    t.push({ id, target: text, value, threshold, cmp, met: ok, detail, cpuEquivalent });
  };
  // Baseline CPU time per request ÷ the variant's: the throughput ratio the server's own CPU cost implies,
  // independent of how fast the load generator or the other core happened to be.
  const inv = (r) => (r && Number.isFinite(r.median) && r.median > 0 ? 1 / r.median : undefined);
  for (const app of ['hello', 'express']) {
    const v = res.http?.[app]?.variants;
    if (!v) continue;
    add(`guard-under-tracing-${app}`, `guard + defenses under OTel tracing ≥ 0.95× OTel alone (${app})`, v['otel+guard']?.vsOtel?.throughput.median, 0.95, '>=', v['otel+guard']?.vsOtel?.throughput, inv(v['otel+guard']?.vsOtel?.cpuPerReq));
    add(`guard-alone-${app}`, `guard without tracing ≥ 0.90× bare Node (${app})`, v.guard?.vsBare?.throughput.median, 0.9, '>=', v.guard?.vsBare?.throughput, inv(v.guard?.vsBare?.cpuPerReq));
    add(`access-chain-${app}`, `signed access record per request (chain) ≥ 0.85× OTel alone (${app})`, v['otel+guard+access-chain']?.vsOtel?.throughput.median, 0.85, '>=', v['otel+guard+access-chain']?.vsOtel?.throughput, inv(v['otel+guard+access-chain']?.vsOtel?.cpuPerReq));
  }
  for (const [variant, r] of Object.entries(res.attack?.rejection ?? {})) {
    add(`429-cheaper-${variant}`, `a 429 costs less than a served request (${variant}; throughput ratio 429/served > 1)`, r.ratio?.median, 1, '>', r.ratio, inv(r.cpuRatio));
  }
  const chain = res.micro?.signing?.['chain+checkpoints']?.perSec;
  add('chain-signing', 'chain-mode signing ≥ 100,000 events/s (one core)', chain?.median, 100_000, '>=', chain);
  const ver = res.micro?.verify?.chain?.perSec;
  add('verify', 'verification ≥ 200,000 records/s (chain-mode stream)', ver?.median, 200_000, '>=', ver);
  const ws = res.attack?.spray?.stores?.['window-store'];
  add('state-1m', `rate-limit state for ${f0(res.attack?.spray?.keys)} distinct IPs ≤ 64 MiB (WindowStore, maxKeys 1M)`, ws ? ws.retainedBytes / MiB : NaN, 64, '<=');
  const fl = res.attack?.floodEvents;
  if (fl) add('flood-budget', `security events under a flood within NIS2_EVENTS_BUDGET (${fl.budget}/s; ≤ budget × (s + 1))`, fl.securityEventsInFlood, fl.allowed, '<=');
  return t;
}

function targetValue(t) {
  if (!Number.isFinite(t.value)) return 'not measured';
  if (t.id === 'state-1m') return `${t.value.toFixed(1)} MiB`;
  if (t.id === 'flood-budget') return `${f0(t.value)} events (allowed ${f0(t.threshold)})`;
  if (t.id === 'chain-signing' || t.id === 'verify') return `${f0(t.value)}/s${t.detail ? ` (${f0(t.detail.min)}–${f0(t.detail.max)})` : ''}`;
  return `${t.value.toFixed(2)}×${t.detail ? ` (${f2(t.detail.min)}–${f2(t.detail.max)})` : ''}`;
}

function httpTable(block) {
  const rows = [
    '| variant | req/s median (min–max) | p50 ms | p99 ms | CPU µs/req | thr. × bare | thr. × OTel | p50 × bare | p99 × bare | p50 × OTel | p99 × OTel | CPU/req × bare | CPU/req × OTel | RSS MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [id, v] of Object.entries(block.variants)) {
    const b = v.vsBare;
    const o = v.vsOtel;
    rows.push(`| ${v.label} | ${range(v.rps, f0)} | ${ms(v.p50Us.median)} | ${ms(v.p99Us.median)} | ${f2(v.cpuUsPerReq?.median)} | ${id === 'bare' ? '1' : f2(b?.throughput.median)} | ${id === 'otel' ? '1' : f2(o?.throughput.median)} | ${id === 'bare' ? '1' : f2(b?.p50.median)} | ${id === 'bare' ? '1' : f2(b?.p99.median)} | ${id === 'otel' ? '1' : f2(o?.p50.median)} | ${id === 'otel' ? '1' : f2(o?.p99.median)} | ${id === 'bare' ? '1' : f2(b?.cpuPerReq?.median)} | ${id === 'otel' ? '1' : f2(o?.cpuPerReq?.median)} | ${v.rssMiB ?? '—'} |${v.non2xx || v.errors ? ` ⚠ ${v.non2xx} non-2xx, ${v.errors} errors` : ''}`);
  }
  for (const [id, why] of Object.entries(block.skipped ?? {})) rows.push(`| ${id}: not measured — ${why} | | | | | | | | | | | | | |`);
  return rows.join('\n');
}

export function renderMarkdown(res) {
  const m = res.meta;
  const out = [];
  out.push('# Benchmark results', '');
  out.push(`Measured ${m.date} with \`npm run bench${m.mode === 'quick' ? '' : ` -- --${m.mode}`}\` (${m.mode}; total ${Math.round(m.totalSeconds)} s) on ${m.cpu} × ${m.cores}, Node ${m.node}, commit \`${m.commit}\`. ` +
    `Load: ${m.loader}, ${m.connections} connections, ${m.pinned ? 'server on core 0 and load on core 1 (taskset)' : 'not pinned (no taskset or < 2 cores)'}; ` +
    `${m.rounds} interleaved rounds × ${m.durationS} s per variant after ${m.warmupS} s warm-up. The machine is shared: read ratios, not absolute figures (bench/README.md).`, '');
  out.push('## Targets', '', 'Judged on the median throughput ratio. The CPU column gives the ratio the server\'s own CPU time per request implies (baseline µs/request ÷ variant µs/request): it does not depend on how fast the load generator was, so where the two disagree the bare baseline was limited by the load generator (bench/README.md).', '',
    '| target | measured (median, min–max) | CPU-time equivalent | status |', '|---|---|---|---|');
  for (const t of res.targets) out.push(`| ${t.target} | ${targetValue(t)} | ${t.cpuEquivalent !== undefined ? `${f2(t.cpuEquivalent)}×` : ''} | ${t.met === undefined ? 'not measured' : t.met ? 'met' : '**not met**'} |`);
  out.push('');
  for (const app of ['hello', 'express']) {
    const block = res.http?.[app];
    if (!block) continue;
    out.push(`## HTTP overhead: ${app === 'hello' ? 'hello-world `node:http` handler' : 'Express 5 app'}`, '');
    out.push('Ratios are medians of per-round paired ratios; throughput ratio < 1 and latency ratio > 1 mean slower.', '');
    out.push(httpTable(block), '');
    const g = block.variants.guard;
    const u = block.variants['otel-untraced'];
    if (g && u) {
      const thr = pairedRatio(g.samples.map((x) => x.rps), u.samples.map((x) => x.rps));
      const cpu = pairedRatio(u.samples.map((x) => x.cpuUsPerReq), g.samples.map((x) => x.cpuUsPerReq));
      out.push(`(5) ÷ (5ref), the guard's own share of (5): throughput ${range(thr)}, CPU-time equivalent ${f2(cpu.median)}×. ` +
        `(5ref) ÷ (1): ${f2(u.vsBare?.throughput.median)}× throughput, ${f2(u.vsBare?.cpuPerReq?.median)}× CPU per request — the cost of the HTTP (and Express) instrumentations with no tracer provider, which \`register\` installs even when no trace exporter is configured.`, '');
    }
  }
  const a = res.attack;
  if (a?.rejection) {
    out.push('## Attack path', '', '| rejection cost (single-IP flood, hello) | served req/s | 429 req/s | 429 / served | CPU µs per served / per 429 | share answered 429 |', '|---|---|---|---|---|---|');
    for (const [v, r] of Object.entries(a.rejection)) {
      out.push(r.error ? `| ${v} | failed: ${r.error} | | | | |` : `| ${v} | ${range(r.servedRps, f0)} | ${range(r.rejectedRps, f0)} | ${range(r.ratio)} | ${f2(r.servedCpuUsPerReq?.median)} / ${f2(r.rejectedCpuUsPerReq?.median)} | ${(r.rejectedShare * 100).toFixed(2)} % |`);
    }
    out.push('');
  }
  if (a?.spray) {
    out.push(`| distinct-IP spray, ${f0(a.spray.keys)} addresses, in-process | bytes/key | retained MiB | peak heap MiB | peak RSS MiB | keys/s | tracked / evicted |`, '|---|---|---|---|---|---|---|');
    for (const [s, r] of Object.entries(a.spray.stores)) {
      const name = s === 'window-store' ? '@nis2/otel WindowStore (maxKeys 1,000,000, the default)' : s.startsWith('window-store:') ? `@nis2/otel WindowStore (maxKeys ${f0(Number(s.split(':')[1]))})` : s === 'rate-limiter-flexible' ? 'rate-limiter-flexible RateLimiterMemory' : 'express-rate-limit MemoryStore';
      out.push(`| ${name} | ${r.bytesPerKey.toFixed(1)} | ${(r.retainedBytes / MiB).toFixed(1)} | ${(r.peakHeapBytes / MiB).toFixed(1)} | +${(r.peakRssBytes / MiB).toFixed(0)} | ${f0(r.keysPerSec)} | ${r.tracked !== undefined ? `${f0(r.tracked)} / ${f0(r.evictions ?? 0)}` : 'all / 0 (unbounded)'} |`);
    }
    out.push('');
  }
  if (a?.floodEvents) {
    const f = a.floodEvents;
    out.push('| events under a distinct-IP flood (register hook, trusted proxy) | value |', '|---|---|',
      `| flood | ${f0(f.floodRps)} req/s for ${f.seconds.toFixed(1)} s, ${f0(f.blocked)} answered 429, ${f0(f.pool)} addresses |`,
      `| security events written during the flood | ${f0(f.securityEventsInFlood)} (${f0(f.eventsPerSec)}/s; peak second ${f0(f.peakSecond)}; budget ${f.budget}/s) |`,
      `| accounted for by \`nis2.events.suppressed\` / aggregate summaries | ${f0(f.suppressedReported)} / ${f0(f.aggregatedReported)} |`, '');
  }
  if (res.micro) {
    const s = res.micro.signing;
    const label = {
      'ed25519-record': 'StreamSigner, Ed25519 per record (node:crypto)',
      'chain+checkpoints': `StreamSigner, chain mode + signed checkpoint every ${res.micro.checkpointEvery}`,
      'hmac-record': 'StreamSigner, HMAC-SHA256 per record',
      'tweetnacl-record': 'StreamSigner, Ed25519 per record via tweetnacl (reference)',
      'access-pipeline-chain': 'access record end to end: emitter → LoggerProvider → signing processor (chain)',
      'access-pipeline-record': 'access record end to end: emitter → LoggerProvider → signing processor (record)',
    };
    out.push('## Pipeline micro-benchmarks (one pinned process, medians)', '', '| case | per second, median (min–max) |', '|---|---|');
    for (const [k, v] of Object.entries(s)) out.push(`| ${label[k] ?? k} | ${range(v.perSec, f0)} |`);
    for (const [k, v] of Object.entries(res.micro.verify)) out.push(`| \`verifyRecords\`, ${k === 'chain' ? 'chain-mode' : 'per-record-signed'} stream of ${f0(v.records)} records (${v.state}) | ${range(v.perSec, f0)} |`);
    out.push('');
  }
  if (res.notes?.length) out.push('## Notes', '', ...res.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
