import { result, type CheckContext, type CheckResult } from './types.js';

/** Oldest Node.js this package runs on (package.json `engines`; the OTel JS SDK 3.x line needs it). */
export const MIN_NODE = { major: 22, minor: 15 } as const;

/**
 * End of life of each Node.js release line, from the Node.js release schedule
 * (github.com/nodejs/Release): after it a line gets no security fixes. Lines not listed are newer
 * than this table and are judged by `process.release.lts` alone.
 */
export const NODE_END_OF_LIFE: Readonly<Record<number, string>> = {
  18: '2025-04-30', 19: '2023-06-01', 20: '2026-04-30', 21: '2024-06-01',
  22: '2027-04-30', 23: '2025-06-01', 24: '2028-04-30', 25: '2026-06-01', 26: '2029-04-30',
};

/** Warn this long before a line's end of life. */
const EOL_NOTICE_MS = 90 * 86_400_000;

/**
 * Whether a Node.js version gets security fixes and runs this package. Pure, for tests.
 *
 * @param version `process.versions.node`, e.g. `24.11.0`.
 * @param lts `process.release.lts`: the LTS codename, or undefined on a Current (non-LTS) line.
 */
export function assessNodeVersion(version: string, lts: string | undefined, now: number): { status: 'pass' | 'warn' | 'fail'; message: string; fix?: string } {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < MIN_NODE.major || (major === MIN_NODE.major && minor < MIN_NODE.minor)) {
    return { status: 'fail', message: `Node.js ${version} is older than ${MIN_NODE.major}.${MIN_NODE.minor}, the oldest this package supports`, fix: 'upgrade to the current Node.js LTS' };
  }
  const eol = NODE_END_OF_LIFE[major];
  const eolMs = eol ? Date.parse(`${eol}T00:00:00Z`) : undefined;
  if (eolMs !== undefined && now >= eolMs) {
    return { status: 'fail', message: `Node.js ${major} reached end of life on ${eol}: no security fixes since`, fix: 'upgrade to the current Node.js LTS' };
  }
  if (lts === undefined) {
    return { status: 'warn', message: `Node.js ${version} is not an LTS line: it stops getting fixes${eol ? ` on ${eol}` : ' soon after the next major'}`, fix: 'run production on an LTS line (even major versions)' };
  }
  if (eolMs !== undefined && eolMs - now < EOL_NOTICE_MS) {
    return { status: 'warn', message: `Node.js ${major} (LTS '${lts}') reaches end of life on ${eol}`, fix: 'plan the upgrade to the next LTS line' };
  }
  return { status: 'pass', message: `Node.js ${version} (LTS '${lts}')${eol ? `, security fixes until ${eol}` : ''}` };
}

/** Node version supported: at least the engines floor, an LTS line, not past end of life. */
export function checkNodeVersion(ctx: CheckContext): CheckResult {
  const r = assessNodeVersion(process.versions.node, process.release.lts, ctx.now());
  return result('runtime.node-version', 'e', r.status, r.message, { ...(r.fix !== undefined && { fix: r.fix }), data: { node: process.versions.node, lts: process.release.lts ?? null } });
}

/** Two readings of the wall and the monotonic clock (ms), some time apart. */
export interface ClockSamples {
  readonly wall0: number;
  readonly mono0: number;
  readonly wall1: number;
  readonly mono1: number;
}

/** Largest tolerated disagreement between the wall and monotonic clocks over one sample interval. */
export const MAX_STEP_MS = 500;

/**
 * Monotonic sanity: the monotonic clock must advance, and the wall clock must advance with it.
 * A wall clock that jumps (a manual `date -s`, an NTP step, a VM resumed) breaks event ordering by
 * time and the checkpoint heartbeat. Pure, for tests.
 */
export function assessClocks(s: ClockSamples): { status: 'pass' | 'warn' | 'fail'; message: string; stepMs: number } {
  const mono = s.mono1 - s.mono0;
  const wall = s.wall1 - s.wall0;
  const stepMs = Math.round(wall - mono);
  if (!(mono > 0)) return { status: 'fail', message: `the monotonic clock did not advance (${mono.toFixed(3)} ms over the sample)`, stepMs };
  if (Math.abs(stepMs) > MAX_STEP_MS) {
    return { status: 'warn', message: `the wall clock moved ${stepMs > 0 ? 'forward' : 'back'} by ${Math.abs(stepMs)} ms against the monotonic clock within ${Math.round(mono)} ms: it is being stepped`, stepMs };
  }
  return { status: 'pass', message: `wall and monotonic clocks agree within ${Math.abs(stepMs)} ms over ${Math.round(mono)} ms`, stepMs };
}

/** Reads both clocks, waits `intervalMs`, reads again (bounded: one timer). */
export async function sampleClocks(intervalMs = 100): Promise<ClockSamples> {
  const wall0 = Date.now();
  const mono0 = performance.now();
  await new Promise((r) => setTimeout(r, intervalMs));
  return { wall0, mono0, wall1: Date.now(), mono1: performance.now() };
}

export async function checkClocks(samples?: ClockSamples): Promise<CheckResult> {
  const r = assessClocks(samples ?? await sampleClocks());
  return result('clock.monotonic', 'b', r.status, r.message, { fix: 'let one time service slew the clock (chrony, systemd-timesyncd) instead of stepping it', data: { stepMs: r.stepMs } });
}
