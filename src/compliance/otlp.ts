import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, isIPv4, isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import { result, type CheckContext, type CheckResult } from './types.js';

/** Where the OTLP log exporter sends, resolved as `@opentelemetry/otlp-exporter-base` does. */
export interface OtlpLogsEndpoint {
  /** Undefined when the configured value is not a URL. */
  readonly url: URL | undefined;
  /** The variable it came from, or `default`. */
  readonly from: 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'default';
  /** The configured text, for error messages (endpoints carry no secrets; headers do and are never read here). */
  readonly raw: string;
}

function envString(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/**
 * The signal-specific endpoint is used as is; the generic one gets `v1/logs` appended; with
 * neither, the exporter's default `http://localhost:4318/v1/logs`.
 */
export function resolveOtlpLogsEndpoint(env: NodeJS.ProcessEnv): OtlpLogsEndpoint {
  const specific = envString(env, 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT');
  if (specific !== undefined) return { url: parseUrl(specific), from: 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', raw: specific };
  const generic = envString(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (generic !== undefined) {
    const base = parseUrl(generic);
    const url = base && parseUrl(`${generic.endsWith('/') ? generic : `${generic}/`}v1/logs`);
    return { url, from: 'OTEL_EXPORTER_OTLP_ENDPOINT', raw: generic };
  }
  return { url: new URL('http://localhost:4318/v1/logs'), from: 'default', raw: 'http://localhost:4318/v1/logs' };
}

/** Whether a URL hostname is this machine (plain http to it never crosses a network). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || /^::ffff:127\./i.test(h) || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(h);
  return false;
}

function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** What a probe of the endpoint saw. */
export interface ProbeResult {
  readonly ok: boolean;
  /** Set when !ok: a short, secret-free reason (`ECONNREFUSED`, `timeout`, a TLS error code …). */
  readonly reason?: string;
  /** The stage that failed. */
  readonly stage?: 'tcp' | 'tls' | 'http';
  readonly status?: number;
  /** The response's Date header, with the local clock read just before sending and just after the headers. */
  readonly date?: { header: string; sentAt: number; receivedAt: number };
}

/** A TCP connect to host:port that gives up after `timeoutMs`. */
export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => finish({ ok: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    function finish(r: { ok: true } | { ok: false; reason: string }): void {
      clearTimeout(timer);
      socket.destroy();
      done(r);
    }
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, reason: err.code ?? err.message }));
  });
}

