import type { Alert, AlertAttrValue, WebhookType } from './types.js';

/**
 * Renders an alert in each destination's format. Everything that may come from a request (paths,
 * rule names, addresses) is treated as hostile text: escaped for Slack mrkdwn (no `<!channel>`,
 * no links), sent as plain `TextRun`s in Teams (Adaptive Card markdown would render `[x](url)`),
 * markdown-escaped with mentions disabled in Discord. Platform limits are enforced here, so a long
 * value is cut rather than the whole message rejected.
 */

const TITLES: Readonly<Record<string, string>> = {
  'nis2.rate_limit.exceeded': 'Rate limit exceeded',
  'nis2.session.hijack_suspected': 'Session hijack suspected',
  'nis2.tor.blocked': 'Tor exit node',
  'nis2.ip.blocked': 'Denied address',
  'nis2.mfa.required': 'MFA required',
  'nis2.auth.login_failed': 'Failed logins',
  'nis2.auth.lockout': 'Login lockout',
  'nis2.defense.degraded': 'Defense degraded',
  'nis2.defense.recovered': 'Defense recovered',
  'nis2.events.suppressed': 'Security events suppressed',
  'nis2.client.telemetry': 'Client telemetry',
};

/** Attributes shown first, in this order; the rest follow sorted by name. */
const FIRST = [
  'nis2.action', 'nis2.reason', 'security_rule.name', 'client.address', 'http.request.method', 'url.path', 'http.route',
  'http.response.status_code', 'user_agent.family',
];
const MAX_FACTS = 20;
const COLORS = { ERROR: 0xe01e5a, WARN: 0xecb22e, INFO: 0x2eb67d } as const;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function show(value: AlertAttrValue): string {
  return Array.isArray(value) ? value.map((v) => String(v)).join(', ') : String(value);
}

/** `[WARN] Rate limit exceeded` (digest: `[WARN] Alert budget reached`). */
export function alertTitle(alert: Alert): string {
  const what = alert.kind === 'digest' ? 'Alert budget reached' : TITLES[alert.event] ?? alert.event;
  return `[${alert.severity}] ${what}${alert.service ? ` · ${alert.service}` : ''}`;
}

function source(alert: Alert): string {
  if (alert.key === '*') return ' from many sources (more than the aggregation keys held)';
  if (alert.key === '') return '';
  if (alert.key === alert.attrs['client.address']) return ` from client network ${alert.key}`;
  return ` (${alert.key})`;
}

/** One sentence that says what happened, how often and when. */
export function alertSummary(alert: Alert): string {
  if (alert.kind === 'digest') {
    const list = Object.entries(alert.digest?.events ?? {}).sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `${name} ×${count(n)}`).join(', ');
    return `The alert budget of this webhook was reached: ${count(alert.digest?.alerts ?? 0)} alerts for ${count(alert.count)} events were held back ` +
      `between ${iso(alert.firstSeenMs)} and ${iso(alert.lastSeenMs)}: ${list}. The signed log has every event.`;
  }
  if (alert.kind === 'event') {
    const n = alert.count > 1 ? `${count(alert.count)} × ` : '';
    return `${n}${alert.event}${source(alert)} at ${iso(alert.record.tsMs)}. Repeats within ${duration(alert.windowMs)} are counted and sent as one summary.`;
  }
  return `${count(alert.count)} × ${alert.event}${source(alert)} between ${iso(alert.firstSeenMs)} and ${iso(alert.lastSeenMs)} (window ${duration(alert.windowMs)}).`;
}

/** Label/value pairs shown under the summary (attributes, or the digest's per-event counts). */
export function alertFacts(alert: Alert): Array<[string, string]> {
  if (alert.kind === 'digest') {
    return Object.entries(alert.digest?.events ?? {}).sort((a, b) => b[1] - a[1]).slice(0, MAX_FACTS).map(([k, n]) => [k, count(n)]);
  }
  const keys = Object.keys(alert.attrs);
  const ordered = [...FIRST.filter((k) => k in alert.attrs), ...keys.filter((k) => !FIRST.includes(k)).sort()];
  const facts: Array<[string, string]> = [];
  if (alert.kind === 'summary') facts.push(['events', count(alert.count)]);
  for (const k of ordered) {
    if (facts.length >= MAX_FACTS) break;
    facts.push([k, show(alert.attrs[k]!)]);
  }
  return facts;
}

/** Where the signed record is: stream, seq and key id, so a responder can find and verify it. */
export function alertFooter(alert: Alert): string {
  const r = alert.record;
  const parts = [`alert ${alert.id}`];
  if (r.stream !== undefined) parts.push(`stream ${r.stream}`);
  if (r.seq !== undefined) parts.push(`seq ${r.seq}`);
  if (r.kid !== undefined) parts.push(`kid ${r.kid}`);
  parts.push(iso(r.tsMs));
  return parts.join(' · ');
}

