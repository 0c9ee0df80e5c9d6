// CEF end to end (ArcSight / Sentinel CEF via AMA): real collector (base.yaml + cef.yaml, plain
// TCP with RFC 6587 octet counting, as a receiver without TLS would be configured) → syslog
// listener parsing RFC 5424 + CEF strictly (escapes included). Asserts header, extension keys per
// event type, escaping, and that the envelope recovered from cs6 is byte-identical and verifies.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, stopAllCollectors, removeDir, type Collector } from './helpers/collector.ts';
import { freePort, waitFor, SUITE_TIMEOUT_MS } from './helpers/net.ts';
import { sendEnvelopes } from './helpers/otlp-sender.ts';
import { parseEnvelope, verifyBodies } from './helpers/envelopes.ts';
import { assertCliAccepts } from './helpers/verify-cli.ts';
import { allFixtures, key, pick } from './helpers/fixtures.ts';
import { parseCef, unescapeCefValue, SyslogMock, type Cef, type Syslog5424 } from './mocks/syslog.ts';

describe('CEF syslog pipeline (cef.yaml)', { timeout: SUITE_TIMEOUT_MS }, () => {
  const fx = allFixtures();
  let mock: SyslogMock;
  let collector: Collector | undefined;
  const got = new Map<string, { msg: Syslog5424; cef: Cef }>();

  before(async () => {
    mock = new SyslogMock({ port: await freePort(), framing: 'octet-counting' });
    await mock.start();
    collector = await startCollector({
      configs: ['cef.yaml'],
      env: {
        CEF_SYSLOG_HOST: '127.0.0.1',
        CEF_SYSLOG_PORT: String(mock.opts.port),
        CEF_SYSLOG_TLS_INSECURE: 'true',
        CEF_SYSLOG_OCTET_COUNTING: 'true',
      },
    });
    await sendEnvelopes(fx.bodies, { endpoint: collector.otlpHttp, serviceName: 'shop-api', hostName: 'app-host-1' });
    await waitFor('all syslog messages', () => (mock.messages.length + mock.violations.length >= fx.bodies.length ? true : undefined), 60_000);
    for (const msg of mock.messages) {
      const cef = parseCef(msg.msg);
      const env = parseEnvelope(cef.ext.get('cs6') ?? '');
      got.set(key(env.stream, env.seq), { msg, cef });
    }
  });

  after(async () => {
    await stopAllCollectors();
    await mock?.stop();
    if (collector !== undefined) removeDir(collector.storageDir);
  });

  it('frames valid RFC 5424 messages with octet counting, nothing malformed', () => {
    assert.deepEqual(mock.violations, []);
    assert.equal(mock.messages.length, fx.bodies.length);
    for (const m of mock.messages) {
      assert.equal(m.appName, 'nis2-otel');
      assert.equal(m.hostname, 'app-host-1');
      assert.equal(m.facility, 13);
    }
  });

  it('recovers every envelope byte for byte from cs6 (parser and documented manual rule), and they verify', () => {
    for (const [k, { body }] of fx.byKey) {
      const g = got.get(k);
      assert.ok(g, `missing ${k}`);
      assert.ok(Buffer.from(g.cef.ext.get('cs6') ?? '', 'utf8').equals(Buffer.from(body, 'utf8')), `${k} changed in transit`);
      assert.equal(g.cef.ext.get('cs6Label'), 'nis2Envelope');
      const raw = g.msg.msg;
      const manual = unescapeCefValue(raw.slice(raw.indexOf(' cs6=') + ' cs6='.length));
      assert.equal(manual, body);
      assert.equal([...g.cef.ext.keys()].pop(), 'cs6');
    }
    const res = verifyBodies([...got.values()].map((g) => g.cef.ext.get('cs6') ?? ''));
    assert.deepEqual(res.problems, []);
    assert.equal(res.streams, 3);
  });

  it('writes the CEF header and the common extension keys', () => {
    const sev: Record<string, string> = { INFO: '3', WARN: '6', ERROR: '8', FATAL: '10' };
    const syslogSev: Record<string, number> = { INFO: 6, WARN: 4, ERROR: 3, FATAL: 2 };
    for (const [k, { env }] of fx.byKey) {
      const { msg, cef } = got.get(k)!;
      assert.equal(cef.version, 0);
      assert.equal(cef.vendor, 'NIS2');
      assert.equal(cef.product, 'nis2-otel');
      assert.equal(cef.productVersion, '1.0');
      assert.equal(cef.signatureId, env.event);
      assert.equal(cef.name, env.event);
      assert.equal(cef.severity, sev[env.severity], k);
      assert.equal(msg.severity, syslogSev[env.severity], k);
      assert.equal(cef.ext.get('rt'), String(Date.parse(env.ts)));
      assert.equal(cef.ext.get('dvchost'), 'app-host-1');
      assert.equal(cef.ext.get('sourceServiceName'), 'shop-api');
      assert.equal(cef.ext.get('cs3Label'), 'nis2Stream');
      assert.equal(cef.ext.get('cs3'), env.stream);
      assert.equal(cef.ext.get('cn1Label'), 'nis2Seq');
      assert.equal(cef.ext.get('cn1'), String(env.seq));
      assert.equal(cef.ext.get('cs4'), env.kid);
    }
  });

  it('maps a blocked rate-limit event', () => {
    const { env } = pick(fx, 'nis2.rate_limit.exceeded');
    const e = got.get(key(env.stream, env.seq))!.cef.ext;
    assert.equal(e.get('cat'), 'rate_limit');
    assert.equal(e.get('src'), '203.0.113.0');
    assert.equal(e.get('act'), 'block');
    assert.equal(e.get('cs1Label'), 'rule');
    assert.equal(e.get('cs1'), 'rate_limit');
    assert.equal(e.get('requestMethod'), 'GET');
    assert.equal(e.get('request'), '/login');
    assert.equal(e.get('requestClientApplication'), env.attrs['user_agent.original']);
  });

  it('escapes = \\ and keeps | and TAB inside extension values', () => {
    const { env } = pick(fx, 'nis2.auth.login_failed');
    const { msg, cef } = got.get(key(env.stream, env.seq))!;
    assert.equal(cef.ext.get('suser'), 'alice@example.com');
    assert.equal(cef.ext.get('cn2Label'), 'httpStatus');
    assert.equal(cef.ext.get('cn2'), '401');
    assert.equal(cef.ext.get('cs2'), 'hS1bH-5mKp0');
    assert.equal(cef.ext.get('requestClientApplication'), 'curl/8.10 tab\there pipe|caret^eq=back\\slash');
    assert.ok(msg.msg.includes('requestClientApplication=curl/8.10 tab\there pipe|caret^eq\\=back\\\\slash '), 'raw escaping');
  });

  it('maps rule categories, IPv6, monitor mode, access and integrity records', () => {
    const tor = pick(fx, 'nis2.tor.blocked').env;
    const t = got.get(key(tor.stream, tor.seq))!.cef.ext;
    assert.equal(t.get('cat'), 'threat_intel');
    assert.equal(t.get('request'), '/admin?x=1&y=2');
    const hijack = pick(fx, 'nis2.session.hijack_suspected').env;
    const h = got.get(key(hijack.stream, hijack.seq))!.cef.ext;
    assert.equal(h.get('src'), '2001:db8:1234::');
    assert.equal(h.get('act'), 'monitor');
    assert.equal(h.get('suser'), 'bob');
    const access = pick(fx, 'nis2.http.access', ['http.response.status_code', 404]).env;
    const a = got.get(key(access.stream, access.seq))!.cef.ext;
    assert.equal(a.get('request'), '/c\u2028x');
    assert.equal(a.get('cat'), 'http');
    const cp = pick(fx, 'nis2.integrity.checkpoint').env;
    const c = got.get(key(cp.stream, cp.seq))!.cef.ext;
    assert.equal(c.get('cat'), 'integrity');
    assert.equal(c.has('src'), false);
  });

  it('the package\'s nis2-otel verify accepts the envelopes exported from CEF (cs6)', (t) => {
    assertCliAccepts(t, [...got.values()].map((g) => g.cef.ext.get('cs6') ?? ''), 3);
  });
});