/** TLS material the exporter itself would use (`OTEL_EXPORTER_OTLP_[LOGS_]CERTIFICATE`, client cert and key). */
function tlsOptions(env: NodeJS.ProcessEnv, cwd: string): { ca?: Buffer; cert?: Buffer; key?: Buffer; unreadable?: string } {
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer; unreadable?: string } = {};
  const pairs = [['ca', 'CERTIFICATE'], ['cert', 'CLIENT_CERTIFICATE'], ['key', 'CLIENT_KEY']] as const;
  for (const [field, suffix] of pairs) {
    const name = envString(env, `OTEL_EXPORTER_OTLP_LOGS_${suffix}`) ? `OTEL_EXPORTER_OTLP_LOGS_${suffix}` : `OTEL_EXPORTER_OTLP_${suffix}`;
    const path = envString(env, name);
    if (path === undefined) continue;
    try {
      out[field] = readFileSync(resolve(cwd, path));
    } catch (err) {
      out.unreadable = `${name} '${path}' (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    }
  }
  return out;
}

const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME|ALTNAME/;

/**
 * Connects (TCP), then sends one GET to the logs URL, over TLS with the exporter's CA when https,
 * and reads the status and Date header. No telemetry is sent: an OTLP receiver answers a GET with
 * 405, which is proof enough that it is there.
 */
export async function probeOtlp(url: URL, env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number): Promise<ProbeResult> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const tcp = await tcpConnect(host, portOf(url), timeoutMs);
  if (!tcp.ok) return { ok: false, stage: 'tcp', reason: tcp.reason };
  const tls = url.protocol === 'https:' ? tlsOptions(env, cwd) : {};
  if (tls.unreadable) return { ok: false, stage: 'tls', reason: `cannot read ${tls.unreadable}` };
  return new Promise((done) => {
    const sentAt = Date.now();
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { unreadable: _unused, ...tlsFields } = tls;
    const req = send(url, { method: 'GET', agent: false, headers: { 'user-agent': 'nis2-otel-check' }, timeout: timeoutMs, ...tlsFields });
    let settled = false;
    const finish = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      done(r);
    };
    req.once('response', (res: IncomingMessage) => {
      const receivedAt = Date.now();
      res.resume();
      const header = res.headers.date;
      finish({ ok: true, status: res.statusCode ?? 0, ...(header && { date: { header, sentAt, receivedAt } }) });
    });
    req.once('timeout', () => finish({ ok: false, stage: 'http', reason: `connected, but no HTTP answer within ${timeoutMs} ms` }));
    req.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      finish(TLS_ERROR.test(code) ? { ok: false, stage: 'tls', reason: `${code}: ${err.message}`.slice(0, 200) } : { ok: false, stage: 'http', reason: code });
    });
    req.end();
  });
}

/** Largest tolerated difference between this clock and the collector's. */
export const MAX_SKEW_MS = 2000;

/**
 * Clock skew against an HTTP Date header. The header has one-second resolution and the request
 * takes time, so the server's clock lies in [date, date + 1 s) at some instant between sending and
 * receiving: skew is reported only when no instant in that window is within the tolerance.
 */
export function assessSkew(header: string, sentAt: number, receivedAt: number): { status: 'pass' | 'warn' | 'info'; skewMs: number | null } {
  const date = Date.parse(header);
  if (!Number.isFinite(date)) return { status: 'info', skewMs: null };
  // local − server ranges over [sentAt − (date + 1000), receivedAt − date].
  const low = sentAt - (date + 1000);
  const high = receivedAt - date;
  const nearest = low > 0 ? low : high < 0 ? high : 0;
  return { status: Math.abs(nearest) > MAX_SKEW_MS ? 'warn' : 'pass', skewMs: Math.round((low + high) / 2) };
}

/** The earliest wall-clock time this package can plausibly run at: a clock before it is wrong. */
export const EARLIEST_PLAUSIBLE_TIME = Date.UTC(2025, 0, 1);

/**
 * OTLP protocol, TLS, reachability, and the clock against the collector's Date header. When OTLP
 * export is off, these say so (`info`) and the events file check covers the sink.
 */
export async function checkOtlp(ctx: CheckContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const clockFloor = ctx.now() < EARLIEST_PLAUSIBLE_TIME
    ? result('clock.skew', 'b', 'fail', `the system clock says ${new Date(ctx.now()).toISOString()}, before this package existed: every event timestamp is wrong`,
      { fix: 'enable time synchronisation (NTP, chrony or systemd-timesyncd)' })
    : undefined;
  if (!ctx.config.export.otlp) {
    const why = ctx.config.values.get('export.otlp') === 'off' ? 'export.otlp is off' : 'no OTLP endpoint is set';
    out.push(result('export.otlp.protocol', 'b', 'info', `OTLP export is off (${why}): signed events go to the events file`));
    out.push(result('export.otlp.tls', 'h', 'info', 'OTLP export is off: nothing leaves the host'));
    out.push(result('export.otlp.reachable', 'b', 'info', 'OTLP export is off: no endpoint to reach'));
    out.push(clockFloor ?? result('clock.skew', 'b', 'info', 'no OTLP endpoint to compare the clock with'));
    return out;
  }
  const protocol = (envString(ctx.env, 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL') ?? envString(ctx.env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf');
  out.push(protocol === 'http/protobuf' || protocol === 'http/json'
    ? result('export.otlp.protocol', 'b', 'pass', `OTLP over ${protocol}`)
    : result('export.otlp.protocol', 'b', 'warn', `OTLP protocol '${protocol}' is not supported for security events: they are sent as http/protobuf to the same endpoint (a gRPC-only port rejects them)`,
      { fix: "set OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/protobuf and point the endpoint at the collector's OTLP/HTTP port (4318)" }));

  const endpoint = resolveOtlpLogsEndpoint(ctx.env);
  const url = endpoint.url;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    const what = url === undefined ? 'is not a URL' : `uses '${url.protocol}', not http: or https:`;
    out.push(result('export.otlp.tls', 'h', 'fail', `${endpoint.from} '${endpoint.raw}' ${what}: security events cannot be exported`,
      { fix: `set ${endpoint.from} to the collector's OTLP/HTTP URL, e.g. https://collector.example:4318` }));
    out.push(result('export.otlp.reachable', 'b', 'fail', `${endpoint.from} is unusable: no endpoint to reach`, { fix: `fix ${endpoint.from}` }));
    out.push(clockFloor ?? result('clock.skew', 'b', 'info', 'no usable OTLP endpoint to compare the clock with'));
    return out;
  }
  const target = `${url.protocol}//${url.host}${url.pathname}`;
  const data = { endpoint: target, from: endpoint.from };
  if (url.protocol === 'https:') {
    out.push(result('export.otlp.tls', 'h', 'pass', `events go to ${target} over TLS`, { data }));
  } else if (isLoopbackHost(url.hostname)) {
    out.push(result('export.otlp.tls', 'h', 'pass', `plain http to ${target} stays on this host (loopback)`, { data }));
  } else {
    const headers = envString(ctx.env, 'OTEL_EXPORTER_OTLP_HEADERS') || envString(ctx.env, 'OTEL_EXPORTER_OTLP_LOGS_HEADERS');
    out.push(result('export.otlp.tls', 'h', 'warn',
      `events go to ${target} without TLS: readable and alterable on the way${headers ? ', together with the OTLP headers (often credentials)' : ''}`,
      { fix: 'use an https:// endpoint (OTEL_EXPORTER_OTLP_CERTIFICATE for a private CA), or a collector on localhost', data }));
  }

  if (ctx.offline) {
    out.push(result('export.otlp.reachable', 'b', 'info', `not probed (--offline): ${target}`, { data }));
    out.push(clockFloor ?? result('clock.skew', 'b', 'info', 'not compared with the collector (--offline)'));
    return out;
  }
  const probe = await probeOtlp(url, ctx.env, ctx.cwd, ctx.timeoutMs);
  if (!probe.ok) {
    const fix = probe.stage === 'tls'
      ? 'give the collector a certificate the exporter trusts, or set OTEL_EXPORTER_OTLP_CERTIFICATE to its CA'
      : 'start the collector, or fix the endpoint; meanwhile events are lost once the exporter\'s queue is full';
    out.push(result('export.otlp.reachable', 'b', 'fail', `${target}: ${probe.stage === 'tcp' ? 'cannot connect' : probe.stage === 'tls' ? 'TLS handshake failed' : 'no HTTP answer'} (${probe.reason})`,
      { fix, data: { ...data, stage: probe.stage ?? null, reason: probe.reason ?? null } }));
    out.push(clockFloor ?? result('clock.skew', 'b', 'info', 'the collector is unreachable: clock not compared'));
    return out;
  }
  out.push(result('export.otlp.reachable', 'b', 'pass', `${target} answers (HTTP ${probe.status})`, { data: { ...data, status: probe.status ?? null } }));
  if (clockFloor) {
    out.push(clockFloor);
  } else if (!probe.date) {
    out.push(result('clock.skew', 'b', 'info', 'the collector sent no Date header: clock not compared'));
  } else {
    const skew = assessSkew(probe.date.header, probe.date.sentAt, probe.date.receivedAt);
    if (skew.status === 'info') out.push(result('clock.skew', 'b', 'info', 'the collector\'s Date header does not parse: clock not compared'));
    else if (skew.status === 'warn') {
      out.push(result('clock.skew', 'b', 'warn', `this clock is about ${(skew.skewMs! / 1000).toFixed(1)} s ${skew.skewMs! > 0 ? 'ahead of' : 'behind'} the collector's: event timestamps disagree with the SIEM's`,
        { fix: 'enable time synchronisation (NTP, chrony or systemd-timesyncd) on both hosts', data: { skewMs: skew.skewMs } }));
    } else {
      out.push(result('clock.skew', 'b', 'pass', `within ${MAX_SKEW_MS / 1000} s of the collector's clock`, { data: { skewMs: skew.skewMs } }));
    }
  }
  return out;
}
