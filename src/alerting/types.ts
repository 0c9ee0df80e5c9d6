/** Chat and webhook formats an alert can be delivered in. */
export type WebhookType = 'slack' | 'teams' | 'discord' | 'json';

/** Severities an alert can be filtered on, lowest first. */
export type AlertSeverity = 'INFO' | 'WARN' | 'ERROR';

/** One webhook destination, as resolved from `alerting.webhooks` (see `src/config/keys/alerting.ts`). */
export interface WebhookDestination {
  /** Unique label used in stats, warnings and the alert itself; never the URL (it is a credential). */
  readonly name: string;
  readonly type: WebhookType;
  /** The webhook URL: https, or http only on 127.0.0.1/localhost/[::1]. Treated as a secret. */
  readonly url: string;
  /** Event-name globs this destination receives (`*` matches any run of characters). */
  readonly events: readonly string[];
  /** Compiled {@link events}. */
  readonly eventPatterns: readonly RegExp[];
  /** Least severity that is sent. */
  readonly minSeverity: AlertSeverity;
  /** HMAC-SHA256 key of the `X-NIS2-Signature` header (json destinations only). */
  readonly secret?: string;
}

/** Why an alert was sent: the first event of a key, the count of repeats at window end, or the budget digest. */
export type AlertKind = 'event' | 'summary' | 'digest';

/** Attribute values that may appear in a webhook: already anonymised, pseudonymised and length-capped. */
export type AlertAttrValue = string | number | boolean | ReadonlyArray<string | number | boolean | null>;

/** One alert, before it is rendered in a destination's format. */
export interface Alert {
  /** Random id, the same for every attempt of one delivery (receivers can deduplicate on it). */
  readonly id: string;
  readonly destination: string;
  readonly kind: AlertKind;
  /** The event name (`nis2.rate_limit.exceeded`); for a digest, the most frequent one. */
  readonly event: string;
  readonly severity: string;
  /** Aggregation key: the anonymised client address, the rule name, `*` for overflow, or empty. */
  readonly key: string;
  /** How many events this alert stands for. */
  readonly count: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly windowMs: number;
  /** The redacted attributes of the first event of the key (see `redact.ts`). */
  readonly attrs: Readonly<Record<string, AlertAttrValue>>;
  /** Where the signed record of the first event sits in the log, so a responder can find and verify it. */
  readonly record: { readonly stream?: string; readonly seq?: number; readonly kid?: string; readonly tsMs: number };
  readonly service?: string;
  /** Only for `digest`: events per name held back by the alert budget, and how many alerts that was. */
  readonly digest?: { readonly events: Readonly<Record<string, number>>; readonly alerts: number };
}

/** What {@link AlertingProcessorOptions.onDeliveryFailure} receives; never the URL or the secret. */
export interface DeliveryFailure {
  readonly destination: string;
  readonly type: WebhookType;
  readonly alertId: string;
  readonly event: string;
  readonly attempts: number;
  /** HTTP status of the last attempt, when one came back. */
  readonly status?: number;
  /** `timeout`, `http_<status>`, `network` (with `code`), `dropped_at_shutdown`. */
  readonly reason: string;
  /** System error code of a network failure (`ECONNREFUSED`, …). */
  readonly code?: string;
}

/** Counters of one destination. */
export interface DestinationStats {
  /** Events that matched the destination's filters. */
  matched: number;
  /** Events folded into an open aggregate (no alert of their own). */
  aggregated: number;
  /** Alerts queued for delivery. */
  queued: number;
  /** Alerts delivered (2xx). */
  sent: number;
  /** Alerts given up on after the last attempt (or a permanent 4xx). */
  failed: number;
  /** Attempts repeated after a retryable failure. */
  retried: number;
  /** Alerts dropped from a full queue (the oldest goes first) or at shutdown. */
  dropped: number;
  /** Alerts the per-destination budget held back and folded into a digest. */
  budgeted: number;
  /** Requests on the wire now, and the most there ever were. */
  inFlight: number;
  maxInFlight: number;
}

/** Counters of the alerting processor: totals plus one entry per destination. */
export interface AlertingStats {
  /** `nis2.*` records seen. */
  readonly received: number;
  /** Records the processor failed to handle (it never throws; this should stay 0). */
  readonly errors: number;
  readonly destinations: Readonly<Record<string, Readonly<DestinationStats>>>;
}
