/**
 * What the report knows about each event type and rule of the catalogue (DESIGN §5). Unknown types
 * still count everywhere; they only lack a friendly label and weigh nothing in the pre-filled
 * answers, which say so rather than guess.
 */

/**
 * How much an event suggests malicious intent on its own:
 * - `strong`: hard to explain without an attacker (a session used from elsewhere, a brute-force lockout);
 * - `weak`: malicious at volume, often benign alone (a client over its rate limit, a failed login);
 * - `none`: operational or neutral (a degraded defense, an MFA step-up).
 */
export type IntentWeight = 'strong' | 'weak' | 'none';

export interface EventTypeInfo {
  readonly label: string;
  readonly intent: IntentWeight;
}

const EVENT_TYPES: Readonly<Record<string, EventTypeInfo>> = {
  'nis2.rate_limit.exceeded': { label: 'Rate limit exceeded', intent: 'weak' },
  'nis2.session.hijack_suspected': { label: 'Session hijack suspected', intent: 'strong' },
  'nis2.tor.blocked': { label: 'Tor exit node', intent: 'weak' },
  'nis2.ip.blocked': { label: 'Deny-listed address', intent: 'strong' },
  'nis2.mfa.required': { label: 'MFA required', intent: 'none' },
  'nis2.auth.login_failed': { label: 'Login failed', intent: 'weak' },
  'nis2.auth.lockout': { label: 'Login lockout (brute force)', intent: 'strong' },
  'nis2.client.telemetry': { label: 'Front-end telemetry', intent: 'none' },
  'nis2.defense.degraded': { label: 'Defense degraded', intent: 'none' },
  'nis2.defense.recovered': { label: 'Defense recovered', intent: 'none' },
};

/** Label and weight of an event type; unknown types get their name and no weight. */
export function eventTypeInfo(event: string): EventTypeInfo {
  return EVENT_TYPES[event] ?? { label: event, intent: 'none' };
}

/** Defense availability events: their time span matters for the impact, not their count. */
export const EVENT_DEFENSE_DEGRADED = 'nis2.defense.degraded';
export const EVENT_DEFENSE_RECOVERED = 'nis2.defense.recovered';
export const EVENT_TOR_BLOCKED = 'nis2.tor.blocked';
export const EVENT_SESSION_HIJACK = 'nis2.session.hijack_suspected';
export const EVENT_LOCKOUT = 'nis2.auth.lockout';

/** What a blocking rule did to a request, for "mitigations applied" (`{n}` is the count). */
const RULE_MITIGATION: Readonly<Record<string, string>> = {
  rate_limit: '{n} request(s) over the rate limit refused (429 with Retry-After)',
  session_guard: '{n} request(s) with a session presented from another network or browser rejected, session cookie cleared',
  tor_exit_node: '{n} request(s) from Tor exit nodes refused (403)',
  ip_deny_list: '{n} request(s) from deny-listed addresses refused (403)',
  mfa_gate: '{n} request(s) to MFA-protected routes without MFA stopped (303 to the MFA step / 401)',
  login_lockout: '{n} login attempt(s) refused during lockouts (429)',
};

/** One line of "mitigations applied" for a rule that blocked `n` occurrences. */
export function mitigationText(rule: string, n: number): string {
  const template = RULE_MITIGATION[rule] ?? `{n} request(s) blocked by rule ${rule}`;
  return template.replace('{n}', n.toLocaleString('en-US'));
}

/** Envelope severities in increasing order; anything else ranks above ERROR (e.g. FATAL). */
const SEVERITY_RANK: Readonly<Record<string, number>> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

/** The higher of two envelope severities. */
export function maxSeverity(a: string, b: string): string {
  const ra = SEVERITY_RANK[a] ?? 5;
  const rb = SEVERITY_RANK[b] ?? 5;
  return rb > ra ? b : a;
}
