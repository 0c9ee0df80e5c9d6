import { EVENT_DEFENSE_DEGRADED, EVENT_DEFENSE_RECOVERED, EVENT_TOR_BLOCKED, eventTypeInfo, mitigationText } from './catalogue.js';
import type { Art23Stages, EventTypeSummary, IncidentReport, SeverityAssessment } from './schema.js';
import { addMonthsUtc, iso } from './time.js';

/**
 * Thresholds at which events that are often benign alone ("weak" intent: a client over its rate
 * limit, a failed login) count as an attack by their volume. Stated in the evidence whenever used,
 * so the person confirming the answer sees the rule, not just its verdict.
 */
export const VOLUME_THRESHOLDS = { occurrences: 1000, sourcePrefixes: 10 } as const;

const HOUR_MS = 3_600_000;

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function pct(part: number, whole: number): string {
  if (whole === 0) return '0%';
  if (part === whole) return '100%';
  const p = (part / whole) * 100;
  // Never round a partial share up to 100% (or down to 0%): "all blocked" must mean all.
  const text = p.toFixed(1).replace(/\.0$/, '');
  return `${text === '100' ? '99.9' : text === '0' && part > 0 ? '0.1' : text}%`;
}

function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < HOUR_MS) return `${Math.round(ms / 60_000)} min`;
  if (ms < 48 * HOUR_MS) return `${(ms / HOUR_MS).toFixed(1).replace(/\.0$/, '')} h`;
  return `${(ms / 86_400_000).toFixed(1).replace(/\.0$/, '')} days`;
}

function outcome(t: EventTypeSummary): string {
  const parts = (['block', 'monitor', 'allow'] as const).filter((a) => t.actions[a] > 0)
    .map((a) => `${a === 'block' ? 'blocked' : a === 'monitor' ? 'monitored only' : 'allowed'} ${fmt(t.actions[a])}`);
  return parts.length ? `; ${parts.join(', ')}` : '';
}

function typeLine(t: EventTypeSummary): string {
  return `${fmt(t.occurrences)} × ${t.label}${t.sourcePrefixes ? ` from ${fmt(t.sourcePrefixes)} source prefix(es)` : ''}`;
}

type Base = Omit<IncidentReport, 'art23'>;

function byIntent(report: Base, intent: 'strong' | 'weak' | 'none'): EventTypeSummary[] {
  return report.eventTypes.filter((t) => t.occurrences > 0 && eventTypeInfo(t.event).intent === intent);
}

/** Distinct source prefixes seen on events of the given types (from the kept indicator list). */
function prefixesOf(report: Base, events: ReadonlySet<string>): number {
  return report.indicators.sourcePrefixes.filter((p) => p.events.some((e) => events.has(e))).length;
}

function tamperedStreams(report: Base): string[] {
  return report.integrity.streams.filter((s) => s.state === 'tampered').map((s) => `${s.service ?? '(unknown service)'} ${s.stream.slice(0, 8)}…`);
}

