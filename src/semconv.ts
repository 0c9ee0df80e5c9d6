/**
 * Attribute names used by the package. Stable OpenTelemetry names are written out here (rather than
 * imported from the incubating entry point) so one file shows every name an event can carry.
 */
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_HTTP_ROUTE = 'http.route';
export const ATTR_URL_PATH = 'url.path';
export const ATTR_CLIENT_ADDRESS = 'client.address';
export const ATTR_NETWORK_PEER_ADDRESS = 'network.peer.address';
export const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original';
export const ATTR_SERVICE_NAME = 'service.name';
/** @experimental security_rule.* from the OTel semantic conventions registry. */
export const ATTR_SECURITY_RULE_NAME = 'security_rule.name';
/** @experimental */
export const ATTR_SECURITY_RULE_CATEGORY = 'security_rule.category';

export const ATTR_NIS2_ACTION = 'nis2.action';
export const ATTR_NIS2_REASON = 'nis2.reason';
export const ATTR_NIS2_BLOCK_FAILED = 'nis2.block_failed';
export const ATTR_NIS2_STREAM = 'nis2.stream';
export const ATTR_NIS2_SEQ = 'nis2.seq';
export const ATTR_NIS2_KID = 'nis2.kid';
export const ATTR_NIS2_RATE_LIMIT_LIMIT = 'nis2.rate_limit.limit';
export const ATTR_NIS2_RATE_LIMIT_WINDOW_S = 'nis2.rate_limit.window_s';
export const ATTR_NIS2_RATE_LIMIT_POLICY = 'nis2.rate_limit.policy';
export const ATTR_NIS2_RATE_LIMIT_ALGORITHM = 'nis2.rate_limit.algorithm';
export const ATTR_NIS2_AGGREGATE_COUNT = 'nis2.aggregate.count';
export const ATTR_NIS2_AGGREGATE_WINDOW_S = 'nis2.aggregate.window_s';
export const ATTR_NIS2_SUPPRESSED_COUNT = 'nis2.suppressed.count';
export const ATTR_NIS2_SUPPRESSED_EVENTS = 'nis2.suppressed.events';
export const ATTR_NIS2_PUBLIC_KEY = 'nis2.public_key';
export const ATTR_NIS2_CHECKPOINT_INTERVAL_S = 'nis2.checkpoint.interval_s';

/** Event names (DESIGN §5): extend in the same pattern, never rename. */
export const EVENT_HTTP_ACCESS = 'nis2.http.access';
export const EVENT_RATE_LIMIT_EXCEEDED = 'nis2.rate_limit.exceeded';
export const EVENT_EVENTS_SUPPRESSED = 'nis2.events.suppressed';
export const EVENT_DEFENSE_DEGRADED = 'nis2.defense.degraded';
export const EVENT_DEFENSE_RECOVERED = 'nis2.defense.recovered';
/** The `mfa.routes` entry a request matched, as written (e.g. `POST /billing/**`). */
export const ATTR_NIS2_MFA_ROUTE = 'nis2.mfa.route';
/** Where the evidence of MFA that failed came from: `bearer`, `cookie`, `predicate`, `proxy_header` or `none`. */
export const ATTR_NIS2_MFA_SOURCE = 'nis2.mfa.source';
export const EVENT_MFA_REQUIRED = 'nis2.mfa.required';
export const EVENT_TOR_BLOCKED = 'nis2.tor.blocked', EVENT_IP_BLOCKED = 'nis2.ip.blocked', ATTR_NIS2_DEFENSE = 'nis2.defense', ATTR_NIS2_DEGRADED_MS = 'nis2.degraded_ms', ATTR_NIS2_IP_LIST_NAME = 'nis2.ip_list.name', ATTR_NIS2_IP_LIST_SIZE = 'nis2.ip_list.size', ATTR_NIS2_IP_LIST_ENTRY = 'nis2.ip_list.entry', ATTR_NIS2_IP_LIST_SOURCE = 'nis2.ip_list.source', ATTR_NIS2_IP_LIST_AGE_S = 'nis2.ip_list.age_s', ATTR_NIS2_IP_LIST_ERROR = 'nis2.ip_list.error';
