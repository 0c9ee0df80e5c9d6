import type { Nis2ErrorCode } from './errors.js';

const warned = new Set<string>();

/**
 * Emits a `NIS2_WRN_*` process warning once per code for the life of the process (STYLE: checks
 * switch themselves off after firing). Process warnings reach stderr by default and can be routed
 * with `process.on('warning')` or silenced with `--no-warnings`.
 */
export function warnOnce(code: Nis2ErrorCode, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(message, { code });
}

/** Test hook: forget which warnings were given. */
export function resetWarnings(): void {
  warned.clear();
}