function suspectedMalicious(report: Base): Art23Stages['earlyWarning']['suspectedMalicious'] {
  const evidence: string[] = [];
  let answer: 'yes' | 'unclear' | 'no' = 'no';
  const tampered = tamperedStreams(report);
  if (report.integrity.status === 'tampered') {
    answer = 'yes';
    evidence.push(`The security event log itself fails verification (${tampered.length ? tampered.join(', ') : 'damaged input records'}): someone with access to the logs or the host is a likely explanation.`);
  }
  const strong = byIntent(report, 'strong');
  if (strong.length > 0) {
    answer = 'yes';
    for (const t of strong) evidence.push(`${typeLine(t)}: hard to explain without an attacker.`);
  }
  const weak = byIntent(report, 'weak');
  if (weak.length > 0) {
    const occurrences = weak.reduce((n, t) => n + t.occurrences + t.notIndividuallyRecorded, 0);
    const prefixes = prefixesOf(report, new Set(weak.map((t) => t.event)));
    const volumetric = occurrences >= VOLUME_THRESHOLDS.occurrences || prefixes >= VOLUME_THRESHOLDS.sourcePrefixes;
    for (const t of weak) evidence.push(`${typeLine(t)}${t.notIndividuallyRecorded ? ` (+ ${fmt(t.notIndividuallyRecorded)} not individually recorded)` : ''}.`);
    if (volumetric) {
      answer = 'yes';
      evidence.push(`Volume: ${fmt(occurrences)} occurrence(s) from ${fmt(prefixes)} source prefix(es) reach the threshold of ${fmt(VOLUME_THRESHOLDS.occurrences)} occurrences or ${VOLUME_THRESHOLDS.sourcePrefixes} prefixes at which such events are treated as an attack rather than misbehaving clients.`);
    } else if (answer === 'no') {
      answer = 'unclear';
      evidence.push(`Below the volume thresholds (${fmt(VOLUME_THRESHOLDS.occurrences)} occurrences or ${VOLUME_THRESHOLDS.sourcePrefixes} source prefixes): could be misbehaving clients or users; look at the sources and routes.`);
    }
  }
  const unknown = report.eventTypes.filter((t) => t.occurrences > 0 && t.label === t.event);
  if (unknown.length > 0) {
    if (answer === 'no') answer = 'unclear';
    evidence.push(`Event types this report does not know, to judge by hand: ${unknown.map((t) => `${t.event} (${fmt(t.occurrences)})`).join(', ')}.`);
  }
  if (report.suppressed.total > 0) {
    evidence.push(`${fmt(report.suppressed.total)} event(s) exceeded the event budget and were not individually recorded: a flood of events.`);
  }
  const neutral = byIntent(report, 'none').filter((t) => t.label !== t.event);
  if (answer === 'no') {
    evidence.push(neutral.length > 0
      ? `Only operational or neutral events: ${neutral.map(typeLine).join('; ')}.`
      : 'No security event in the window.');
  }
  return { answer, evidence, toConfirm: true };
}

function crossBorder(report: Base): Art23Stages['earlyWarning']['crossBorderImpact'] {
  const evidence: string[] = [];
  if (report.summary.total === 0) return { answer: 'no-evidence', evidence: ['No security event in the window.'], toConfirm: true };
  let answer: 'possible' | 'unknown' = 'unknown';
  const tor = report.eventTypes.find((t) => t.event === EVENT_TOR_BLOCKED && t.occurrences > 0);
  if (tor) {
    answer = 'possible';
    evidence.push(`${fmt(tor.occurrences)} request(s) came through Tor exit nodes: their true origin is hidden and may be in any country.`);
  }
  const prefixes = report.summary.sourcePrefixes;
  if (prefixes > 0) {
    evidence.push(`${fmt(prefixes)} distinct source prefix(es) (listed under indicators): the logs carry no geolocation; look them up to see whether sources are in other Member States.`);
  }
  if (report.services.length > 0) {
    evidence.push(`Affected service(s): ${report.services.map((s) => s.name).join(', ')}: consider whether they serve users or entities in other Member States, or depend on providers there.`);
  }
  return { answer, evidence, toConfirm: true };
}

