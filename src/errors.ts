/**
 * Every error and warning code of the package, in one table (STYLE: fastify's lib/errors.js). Codes
 * are stable: a retired code is never reused. `test/errors.test.ts` checks that each code is
 * documented in the README's "Error codes" table.
 */
export const ERROR_CODES = {
  NIS2_ERR_CONFIG_INVALID: 'a configuration value is invalid',
  NIS2_ERR_CONFIG_UNKNOWN_KEY: 'a configuration key does not exist',
  NIS2_ERR_CONFIG_FILE: 'the configuration file cannot be read or parsed',
  NIS2_ERR_KEY_INVALID: 'the signing key cannot be used',
  NIS2_ERR_KEY_FILE: 'the signing key file cannot be read or is unsafe',
  NIS2_WRN_GENERATED_KEY: 'no signing key configured: a generated key is used',
  NIS2_WRN_KEY_FILE_MODE: 'the signing key file is readable by other users',
  NIS2_WRN_FORWARDED_UNTRUSTED: 'forwarding headers arrive but no proxy is trusted',
  NIS2_WRN_SDK_PRESENT: 'an OpenTelemetry SDK is already registered: only the guard is installed',
  NIS2_WRN_EVENTS_FILE: 'no OTLP endpoint configured: signed events go to a local file',
  NIS2_WRN_BLOCK_AFTER_HEADERS: 'a block was decided after the response headers were sent',
  NIS2_WRN_EXPORT_FAILED: 'signed events could not be exported',
  NIS2_WRN_HOOK_FAILED: 'a hook given in code threw; the request went on',
  NIS2_WRN_WEBHOOK_FAILED: 'an alert could not be delivered to a webhook',
  NIS2_WRN_IP_LIST_DEGRADED: 'a Tor or IP list is stale or could not be loaded',
  NIS2_WRN_IP_LIST_INVALID_LINES: 'a Tor or IP list has lines that are not addresses; they were skipped',
  NIS2_WRN_PII_SEAL_FAILED: 'a PII value could not be sealed; it was dropped and its pseudonym kept',
} as const;

export type Nis2ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable `NIS2_ERR_*` code, thrown at start-up. */
export class Nis2Error extends Error {
  override readonly name = 'Nis2Error';
  readonly code: Nis2ErrorCode;

  constructor(code: Nis2ErrorCode, message: string) {
    super(`${code}: ${message} (see README#error-codes)`);
    this.code = code;
  }
}
