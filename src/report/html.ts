import { esc, renderTimelineSvg, SERIES_COLORS, SUPPRESSED_COLOR } from './chart.js';
import type { ActionCounts, EvidenceCounts, IncidentReport, IndicatorValue, PrefilledAnswer, StreamIntegrity } from './schema.js';
import { formatDuration } from './time.js';

/** Rows of the HTML tables past which the page points to the JSON output instead. */
export const HTML_ROW_LIMIT = 200;

const CSS = `
:root{--ink:#1f1f1f;--muted:#5f6368;--line:#dadce0;--ok:#1e8e3e;--okbg:#e6f4ea;--bad:#c5221f;--badbg:#fce8e6;--warn:#b06000;--warnbg:#fef7e0;--info:#174ea6;--infobg:#e8f0fe}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:#fff;color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--ink)}
h3{font-size:15px;margin:18px 0 8px}
.sub{color:var(--muted);margin:0 0 16px}
.banner{border:2px solid;border-left-width:10px;border-radius:6px;padding:12px 16px;margin:12px 0 8px;font-size:15px}
.banner strong{font-size:16px}
.b-intact{border-color:var(--ok);background:var(--okbg)}
.b-tampered{border-color:var(--bad);background:var(--badbg)}
.b-unverifiable{border-color:var(--warn);background:var(--warnbg)}
.b-no-evidence{border-color:var(--muted);background:#f1f3f4}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin:14px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:#fafafa}
.card .v{font-size:24px;font-weight:700}
.card .k{color:var(--muted);font-size:12px}
.card.alert{border-color:var(--bad);background:var(--badbg)}
.card.note{border-color:var(--warn);background:var(--warnbg)}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid var(--line);padding:4px 7px;text-align:left;vertical-align:top}
th{background:#f1f3f4;font-weight:600}
tr:nth-child(even) td{background:#fafafa}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,.mono,.ts{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
code,.mono{word-break:break-all}
code.id{word-break:normal;overflow-wrap:anywhere}
.nw{white-space:nowrap}
.ts{white-space:nowrap}
.tag{display:inline-block;border-radius:3px;padding:0 5px;font-size:11px;font-weight:700;letter-spacing:.02em;white-space:nowrap}
.t-bad{background:var(--bad);color:#fff}.t-warn{background:#f9ab00;color:#000}.t-ok{background:var(--ok);color:#fff}.t-info{background:var(--info);color:#fff}.t-muted{background:#e0e0e0;color:#333}
.confirm{background:#fbbc04;color:#000}
.chartbox{border:1px solid var(--line);border-radius:6px;padding:8px 8px 4px;background:#fff}
svg.chart{width:100%;height:auto;display:block}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:8px 4px 2px;font-size:12px}
.legend span.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-2px;margin-right:5px}
.stage{border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:12px 0;break-inside:avoid}
.stage h3{margin-top:0}
.deadline{font-weight:700}
dl.qa{display:grid;grid-template-columns:240px 1fr;gap:6px 14px;margin:8px 0}
dl.qa dt{font-weight:600}
dl.qa dd{margin:0}
ul{margin:4px 0 8px 20px;padding:0}
.muted{color:var(--muted)}
.small{font-size:12px}
footer{margin-top:32px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
@media print{main{max-width:none;padding:0 8mm}h2{break-after:avoid}table,tr,.stage,.chartbox,.banner{break-inside:avoid}a{color:inherit;text-decoration:none}@page{size:A4;margin:12mm}}
`;

function n(value: number): string {
  return esc(value.toLocaleString('en-US'));
}

function ts(value: string | null): string {
  if (value === null) return '<span class="muted">—</span>';
  return `<span class="ts">${esc(value.replace('T', ' ').replace(/\.000Z$/, 'Z'))}</span>`;
}

function code(value: string | null): string {
  return value === null ? '<span class="muted">—</span>' : `<code>${esc(value)}</code>`;
}