/** Slack mrkdwn control characters (the only escaping Slack defines: no mentions, links or dates can form). */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack incoming webhook with Block Kit `blocks` (header ≤ 150, section text ≤ 3000, ≤ 10 fields a section, field ≤ 2000). */
export function slackPayload(alert: Alert): Record<string, unknown> {
  const title = alertTitle(alert);
  const summary = alertSummary(alert);
  const fields = alertFacts(alert).map(([k, v]) => ({ type: 'mrkdwn', text: cut(`*${slackEscape(k)}*\n${slackEscape(v)}`, 2000) }));
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: cut(title, 150), emoji: false } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(slackEscape(summary), 3000) } },
  ];
  for (let i = 0; i < fields.length; i += 10) blocks.push({ type: 'section', fields: fields.slice(i, i + 10) });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(slackEscape(alertFooter(alert)), 3000) }] });
  return { text: cut(slackEscape(`${title}: ${summary}`), 3000), blocks, unfurl_links: false, unfurl_media: false };
}

function textRun(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text, ...extra }] };
}

/**
 * Teams Workflows webhook ("When a Teams webhook request is received"): a message with one Adaptive
 * Card 1.5 attachment. Every text is a `TextRun`, which Adaptive Cards never read as markdown.
 */
export function teamsPayload(alert: Alert): Record<string, unknown> {
  const color = alert.severity === 'ERROR' || alert.severity === 'FATAL' ? 'Attention' : alert.severity === 'WARN' ? 'Warning' : 'Default';
  const body: Array<Record<string, unknown>> = [
    textRun(alertTitle(alert), { size: 'Large', weight: 'Bolder', color }),
    textRun(alertSummary(alert)),
  ];
  for (const [k, v] of alertFacts(alert)) {
    body.push({
      type: 'ColumnSet', spacing: 'Small',
      columns: [
        { type: 'Column', width: 2, items: [textRun(k, { weight: 'Bolder' })] },
        { type: 'Column', width: 3, items: [textRun(cut(v, 1024))] },
      ],
    });
  }
  body.push(textRun(alertFooter(alert), { size: 'Small', isSubtle: true }));
  return {
    type: 'message',
    attachments: [{
      contentType: 'application/vnd.microsoft.card.adaptive',
      contentUrl: null,
      content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.5', msteams: { width: 'Full' }, body },
    }],
  };
}

/** Discord markdown, escaped so a path cannot become a masked link, a spoiler or a mention. */
function discordEscape(text: string): string {
  return text.replace(/[\\*_~`|>[\]()#<-]/g, '\\$&');
}

/** Discord webhook with one embed (title ≤ 256, description ≤ 4096, ≤ 25 fields of ≤ 256/1024, ≤ 6000 characters in all), mentions off. */
export function discordPayload(alert: Alert): Record<string, unknown> {
  const title = cut(alertTitle(alert), 256);
  const description = cut(discordEscape(alertSummary(alert)), 4096);
  const footer = cut(alertFooter(alert), 2048);
  let budget = 6000 - title.length - description.length - footer.length;
  const fields: Array<{ name: string; value: string; inline: boolean }> = [];
  for (const [k, v] of alertFacts(alert).slice(0, 25)) {
    const name = cut(discordEscape(k), 256);
    const value = cut(discordEscape(v), 1024) || '\u200b';
    if (name.length + value.length > budget) break;
    budget -= name.length + value.length;
    fields.push({ name, value, inline: true });
  }
  const color = alert.severity === 'ERROR' || alert.severity === 'FATAL' ? COLORS.ERROR : alert.severity === 'WARN' ? COLORS.WARN : COLORS.INFO;
  return {
    allowed_mentions: { parse: [] },
    embeds: [{ title, description, color, fields, footer: { text: footer }, timestamp: iso(alert.lastSeenMs) }],
  };
}

/** The generic JSON alert: the facts as data, for receivers that route or store alerts themselves. */
export function jsonPayload(alert: Alert): Record<string, unknown> {
  return {
    type: 'nis2.alert', version: 1, id: alert.id, destination: alert.destination, kind: alert.kind,
    event: alert.event, severity: alert.severity, key: alert.key, count: alert.count,
    title: alertTitle(alert), summary: alertSummary(alert),
    first_seen: iso(alert.firstSeenMs), last_seen: iso(alert.lastSeenMs), window_s: alert.windowMs / 1000,
    ...(alert.service !== undefined ? { service: alert.service } : {}),
    attrs: alert.attrs,
    record: {
      ...(alert.record.stream !== undefined ? { stream: alert.record.stream } : {}),
      ...(alert.record.seq !== undefined ? { seq: alert.record.seq } : {}),
      ...(alert.record.kid !== undefined ? { kid: alert.record.kid } : {}),
      ts: iso(alert.record.tsMs),
    },
    ...(alert.digest ? { digest: alert.digest } : {}),
  };
}

/** The request body of one alert for a destination type. */
export function renderAlert(type: WebhookType, alert: Alert): string {
  const payload = type === 'slack' ? slackPayload(alert) : type === 'teams' ? teamsPayload(alert) : type === 'discord' ? discordPayload(alert) : jsonPayload(alert);
  return JSON.stringify(payload);
}
