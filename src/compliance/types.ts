import type { Nis2Config } from '../config/load.js';

/**
 * The ten cybersecurity risk-management measures of NIS2 (Directive (EU) 2022/2555) Art. 21(2), by
 * their letter, in the directive's words. Every check names the one measure it gives evidence for.
 */
export const ART21_MEASURES = {
  a: 'Policies on risk analysis and information system security',
  b: 'Incident handling',
  c: 'Business continuity, such as backup management and disaster recovery, and crisis management',
  d: 'Supply chain security',
  e: 'Security in network and information systems acquisition, development and maintenance, including vulnerability handling and disclosure',
  f: 'Policies and procedures to assess the effectiveness of cybersecurity risk-management measures',
  g: 'Basic cyber hygiene practices and cybersecurity training',
  h: 'Policies and procedures regarding the use of cryptography and, where appropriate, encryption',
  i: 'Human resources security, access control policies and asset management',
  j: 'Multi-factor or continuous authentication, secured voice, video and text communications and secured emergency communication systems',
} as const;

/** A letter of Art. 21(2). */
export type Art21Measure = keyof typeof ART21_MEASURES;

/**
 * What a check found. `fail`: the measure is not in place (exit 1); `warn`: weaker than it should
 * be (exit 1 only with `--fail-on warn`); `pass`: in place; `info`: not applicable in this
 * configuration, or skipped (e.g. `--offline`), said so rather than counted as a pass.
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'info';

/** One line of the audit. Never holds secret material: key ids and paths only. */
export interface CheckResult {
  /** Stable id, e.g. `signing.key.present` (listed in the README). */
  readonly id: string;
  readonly measure: Art21Measure;
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do about a `warn` or `fail`. */
  readonly fix?: string;
  /** Machine-readable facts behind the message (ages in seconds, skew in ms, key id …). */
  readonly data?: Readonly<Record<string, string | number | boolean | null>>;
}

/** What every check may read. Checks never write anything. */
export interface CheckContext {
  readonly config: Nis2Config;
  readonly env: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against (as `register` does: the process's cwd). */
  readonly cwd: string;
  /** No network probes (OTLP, Redis): those checks report `info`. */
  readonly offline: boolean;
  /** Upper bound of each network probe. */
  readonly timeoutMs: number;
  /** The operator says forwarding headers are expected (`--behind-proxy` or `NIS2_EXPECT_PROXY`). */
  readonly behindProxy: boolean;
  /** Wall clock, ms since the epoch (injectable for tests of the pure parts). */
  readonly now: () => number;
}

/** Shorthand used by the check modules. */
export function result(
  id: string,
  measure: Art21Measure,
  status: CheckStatus,
  message: string,
  extra: { fix?: string; data?: Record<string, string | number | boolean | null> } = {},
): CheckResult {
  return { id, measure, status, message, ...(extra.fix !== undefined && status !== 'pass' && status !== 'info' ? { fix: extra.fix } : {}), ...(extra.data && { data: extra.data }) };
}
