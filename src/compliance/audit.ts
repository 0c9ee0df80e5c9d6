import type { Nis2Config } from '../config/load.js';
import { PACKAGE_VERSION } from '../version.js';
import { checkDefenseModes, checkTorFreshness } from './defenses.js';
import { checkEventsFile } from './events-file.js';
import { checkOtlp } from './otlp.js';
import { checkPiiSealing } from './privacy.js';
import { checkProxies } from './proxy.js';
import { checkRedis } from './redis.js';
import { checkClocks, checkNodeVersion } from './runtime.js';
import { checkSigning } from './signing.js';
import { ART21_MEASURES, result, type Art21Measure, type CheckContext, type CheckResult, type CheckStatus } from './types.js';

/** What an audit is asked to look at. */
export interface AuditOptions {
  readonly config: Nis2Config;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly offline?: boolean;
  /** Per network probe; defaults to 2 s. */
  readonly timeoutMs?: number;
  readonly behindProxy?: boolean;
  /** Which findings make the audit fail: only `fail` (default), or `warn` too. */
  readonly failOn?: 'fail' | 'warn';
}

/**
 * `nis2-otel check --format json` output, schema `nis2-otel.check/1`. Within one schema version
 * fields and check ids are only ever added; a breaking change bumps the schema string.
 */
export interface CheckReport {
  schema: 'nis2-otel.check/1';
  /** True exactly when the exit code is 0. */
  ok: boolean;
  failOn: 'fail' | 'warn';
  offline: boolean;
  /** RFC 3339 time of the audit. */
  checkedAt: string;
  package: { name: '@nis2/otel'; version: string };
  /** The config file read, if any (options passed in code are invisible to the CLI). */
  config: { file: string | null };
  summary: Record<CheckStatus, number>;
  /** Every Art. 21(2) letter, with the ids of the checks that give evidence for it (possibly none). */
  measures: Array<{ measure: Art21Measure; title: string; checks: string[] }>;
  /** In measure order, then in the order the checks ran. */
  checks: CheckResult[];
}

const MEASURE_ORDER = Object.keys(ART21_MEASURES) as Art21Measure[];

/**
 * A check that throws (a bug, or an environment no check foresaw) becomes one failed line naming
 * the check, instead of a crash that hides every other finding.
 */
async function guarded(id: string, measure: Art21Measure, run: () => CheckResult[] | Promise<CheckResult[]>): Promise<CheckResult[]> {
  try {
    return await run();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return [result(`${id}.error`, measure, 'fail', `the check could not run: ${why.slice(0, 300)}`, { fix: 'report this with the message above; the other checks are unaffected' })];
  }
}

/** Runs every check and assembles the report. Never writes anything; network probes are bounded. */
export async function runAudit(options: AuditOptions): Promise<CheckReport> {
  const env = options.env ?? process.env;
  const ctx: CheckContext = {
    config: options.config,
    env,
    cwd: options.cwd ?? process.cwd(),
    offline: options.offline ?? false,
    timeoutMs: options.timeoutMs ?? 2000,
    behindProxy: options.behindProxy ?? false,
    now: Date.now,
  };
  // The clock sample runs concurrently with the network probes: it only waits on a timer.
  const [otlp, redis, clocks] = await Promise.all([
    guarded('export.otlp', 'b', () => checkOtlp(ctx)),
    guarded('store.redis.reachable', 'c', () => checkRedis(ctx)),
    guarded('clock.monotonic', 'b', async () => [await checkClocks()]),
  ]);
  const found: CheckResult[] = [
    ...await guarded('defense', 'a', () => checkDefenseModes(ctx)),
    ...await guarded('signing.key', 'h', () => checkSigning(ctx)),
    ...await guarded('privacy.pii-sealing', 'h', () => checkPiiSealing(ctx)),
    ...await guarded('proxy', 'i', () => checkProxies(ctx)),
    ...await guarded('tor.list.fresh', 'e', () => checkTorFreshness(ctx)),
    ...otlp,
    ...await guarded('export.events-file.writable', 'b', () => checkEventsFile(ctx)),
    ...redis,
    ...clocks,
    ...await guarded('runtime.node-version', 'e', () => [checkNodeVersion(ctx)]),
  ];
  const checks = MEASURE_ORDER.flatMap((m) => found.filter((c) => c.measure === m));
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, info: 0 };
  for (const c of checks) summary[c.status]++;
  const failOn = options.failOn ?? 'fail';
  const file = env['NIS2_CONFIG_FILE'];
  return {
    schema: 'nis2-otel.check/1',
    ok: summary.fail === 0 && (failOn === 'fail' || summary.warn === 0),
    failOn,
    offline: ctx.offline,
    checkedAt: new Date(ctx.now()).toISOString(),
    package: { name: '@nis2/otel', version: PACKAGE_VERSION },
    config: { file: file ? file : null },
    summary,
    measures: MEASURE_ORDER.map((m) => ({ measure: m, title: ART21_MEASURES[m], checks: checks.filter((c) => c.measure === m).map((c) => c.id) })),
    checks,
  };
}

/** Why some letters have no check: said plainly instead of padding the report. */
const NOT_CHECKED: Partial<Record<Art21Measure, string>> = {
  d: 'nothing in the runtime configuration shows it; vet dependencies and suppliers separately',
  f: 'assess effectiveness with `nis2-otel verify` on the exported events and with exercises',
  g: 'training and hygiene are organisational; nothing to read here',
};

/** The human report: one block per Art. 21(2) letter, one line per check. */
export function renderText(report: CheckReport): string {
  const lines: string[] = [];
  lines.push(`nis2-otel check: @nis2/otel ${report.package.version} configuration audit, mapped to NIS2 Art. 21(2)`);
  lines.push(`config: environment${report.config.file ? ` + ${report.config.file} (NIS2_CONFIG_FILE)` : ''}; options passed in code are not visible here${report.offline ? '; --offline: no network probes' : ''}`);
  for (const m of report.measures) {
    lines.push('');
    lines.push(`(${m.measure}) ${m.title}`);
    if (m.checks.length === 0) {
      lines.push(`  - not checked: ${NOT_CHECKED[m.measure] ?? 'no check applies'}`);
      continue;
    }
    for (const c of report.checks.filter((x) => x.measure === m.measure)) {
      lines.push(`  [${c.status.toUpperCase()}] ${c.id} ${c.message}${c.fix ? ` (fix: ${c.fix})` : ''}`);
    }
  }
  lines.push('');
  const s = report.summary;
  const verdict = report.ok ? 'OK' : 'FAILED';
  const why = report.ok ? '' : s.fail > 0 ? ` (${s.fail} failure${s.fail === 1 ? '' : 's'})` : ' (warnings, with --fail-on warn)';
  lines.push(`${verdict}${why}: ${s.fail} fail, ${s.warn} warn, ${s.pass} pass, ${s.info} info`);
  return `${lines.join('\n')}\n`;
}
