// QRadar end to end: real collector (base.yaml + qradar.yaml, TLS on as shipped) → TCP+TLS syslog
// listener parsing LF-framed RFC 5424 with a LEEF 2.0 payload. Asserts the LEEF header and
// attributes per event type, the severity mappings, and that the envelope extracted the way the
// README documents is byte-identical to what was sent and verifies.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, stopAllCollectors, removeDir, type Collector } from './helpers/collector.ts';
import { freePort, waitFor, SUITE_TIMEOUT_MS } from './helpers/net.ts';
import { sendEnvelopes } from './helpers/otlp-sender.ts';
import { parseEnvelope, verifyBodies } from './helpers/envelopes.ts';
import { assertCliAccepts } from './helpers/verify-cli.ts';
import { allFixtures, key, pick } from './helpers/fixtures.ts';
import { makeLoopbackCert, type TestCert } from './helpers/tls.ts';
import { parseLeef, SyslogMock, type Leef, type Syslog5424 } from './mocks/syslog.ts';

describe('QRadar syslog + LEEF 2.0 pipeline (qradar.yaml)', { timeout: SUITE_TIMEOUT_MS }, () => {
  const fx = allFixtures();
  let mock: SyslogMock;
  let cert: TestCert;
  let collector: Collector | undefined;
  const got = new Map<string, { msg: Syslog5424; leef: Leef }>();

  before(async () => {
    cert = makeLoopbackCert();
    mock = new SyslogMock({ port: await freePort(), framing: 'lf', tls: { key: cert.key, cert: cert.cert } });
    await mock.start();
    collector = await startCollector({
      configs: ['qradar.yaml'],
      env: {
        QRADAR_SYSLOG_HOST: '127.0.0.1',
        QRADAR_SYSLOG_PORT: String(mock.opts.port),
        QRADAR_SYSLOG_CA_FILE: cert.certFile,
      },
    });
    await sendEnvelopes(fx.bodies, { endpoint: collector.otlpHttp, serviceName: 'shop-api', hostName: 'app-host-1' });
    await waitFor('all syslog messages', () => (mock.messages.length + mock.violations.length >= fx.bodies.length ? true : undefined), 60_000);
    for (const msg of mock.messages) {
      const leef = parseLeef(msg.msg);
      assert.ok(leef.envelope !== undefined, 'no nis2Envelope attribute');
      const env = parseEnvelope(leef.envelope);
      got.set(key(env.stream, env.seq), { msg, leef });
    }
  });

  after(async () => {
    await stopAllCollectors();
    await mock?.stop();
    if (collector !== undefined) removeDir(collector.storageDir);
    if (cert !== undefined) removeDir(cert.dir);
  });

  it('frames valid RFC 5424 messages over TLS, nothing malformed', () => {
    assert.deepEqual(mock.violations, []);
    assert.equal(mock.messages.length, fx.bodies.length);
    for (const m of mock.messages) {
      assert.equal(m.appName, 'nis2-otel');
      assert.equal(m.hostname, 'app-host-1');
      assert.equal(m.procId, '-');
      assert.equal(m.structuredData, '-');
      assert.equal(m.facility, 13);
    }
  });

  it('carries every envelope verbatim as the last LEEF attribute, and they verify', () => {
    for (const [k, { body }] of fx.byKey) {
      const g = got.get(k);
      assert.ok(g, `missing ${k}`);
      assert.ok(Buffer.from(g.leef.envelope ?? '', 'utf8').equals(Buffer.from(body, 'utf8')), `${k} changed in transit`);
      // the generic TAB split agrees with the documented extraction rule
      assert.equal(g.leef.attrs.get('nis2Envelope'), body);
      assert.equal([...g.leef.attrs.keys()].pop(), 'nis2Envelope');
    }
    const res = verifyBodies([...got.values()].map((g) => g.leef.envelope ?? ''));
    assert.deepEqual(res.problems, []);
    assert.equal(res.streams, 3);
  });

  it('writes a LEEF 2.0 header with a TAB delimiter and the event name as EventID', () => {
    for (const [k, { env }] of fx.byKey) {
      const { msg, leef } = got.get(k)!;
      assert.equal(leef.vendor, 'NIS2');
      assert.equal(leef.product, 'nis2-otel');
      assert.equal(leef.productVersion, '1.0');
      assert.equal(leef.eventId, env.event);
      assert.equal(leef.delimiter, '\t');
      assert.ok(msg.msg.startsWith(`LEEF:2.0|NIS2|nis2-otel|1.0|${env.event}|x09|devTime=`), msg.msg.slice(0, 80));
      assert.equal(msg.msgId, env.event);
      assert.equal(leef.attrs.get('devTime'), env.ts);
      assert.equal(leef.attrs.get('devTimeFormat'), "yyyy-MM-dd'T'HH:mm:ss.SSSX");
      assert.equal(leef.attrs.get('nis2Stream'), env.stream);
      assert.equal(leef.attrs.get('nis2Seq'), String(env.seq));
      assert.equal(leef.attrs.get('nis2Kid'), env.kid);
      assert.equal(leef.attrs.get('identHostName'), 'shop-api');
      assert.equal(Date.parse(msg.timestamp), Date.parse(env.ts), `${k} syslog timestamp`);
    }
  });

  it('maps severities to LEEF sev and syslog severity', () => {
    const expect: Record<string, [string, number]> = { INFO: ['3', 6], WARN: ['6', 4], ERROR: ['8', 3], FATAL: ['10', 2] };
    for (const [k, { env }] of fx.byKey) {
      const { msg, leef } = got.get(k)!;
      const [sev, syslogSev] = expect[env.severity]!;
      assert.equal(leef.attrs.get('sev'), sev, k);
      assert.equal(msg.severity, syslogSev, k);
    }
  });

  it('maps a blocked rate-limit event', () => {
    const { env } = pick(fx, 'nis2.rate_limit.exceeded');
    const a = got.get(key(env.stream, env.seq))!.leef.attrs;
    assert.equal(a.get('cat'), 'rate_limit');
    assert.equal(a.get('src'), '203.0.113.0');
    assert.equal(a.get('action'), 'block');
    assert.equal(a.get('policy'), 'rate_limit');
    assert.equal(a.get('method'), 'GET');
    assert.equal(a.get('url'), '/login');
    assert.equal(a.get('userAgent'), env.attrs['user_agent.original']);
    assert.equal(a.has('usrName'), false);
  });

  it('maps a failed login, with TAB in a value replaced so the LEEF stays parseable', () => {
    const { env } = pick(fx, 'nis2.auth.login_failed');
    const a = got.get(key(env.stream, env.seq))!.leef.attrs;
    assert.equal(a.get('cat'), 'auth');
    assert.equal(a.get('usrName'), 'alice@example.com');
    assert.equal(a.get('status'), '401');
    assert.equal(a.get('sessionId'), 'hS1bH-5mKp0');
    assert.equal(a.get('userAgent'), 'curl/8.10 tab here pipe|caret^eq=back\\slash');
  });

  it('maps rule categories, IPv6 sources, monitor mode, access and integrity records', () => {
    const tor = pick(fx, 'nis2.tor.blocked').env;
    assert.equal(got.get(key(tor.stream, tor.seq))!.leef.attrs.get('cat'), 'threat_intel');
    const hijack = pick(fx, 'nis2.session.hijack_suspected').env;
    const h = got.get(key(hijack.stream, hijack.seq))!.leef.attrs;
    assert.equal(h.get('src'), '2001:db8:1234::');
    assert.equal(h.get('action'), 'monitor');
    const access = pick(fx, 'nis2.http.access', ['http.response.status_code', 404]).env;
    const ac = got.get(key(access.stream, access.seq))!.leef.attrs;
    assert.equal(ac.get('cat'), 'http');
    assert.equal(ac.get('url'), '/c\u2028x');
    assert.equal(ac.get('status'), '404');
    const cp = pick(fx, 'nis2.integrity.checkpoint').env;
    const c = got.get(key(cp.stream, cp.seq))!.leef.attrs;
    assert.equal(c.get('cat'), 'integrity');
    assert.equal(c.has('src'), false);
    const degraded = pick(fx, 'nis2.defense.degraded').env;
    assert.equal(got.get(key(degraded.stream, degraded.seq))!.leef.attrs.get('reason'), 'redis unavailable, in-memory limiter active');
  });

  it('the package\'s nis2-otel verify accepts the envelopes exported from QRadar (nis2Envelope)', (t) => {
    assertCliAccepts(t, [...got.values()].map((g) => g.leef.envelope ?? ''), 3);
  });
});