/** An identifier that may wrap after its dots and slashes (event names, routes), not mid-word. */
function ident(value: string): string {
  return `<code class="id">${esc(value).replace(/([./_])/g, '$1<wbr>')}</code>`;
}

/** First and last time, once when they are the same. */
function span(first: string | null, last: string | null): string {
  return first === last ? ts(first) : `${ts(first)}<br>${ts(last)}`;
}

function table(head: Array<string | [string, 'n']>, rows: string[][], omitted = 0): string {
  const th = head.map((h) => (Array.isArray(h) ? `<th class="n">${esc(h[0])}</th>` : `<th>${esc(h)}</th>`)).join('');
  const numeric = head.map((h) => Array.isArray(h));
  const shown = rows.slice(0, HTML_ROW_LIMIT);
  const body = shown.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('');
  const more = rows.length - shown.length + omitted;
  const foot = more > 0 ? `<p class="small muted">${n(more)} more row(s) not shown: see <code>--format json</code>.</p>` : '';
  if (rows.length === 0) return '<p class="muted">None.</p>';
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>${foot}`;
}

function actions(a: ActionCounts): string {
  const parts: string[] = [];
  if (a.block) parts.push(`${n(a.block)} blocked`);
  if (a.monitor) parts.push(`<strong>${n(a.monitor)} monitored</strong>`);
  if (a.allow) parts.push(`${n(a.allow)} allowed`);
  if (a.other) parts.push(`${n(a.other)} other`);
  return parts.join(', ') || '—';
}

function evidence(e: EvidenceCounts): string {
  const tags: string[] = [];
  if (e.suspect) tags.push(`<span class="tag t-bad" title="from a tampered stream">SUSPECT ${n(e.suspect)}</span>`);
  if (e.unverified) tags.push(`<span class="tag t-warn" title="from a stream that could not be verified">UNVERIFIED ${n(e.unverified)}</span>`);
  if (tags.length === 0) return '<span class="tag t-ok">verified</span>';
  if (e.verified) tags.push(`<span class="tag t-ok">verified ${n(e.verified)}</span>`);
  return tags.join(' ');
}

const STATE_TAG: Record<StreamIntegrity['state'], string> = {
  'intact-closed': '<span class="tag t-ok">INTACT · closed</span>',
  'intact-open': '<span class="tag t-ok">INTACT · open</span>',
  tampered: '<span class="tag t-bad">TAMPERED</span>',
  'cannot-verify': '<span class="tag t-warn">CANNOT VERIFY</span>',
};

const KEY_TEXT: Record<StreamIntegrity['key']['source'], string> = {
  pinned: 'pinned public key',
  hmac: 'HMAC key given',
  declared: 'declared by the stream (not pinned)',
  untrusted: 'declared, NOT among the pinned keys',
  none: 'no key',
};

function integrity(report: IncidentReport): string {
  const i = report.integrity;
  const rows = i.streams.map((s) => [
    `<code title="${esc(s.stream)}">${esc(s.stream.length > 12 ? `${s.stream.slice(0, 12)}…` : s.stream)}</code>`,
    esc(s.service ?? '(unknown service)') + (s.host ? `<br><span class="small muted">${esc(s.host)}</span>` : ''),
    STATE_TAG[s.state],
    `${n(s.firstSeq)}..${n(s.lastSeq)}`,
    n(s.records),
    `${ts(s.firstTs)}<br>${ts(s.lastTs)}`,
    `${code(s.key.kid)} ${esc(s.key.alg ?? '?')}<br><span class="small">${esc(KEY_TEXT[s.key.source])}</span>`,
    n(s.occurrencesInWindow),
    s.problems.length === 0 ? '<span class="muted">none</span>' : `<ul>${s.problems.map((p) =>
      `<li><span class="tag ${p.severity === 'tamper' ? 't-bad' : p.severity === 'unverifiable' ? 't-warn' : 't-muted'}">${esc(p.kind)}</span> seq ${p.from === p.to ? n(p.from) : `${n(p.from)}..${n(p.to)}`}${p.at ? ` (${ts(p.at)})` : ''}: ${esc(p.detail)}</li>`).join('')}</ul>`,
  ]);
  const malformed = i.malformedRecords > 0
    ? `<p><span class="tag t-bad">DAMAGED INPUT</span> ${n(i.malformedRecords)} record(s) belong to no stream: ${i.malformed.map((m) => `${esc(m.reason)} at <code>${esc(m.at)}</code>`).join('; ')}${i.malformedRecords > i.malformed.length ? '; …' : ''}</p>`
    : '';
  return `<h2 id="integrity">1. Evidence integrity</h2>
<p class="small muted">Checked before anything else: every record's signature, the hash chain, sequence numbers and checkpoints of each stream (the same verification as <code>nis2-otel verify</code>).</p>
${table(['stream', 'service', 'verdict', ['seq', 'n'], ['records', 'n'], 'first / last record', 'key', ['events in window', 'n'], 'problems'], rows)}
${malformed}`;
}

function cards(report: IncidentReport): string {
  const s = report.summary;
  const card = (value: string, key: string, cls = ''): string => `<div class="card ${cls}"><div class="v">${value}</div><div class="k">${esc(key)}</div></div>`;
  return `<div class="cards">
${card(n(s.total), 'security event occurrences')}
${card(n(s.actions.block), 'blocked by the guard')}
${card(n(s.actions.monitor), 'monitored only (not blocked)', s.actions.monitor ? 'note' : '')}
${card(n(s.notIndividuallyRecorded), 'not individually recorded', s.notIndividuallyRecorded ? 'note' : '')}
${card(n(s.sourcePrefixes), 'source prefixes')}
${card(n(s.routes), 'routes targeted')}
${card(n(s.eventTypes), 'event types')}
${card(n(s.evidence.suspect), 'suspect occurrences', s.evidence.suspect ? 'alert' : '')}
</div>`;
}

function answerTag(answer: string): string {
  const cls = answer === 'yes' || answer === 'possible' || answer === 'high' ? 't-bad' : answer === 'unclear' || answer === 'unknown' || answer === 'medium' ? 't-warn' : answer === 'low' ? 't-info' : 't-muted';
  return `<span class="tag ${cls}">${esc(answer.toUpperCase())}</span>`;
}

function prefilled(a: PrefilledAnswer<string>): string {
  return `${answerTag(a.answer)} <span class="tag confirm">TO CONFIRM</span><ul>${a.evidence.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>`;
}

function list(items: string[]): string {
  return items.length ? `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>` : '<p class="muted">None.</p>';
}

function deadlines(report: IncidentReport): string {
  const a = report.art23;
  const row = (stage: string, article: string, deadline: string | null, what: string): string[] => [esc(stage), esc(article), deadline ? `<span class="deadline">${ts(deadline)}</span>` : '<span class="muted">no event: no deadline</span>', esc(what)];
  return `${table(['stage', 'NIS2', 'deadline (UTC)', 'content'], [
    row('Early warning', 'Art. 23(4)(a)', a.earlyWarning.deadline, '24 h after awareness: suspected unlawful or malicious act? cross-border impact?'),
    row('Incident notification', 'Art. 23(4)(b)', a.notification.deadline, '72 h after awareness: initial assessment, severity, impact, indicators of compromise'),
    row('Final report', 'Art. 23(4)(d)', a.finalReport.deadline, 'one month after the notification: description, root cause, mitigations, cross-border impact'),
  ])}
<p class="small">Awareness taken at ${ts(a.awareness.at)}. ${esc(a.awareness.basis)}</p>`;
}

function art23(report: IncidentReport): string {
  const a = report.art23;
  const sev = a.notification.severity;
  return `<h2 id="art23">6. NIS2 Art. 23 reporting (pre-filled draft)</h2>
<p class="small muted">Pre-filled from the signed events above. Every answer is a draft marked <span class="tag confirm">TO CONFIRM</span>: the log shows what the guard saw, not the whole incident.</p>
<div class="stage"><h3>Stage 1 · Early warning <span class="muted">(Art. 23(4)(a), due ${ts(a.earlyWarning.deadline)})</span></h3>
<dl class="qa"><dt>Suspected unlawful or malicious act?</dt><dd>${prefilled(a.earlyWarning.suspectedMalicious)}</dd>
<dt>Could it have a cross-border impact?</dt><dd>${prefilled(a.earlyWarning.crossBorderImpact)}</dd></dl></div>
<div class="stage"><h3>Stage 2 · Incident notification <span class="muted">(Art. 23(4)(b), due ${ts(a.notification.deadline)})</span></h3>
<dl class="qa"><dt>Initial assessment</dt><dd>${esc(a.notification.initialAssessment)} <span class="tag confirm">TO CONFIRM</span></dd>
<dt>Severity</dt><dd>${answerTag(sev.level)} <span class="tag confirm">TO CONFIRM</span>${sev.reasons.length ? `<ul>${sev.reasons.map((r) => `<li>${answerTag(r.level)} ${esc(r.text)}</li>`).join('')}</ul>` : ''}</dd>
<dt>Impact</dt><dd>${list(a.notification.impact)}</dd>
<dt>Indicators of compromise</dt><dd>${list(a.notification.indicators)}<span class="small muted">Full lists in section 5.</span></dd></dl></div>
<div class="stage"><h3>Stage 3 · Final report skeleton <span class="muted">(Art. 23(4)(d), due ${ts(a.finalReport.deadline)})</span></h3>
<dl class="qa"><dt>Description</dt><dd>${a.finalReport.description.split('\n').map((p) => `<p>${esc(p)}</p>`).join('')}</dd>
<dt>Root cause</dt><dd><p>${esc(a.finalReport.rootCause.text)} <span class="tag confirm">TO COMPLETE</span></p>${list(a.finalReport.rootCause.evidence)}</dd>
<dt>Mitigations applied (by the guard)</dt><dd>${list(a.finalReport.mitigations.applied)}</dd>
<dt>Further mitigations</dt><dd>${list(a.finalReport.mitigations.toComplete)}</dd>
<dt>Cross-border impact</dt><dd>${esc(a.finalReport.crossBorderImpact)}</dd>
<dt>To complete before sending</dt><dd>${list(a.finalReport.toComplete)}</dd></dl></div>`;
}

function timeline(report: IncidentReport): string {
  const t = report.timeline;
  const legend = t.series.map((s, i) => `<span><span class="sw" style="background:${SERIES_COLORS[i % SERIES_COLORS.length]}"></span>${esc(s)}</span>`);
  if (t.buckets.some((b) => b.notIndividuallyRecorded > 0)) legend.push(`<span><span class="sw" style="background:repeating-linear-gradient(45deg,${SUPPRESSED_COLOR} 0 2px,#e3e3e3 2px 4px)"></span>not individually recorded</span>`);
  if (t.buckets.some((b) => b.suspect > 0)) legend.push('<span><span class="sw" style="background:#c5221f;height:4px"></span>bucket holds suspect records</span>');
  if (t.entries.some((e) => e.kind === 'integrity')) legend.push('<span><span class="sw" style="border-left:2px dashed #c5221f;border-radius:0"></span>integrity problem</span>');
  if (t.entries.some((e) => e.kind === 'service')) legend.push('<span><span class="sw" style="border-left:2px dashed #5f6368;border-radius:0"></span>service start/stop</span>');
  if (t.entries.some((e) => e.kind === 'defense')) legend.push('<span><span class="sw" style="border-left:2px dashed #e8710a;border-radius:0"></span>defense degraded/recovered</span>');
  const rows = t.entries.map((e) => [
    ts(e.ts),
    `<span class="tag ${e.kind === 'integrity' ? 't-bad' : e.kind === 'escalation' ? 't-warn' : e.kind === 'suppressed' ? 't-muted' : 't-info'}">${esc(e.kind)}</span>`,
    esc(e.text) + (e.suspect ? ' <span class="tag t-bad">SUSPECT</span>' : ''),
  ]);
  return `<h2 id="timeline">2. Timeline</h2>
<div class="chartbox">${renderTimelineSvg(t)}<div class="legend">${legend.join('')}</div></div>
<h3>Key moments</h3>
${table(['time (UTC)', 'kind', 'what happened'], rows, t.entriesOmitted)}`;
}

function incidents(report: IncidentReport): string {
  const types = report.eventTypes.map((t) => [
    `${esc(t.label)}<br>${ident(t.event)}`,
    esc(t.severity),
    `<strong>${n(t.occurrences + t.notIndividuallyRecorded)}</strong>` +
      (t.summarised ? `<br><span class="small muted">${n(t.summarised)} in summaries</span>` : '') +
      (t.notIndividuallyRecorded ? `<br><span class="small">${n(t.notIndividuallyRecorded)} not individually recorded</span>` : ''),
    span(t.firstSeen, t.lastSeen),
    actions(t.actions),
    n(t.sourcePrefixes),
    n(t.routes),
    esc(t.rules.join(', ') || '—'),
    evidence(t.evidence),
  ]);
  const groups = report.incidents.map((g) => [
    `<code class="nw">${esc(g.id)}</code>`,
    span(g.firstSeen, g.lastSeen),
    ident(g.event),
    `<code class="nw">${esc(g.sourcePrefix)}</code>`,
    ident(g.route),
    n(g.occurrences),
    actions(g.actions),
    esc(g.uaFamilies.join(', ') || '—'),
    esc(g.services.join(', ')),
    evidence(g.evidence),
  ]);
  return `<h2 id="incidents">3. Incidents</h2>
<h3>By type</h3>
${table(['type', 'severity', ['occurrences', 'n'], 'first / last', 'outcome', ['sources', 'n'], ['routes', 'n'], 'rules', 'evidence'], types)}
<h3>By type, source prefix, route and time <span class="muted small">(${esc(formatDuration(report.timeline.bucketSeconds))} buckets)</span></h3>
${table(['id', 'first / last', 'type', 'source prefix', 'route', ['occurrences', 'n'], 'outcome', 'UA families', 'service', 'evidence'], groups, report.incidentsOmitted.groups)}
${suppressed(report)}`;
}

function suppressed(report: IncidentReport): string {
  const s = report.suppressed;
  if (s.total === 0) return '';
  const rows = s.byEvent.map((e) => [ident(e.event), n(e.count)]);
  if (s.unattributed) rows.push(['<span class="muted">(type not recorded)</span>', n(s.unattributed)]);
  return `<h3>Not individually recorded</h3>
<p><span class="tag t-warn">FLOOD CONTROL</span> ${n(s.total)} event(s) not individually recorded: the writer's event budget was exhausted, so these are known only as counts (${n(s.records)} <code>nis2.events.suppressed</code> record(s)). They are in the totals and the chart, but have no source, route or outcome.</p>
${table(['event type', ['count', 'n']], rows)}`;
}

function indicatorTable(title: string, list: IndicatorValue[], omitted: number, valueHead: string): string {
  const rows = list.map((i) => [ident(i.value), n(i.occurrences), span(i.firstSeen, i.lastSeen), i.events.map(ident).join(', '), actions(i.actions)]);
  return `<h3>${esc(title)}</h3>${table([valueHead, ['occurrences', 'n'], 'first / last', 'events', 'outcome'], rows, omitted)}`;
}

function indicators(report: IncidentReport): string {
  const i = report.indicators;
  return `<h2 id="indicators">5. Indicators of compromise</h2>
<p class="small muted">Source prefixes are anonymised networks (IPv4 /24, IPv6 /48 by default), never full addresses. User-Agent families carry no version.</p>
${indicatorTable('Source prefixes', i.sourcePrefixes, i.omitted.sourcePrefixes, 'prefix')}
${indicatorTable('User-Agent families', i.uaFamilies, i.omitted.uaFamilies, 'family')}
${indicatorTable('Rules triggered', i.rules, i.omitted.rules, 'security_rule.name')}
${indicatorTable('Targeted routes', i.routes, i.omitted.routes, 'route')}`;
}

function servicesSection(report: IncidentReport): string {
  const rows = report.services.map((s) => [
    esc(s.name),
    esc(s.hosts.join(', ') || '—'),
    n(s.occurrences),
    s.notIndividuallyRecorded ? n(s.notIndividuallyRecorded) : '—',
    STATE_TAG[s.integrity],
    `<span class="mono small">${s.streams.map((x) => esc(x.slice(0, 12))).join(', ')}</span>`,
  ]);
  return `<h2 id="services">4. Affected services</h2>
${table(['service.name', 'hosts', ['occurrences', 'n'], ['not individually recorded', 'n'], 'integrity', 'streams'], rows)}`;
}

function method(report: IncidentReport): string {
  const files = report.inputs.files.map((f) => [code(f.path), esc(f.format), n(f.records), n(f.skipped), f.malformed ? `<strong>${n(f.malformed)}</strong>` : '0']);
  return `<h2 id="method">7. Method and notes</h2>
${list(report.notes)}
<h3>Input</h3>
${table(['file', 'format', ['envelopes', 'n'], ['other records skipped', 'n'], ['malformed', 'n']], files)}
<p class="small">${n(report.inputs.envelopes)} envelope(s) read, ${n(report.inputs.distinctRecords)} distinct record(s)${report.inputs.unusable ? `, ${n(report.inputs.unusable)} unusable` : ''}.</p>`;
}

function windowText(report: IncidentReport): string {
  const w = report.window;
  if (w.basis === 'all') return `whole input (events ${ts(w.firstEvent)} → ${ts(w.lastEvent)})`;
  const range = `${w.since ? ts(w.since) : 'start of the log'} → ${w.until ? ts(w.until) : 'end of the log'}`;
  if (w.basis === 'hours') {
    const anchor = w.anchorSource === 'newest-event' ? 'the newest event of the log' : w.anchorSource === 'now-flag' ? '--now' : '--until';
    return `${range} (the ${esc(String(w.hours))} h before ${anchor})`;
  }
  return range;
}

/**
 * Renders the report as one self-contained HTML page: inline CSS, an inline SVG chart, tables; no
 * script and no external reference (a Content-Security-Policy forbids any fetch), so it reads the
 * same offline, archived, or printed. Every value from the log is HTML-escaped: paths and
 * User-Agents came from requests an attacker wrote.
 */
export function renderReportHtml(report: IncidentReport): string {
  const i = report.integrity;
  const status = i.status;
  const services = report.services.map((s) => s.name).join(', ') || 'no service with events';
  const title = `NIS2 incident report · ${report.window.firstEvent ? report.window.firstEvent.slice(0, 10) : 'no events'} · ${services}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${esc(`${report.generator.name} ${report.generator.version}`)}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>NIS2 Art. 23 incident report <span class="tag confirm">DRAFT</span></h1>
<p class="sub">Window ${windowText(report)} · services: ${esc(services)} · generated ${ts(report.generatedAt)} by ${esc(report.generator.name)} ${esc(report.generator.version)} · schema <code>${esc(report.schema)}</code></p>
<div class="banner b-${esc(status)}" id="integrity-verdict"><strong>${status === 'intact' ? '✔' : status === 'tampered' ? '✖' : '⚠'} ${esc(i.headline)}</strong></div>
${cards(report)}
<h3>Reporting deadlines</h3>
${deadlines(report)}
${integrity(report)}
${timeline(report)}
${incidents(report)}
${servicesSection(report)}
${indicators(report)}
${art23(report)}
${method(report)}
<footer>Generated from signed, hash-chained security events (envelope v1). Figures count occurrences; see section 7 for how summaries and dropped events are counted.</footer>
</main>
</body>
</html>
`;
}
