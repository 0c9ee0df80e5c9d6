#!/usr/bin/env node
// Benchmark suite entry point (bench/README.md):
//   npm run bench                 quick suite (a few minutes), writes bench/results/latest.{json,md}
//   npm run bench -- --full       the long one (more rounds, longer runs), same files
//   npm run bench -- --smoke      every scenario for ~1 s, to keep the harness from rotting; writes
//                                 to a temp dir (or --out) so published figures are never replaced
// Other flags: --only http-hello,http-express,rejection,flood,spray,micro · --variants bare,otel,…
//              (HTTP variants, bench/http/variants.mjs) · --loader wrk|autocannon
//              --out <dir> · --build (rebuild dist/ first)
//   node bench/run.mjs --render [results.json]   re-renders latest.md from a results file
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFloodEvents } from './attack/flood-events.mjs';
import { runRejection } from './attack/rejection.mjs';
import { runSpray } from './attack/spray.mjs';
import { runOverhead } from './http/overhead.mjs';
import { DIST, ROOT, ensureDir } from './lib/env.mjs';
import { pickLoader } from './lib/load.mjs';
import { canPin } from './lib/proc.mjs';
import { evaluateTargets, renderMarkdown } from './lib/report.mjs';
import { runMicro } from './micro/micro.mjs';

const SCENARIOS = ['http-hello', 'http-express', 'rejection', 'flood', 'spray', 'micro'];

const MODES = {
  smoke: { rounds: 1, durationS: 1, warmupS: 0, connections: 16, sprayKeys: 20_000, floodS: 1, floodPool: 500, sliceMs: 50, reps: 1, verifyRecords: 2_000 },
  quick: { rounds: 3, durationS: 3, warmupS: 1, connections: 32, sprayKeys: 1_000_000, floodS: 4, floodPool: 10_000, sliceMs: 300, reps: 5, verifyRecords: 20_000 },
  full: { rounds: 5, durationS: 10, warmupS: 3, connections: 32, sprayKeys: 1_000_000, floodS: 10, floodPool: 10_000, sliceMs: 1000, reps: 9, verifyRecords: 100_000 },
};

function parseArgs(argv) {
  const a = { mode: 'quick', only: SCENARIOS, variants: undefined, loader: 'auto', out: undefined, build: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--smoke' || k === '--full' || k === '--quick') a.mode = k.slice(2);
    else if (k === '--only') a.only = argv[++i].split(',').map((s) => s.trim());
    else if (k === '--variants') a.variants = argv[++i].split(',').map((s) => s.trim());
    else if (k === '--loader') a.loader = argv[++i];
    else if (k === '--out') a.out = argv[++i];
    else if (k === '--build') a.build = true;
    else if (k === '--help' || k === '-h') { console.log('usage: node bench/run.mjs [--smoke|--quick|--full] [--only a,b] [--variants a,b] [--loader wrk|autocannon] [--out dir] [--build]'); process.exit(0); }
    else throw new Error(`unknown argument ${k}`);
  }
  for (const s of a.only) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (one of ${SCENARIOS.join(', ')})`);
  return a;
}

if (process.argv[2] === '--render') {
  // Re-renders latest.md (and the targets in latest.json) from a results file, after a report change.
  const { readFileSync } = await import('node:fs');
  const file = process.argv[3] ?? join(ROOT, 'bench/results/latest.json');
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  saved.targets = evaluateTargets(saved);
  const text = renderMarkdown(saved);
  writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
  writeFileSync(file.replace(/\.json$/, '.md'), `${text}\n`);
  process.stdout.write(`${text}\n`);
  process.exit(0);
}
const args = parseArgs(process.argv.slice(2));
const p = MODES[args.mode];
const log = (s) => process.stderr.write(`${s}\n`);
const started = Date.now();

if (args.build || !existsSync(DIST.esm) || !existsSync(DIST.register)) {
  log('[bench] building dist/');
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit', cwd: ROOT });
}
const loader = pickLoader(args.loader);
const tmp = mkdtempSync(join(tmpdir(), 'nis2-bench-'));
const outDir = ensureDir(args.out ?? (args.mode === 'smoke' ? join(tmpdir(), 'nis2-bench-smoke') : join(ROOT, 'bench/results')));
let commit = 'unknown';
try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim(); } catch { /* not a checkout */ }

const res = {
  meta: {
    date: new Date().toISOString(), mode: args.mode, node: process.versions.node, cpu: cpus()[0]?.model?.trim() ?? 'unknown', cores: cpus().length,
    commit, loader, pinned: canPin(), connections: p.connections, rounds: p.rounds, durationS: p.durationS, warmupS: p.warmupS, scenarios: args.only,
  },
  http: {},
  attack: {},
  notes: [],
};
const common = { rounds: p.rounds, durationS: p.durationS, warmupS: p.warmupS, connections: p.connections, loader, tmp, log };

try {
  for (const app of ['hello', 'express']) {
    if (!args.only.includes(`http-${app}`)) continue;
    log(`[bench] HTTP overhead, ${app}`);
    res.http[app] = await runOverhead({ app, only: args.variants, ...common });
  }
  if (args.only.includes('rejection')) {
    log('[bench] rejection cost');
    res.attack.rejection = await runRejection(common);
  }
  if (args.only.includes('flood')) {
    log('[bench] events under a flood');
    res.attack.floodEvents = await runFloodEvents({ ...common, durationS: p.floodS, pool: p.floodPool });
  }
  if (args.only.includes('spray')) {
    log(`[bench] distinct-IP spray, ${p.sprayKeys.toLocaleString('en-US')} keys`);
    res.attack.spray = await runSpray({ keys: p.sprayKeys, log });
  }
  if (args.only.includes('micro')) {
    log('[bench] pipeline micro-benchmarks');
    res.micro = await runMicro({ sliceMs: p.sliceMs, reps: p.reps, verifyRecordsCount: p.verifyRecords, log });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

for (const block of Object.values(res.http)) {
  for (const [id, why] of Object.entries(block.skipped)) res.notes.push(`${block.app}/${id}: not measured — ${why}`);
}
if (res.http.hello?.variants.aikido || res.http.express?.variants.aikido) {
  res.notes.push('Aikido Zen runs without AIKIDO_TOKEN (offline, AIKIDO_BLOCK=true): its attack detection is on, its rate limiting is not (that is configured from its cloud dashboard).');
}
if (res.http.hello?.variants['dd-trace-appsec'] || res.http.express?.variants['dd-trace-appsec']) {
  res.notes.push('dd-trace runs with DD_APPSEC_ENABLED=true and no agent: DD_TRACE_AGENT_URL points at a closed 127.0.0.1 port, so traces are built, then dropped at export.');
}
res.targets = evaluateTargets(res);
res.meta.totalSeconds = (Date.now() - started) / 1000;
const md = renderMarkdown(res);
writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(res, null, 2)}\n`);
writeFileSync(join(outDir, 'latest.md'), `${md}\n`);
process.stdout.write(`${md}\n`);
log(`[bench] wrote ${join(outDir, 'latest.json')} and latest.md in ${res.meta.totalSeconds.toFixed(0)} s`);