function severity(report: Base): SeverityAssessment {
  const reasons: SeverityAssessment['reasons'] = [];
  const s = report.summary;
  if (report.integrity.status === 'tampered') reasons.push({ level: 'high', text: 'The security event log was tampered with: the record of the incident cannot be fully trusted and the host may be compromised.' });
  if (s.blockFailed > 0) reasons.push({ level: 'high', text: `${fmt(s.blockFailed)} block(s) failed because the response had already started: those requests reached the application.` });
  for (const t of byIntent(report, 'strong')) {
    const notBlocked = t.occurrences - t.actions.block;
    if (notBlocked > 0) reasons.push({ level: 'high', text: `${fmt(notBlocked)} of ${fmt(t.occurrences)} × ${t.label} were not blocked (${t.actions.monitor ? 'monitor mode' : 'allowed'}): the attacker may have reached the application.` });
    if (t.actions.block > 0) reasons.push({ level: 'medium', text: `${fmt(t.actions.block)} × ${t.label} blocked by the guard.` });
  }
  const weak = byIntent(report, 'weak');
  const weakOcc = weak.reduce((n, t) => n + t.occurrences + t.notIndividuallyRecorded, 0);
  const weakPrefixes = prefixesOf(report, new Set(weak.map((t) => t.event)));
  if (weakOcc >= VOLUME_THRESHOLDS.occurrences || weakPrefixes >= VOLUME_THRESHOLDS.sourcePrefixes) {
    reasons.push({ level: 'medium', text: `Volume: ${fmt(weakOcc)} rate-limit, Tor or login-failure occurrence(s) from ${fmt(weakPrefixes)} source prefix(es).` });
  }
  for (const t of weak) {
    if (t.actions.monitor > 0) reasons.push({ level: 'medium', text: `${fmt(t.actions.monitor)} × ${t.label} were only monitored, not blocked: the application served them.` });
  }
  const degraded = report.eventTypes.find((t) => t.event === EVENT_DEFENSE_DEGRADED && t.occurrences > 0);
  if (degraded) reasons.push({ level: 'medium', text: `A defense was degraded ${fmt(degraded.occurrences)} time(s) (e.g. its shared store unreachable): protection was reduced while it lasted.` });
  if (report.suppressed.total > 0) reasons.push({ level: 'medium', text: `${fmt(report.suppressed.total)} event(s) beyond the event budget: the event volume was a flood.` });
  if (s.access.serverErrors > 0) reasons.push({ level: 'medium', text: `${fmt(s.access.serverErrors)} request(s) answered with a server error (5xx) in the window: possible service disruption.` });
  if (reasons.length === 0 && s.total > 0) reasons.push({ level: 'low', text: `${fmt(s.total)} security event occurrence(s), all handled by the guard, none indicating a successful attack.` });
  const rank = { low: 1, medium: 2, high: 3 } as const;
  reasons.sort((a, b) => rank[b.level] - rank[a.level]);
  let level: SeverityAssessment['level'] = 'none';
  for (const r of reasons) if (level === 'none' || rank[r.level] > rank[level]) level = r.level;
  return { level, reasons, toConfirm: true };
}

function impact(report: Base): string[] {
  const s = report.summary;
  const out: string[] = [];
  if (s.occurrences > 0) {
    out.push(`Blocked by the guard before reaching the application: ${fmt(s.actions.block)} of ${fmt(s.occurrences)} recorded occurrence(s) (${pct(s.actions.block, s.occurrences)}).`);
  }
  if (s.actions.monitor > 0) out.push(`Monitored only (the application handled them): ${fmt(s.actions.monitor)}.`);
  if (s.actions.allow > 0) out.push(`Allowed and recorded (e.g. failed logins the application answered): ${fmt(s.actions.allow)}.`);
  if (s.blockFailed > 0) out.push(`Blocks that failed because the response had already started: ${fmt(s.blockFailed)}.`);
  if (s.notIndividuallyRecorded > 0) out.push(`${fmt(s.notIndividuallyRecorded)} event(s) not individually recorded (flood control): counted, but with no source, route or outcome.`);
  if (s.accountsTargeted > 0) out.push(`Accounts involved (pseudonyms): ${fmt(s.accountsTargeted)}.`);
  const degraded = report.eventTypes.find((t) => t.event === EVENT_DEFENSE_DEGRADED && t.occurrences > 0);
  if (degraded) {
    const recovered = report.eventTypes.find((t) => t.event === EVENT_DEFENSE_RECOVERED && t.occurrences > 0);
    out.push(`Defenses degraded from ${degraded.firstSeen ?? '?'}${recovered ? `; last recovery at ${recovered.lastSeen ?? '?'}` : '; no recovery recorded in the window'}.`);
  }
  if (s.access.requests > 0) out.push(`Traffic in the access records: ${fmt(s.access.requests)} request(s), ${fmt(s.access.blocked)} blocked, ${fmt(s.access.serverErrors)} server error(s) (5xx).`);
  if (report.services.length > 0) out.push(`Services affected: ${report.services.map((v) => v.name).join(', ')}.`);
  if (s.occurrences > 0) out.push(`Evidence: ${fmt(s.evidence.verified)} verified, ${fmt(s.evidence.unverified)} unverified, ${fmt(s.evidence.suspect)} suspect occurrence(s).`);
  if (out.length === 0) out.push('No security event in the window.');
  return out;
}

function indicatorLines(report: Base): string[] {
  const out: string[] = [];
  const top = <T extends { value: string; occurrences: number; events?: string[] }>(list: T[]): string =>
    list.slice(0, 10).map((i) => `${i.value} (${fmt(i.occurrences)})`).join(', ') + (list.length > 10 ? ', …' : '');
  const ind = report.indicators;
  if (ind.sourcePrefixes.length) out.push(`Source prefixes (anonymised): ${top(ind.sourcePrefixes)}`);
  if (ind.uaFamilies.length) out.push(`User-Agent families: ${top(ind.uaFamilies)}`);
  if (ind.rules.length) out.push(`Rules triggered: ${top(ind.rules)}`);
  if (ind.routes.length) out.push(`Targeted routes: ${top(ind.routes)}`);
  if (out.length === 0) out.push('None in the window.');
  return out;
}

function integritySentence(report: Base): string {
  switch (report.integrity.status) {
    case 'intact': return 'The signed event log verifies intact.';
    case 'tampered': return 'WARNING: the signed event log failed verification; part of this account rests on suspect records.';
    case 'unverifiable': return 'The signed event log could not be fully verified (missing or unpinned keys).';
    default: return 'No signed event stream was found.';
  }
}

function assessment(report: Base): string {
  const s = report.summary;
  const w = report.window;
  if (s.total === 0) {
    return `No security event was recorded ${w.since || w.until ? `between ${w.since ?? 'the start of the log'} and ${w.until ?? 'its end'}` : 'in the input'}. ${integritySentence(report)}`;
  }
  const first = w.firstEvent!;
  const last = w.lastEvent!;
  const services = report.services.map((v) => v.name).join(', ') || 'the monitored services';
  const types = report.eventTypes.filter((t) => t.occurrences + t.notIndividuallyRecorded > 0).slice(0, 5)
    .map((t) => `${t.label} ${fmt(t.occurrences + t.notIndividuallyRecorded)}`).join(', ');
  return `Between ${first} and ${last} (${duration(Date.parse(last) - Date.parse(first))}), ${services} recorded ${fmt(s.total)} security event occurrence(s) of ${fmt(s.eventTypes)} type(s)` +
    `${s.sourcePrefixes ? ` from ${fmt(s.sourcePrefixes)} source prefix(es)` : ''}: ${types}. ` +
    `The guard blocked ${fmt(s.actions.block)} (${pct(s.actions.block, s.occurrences)} of the recorded occurrences)` +
    `${s.actions.monitor ? `, monitored ${fmt(s.actions.monitor)} without blocking` : ''}. ${integritySentence(report)} ` +
    'Pre-filled from the signed event log; to be confirmed by the incident owner.';
}

function mitigations(report: Base): { applied: string[]; toComplete: string[] } {
  const applied = report.indicators.rules.filter((r) => r.actions.block > 0).map((r) => mitigationText(r.value, r.actions.block));
  if (applied.length === 0) applied.push('The guard blocked no request in the window.');
  const toComplete = ['Measures taken after the incident (configuration changes, blocked networks, patched code, rotated credentials): to complete.'];
  const monitored = report.indicators.rules.filter((r) => r.actions.monitor > 0);
  if (monitored.length) toComplete.push(`Rules that only monitored: ${monitored.map((r) => `${r.value} (${fmt(r.actions.monitor)})`).join(', ')}: consider enforce mode.`);
  if (report.integrity.status === 'tampered') toComplete.push('The event log was tampered with: secure the host, rotate the signing key, and keep the verified copies.');
  return { applied, toComplete };
}

/**
 * Pre-fills the three Art. 23(4) stages from the report's numbers. Every answer is marked "to
 * confirm": the log shows what the guard saw, not the whole incident. Deadlines run from the first
 * event of the window, the earliest moment the entity could have become aware.
 */
export function assessArt23(report: Base): Art23Stages {
  const first = report.window.firstEvent;
  const firstMs = first === null ? undefined : Date.parse(first);
  const notificationMs = firstMs === undefined ? undefined : firstMs + 72 * HOUR_MS;
  const rootEvidence: string[] = [];
  const ind = report.indicators;
  if (ind.routes.length) rootEvidence.push(`Most targeted routes: ${ind.routes.slice(0, 5).map((r) => `${r.value} (${fmt(r.occurrences)})`).join(', ')}.`);
  if (ind.sourcePrefixes.length) rootEvidence.push(`Most active source prefixes: ${ind.sourcePrefixes.slice(0, 5).map((r) => `${r.value} (${fmt(r.occurrences)})`).join(', ')}.`);
  if (ind.rules.length) rootEvidence.push(`Rules that fired: ${ind.rules.map((r) => r.value).join(', ')}.`);
  const tampered = tamperedStreams(report);
  if (tampered.length) rootEvidence.push(`Log tampering in: ${tampered.join(', ')}.`);
  const description = [assessment(report), ...report.eventTypes.filter((t) => t.occurrences + t.notIndividuallyRecorded > 0).map((t) =>
    `${t.label} (${t.event}): ${fmt(t.occurrences)} recorded${t.notIndividuallyRecorded ? ` + ${fmt(t.notIndividuallyRecorded)} not individually recorded` : ''}, ` +
    `${t.firstSeen === t.lastSeen ? `at ${t.firstSeen ?? '?'}` : `${t.firstSeen ?? '?'} to ${t.lastSeen ?? '?'}`}${outcome(t)}.`)].join('\n');
  return {
    awareness: {
      at: first,
      basis: first === null
        ? 'No security event in the window: no deadline runs from this log. If the report documents tampering alone, the deadlines run from when it was discovered.'
        : 'The first security event of the window: the earliest moment the entity could have become aware. If it became aware later, the deadlines run from that moment.',
    },
    earlyWarning: {
      deadline: firstMs === undefined ? null : iso(firstMs + 24 * HOUR_MS),
      suspectedMalicious: suspectedMalicious(report),
      crossBorderImpact: crossBorder(report),
    },
    notification: {
      deadline: notificationMs === undefined ? null : iso(notificationMs),
      initialAssessment: assessment(report),
      severity: severity(report),
      impact: impact(report),
      indicators: indicatorLines(report),
      toConfirm: true,
    },
    finalReport: {
      deadline: notificationMs === undefined ? null : iso(addMonthsUtc(notificationMs, 1)),
      description,
      rootCause: { text: 'To be determined by the investigation: the log shows what was attempted and what the guard did, not how or why the attack started.', evidence: rootEvidence },
      mitigations: mitigations(report),
      crossBorderImpact: 'To complete from the early warning answer, once the sources and affected users are located.',
      toComplete: [
        'Type of threat and root cause.',
        'Mitigation measures applied and ongoing, beyond the guard\'s automatic blocks.',
        'Cross-border impact.',
        'Severity and impact, confirmed by the incident owner.',
      ],
    },
  };
}
