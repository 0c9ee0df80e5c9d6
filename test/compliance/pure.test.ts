// The decision logic behind the checks whose failing side cannot be produced through the bin on a
// healthy machine (an old or end-of-life Node.js, a clock that steps or stands still, a schema
// without sealed PII), plus the parsers every check relies on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { parseCidr } from '../../dist/esm/net/ip.js';
import { loadConfig } from '../../dist/esm/config/load.js';
import { cacheFetchedAt } from '../../dist/esm/compliance/defenses.js';
import { assessSkew, checkOtlp, isLoopbackHost, resolveOtlpLogsEndpoint, MAX_SKEW_MS } from '../../dist/esm/compliance/otlp.js';
import { assessPiiSealing } from '../../dist/esm/compliance/privacy.js';
import { overlyBroadProxies } from '../../dist/esm/compliance/proxy.js';
import { assessClocks, assessNodeVersion, checkClocks, MAX_STEP_MS } from '../../dist/esm/compliance/runtime.js';
import { assessKeyStrength } from '../../dist/esm/compliance/signing.js';

const day = 86_400_000;
const at = (iso: string): number => Date.parse(iso);

describe('assessNodeVersion', () => {
  test('passes an LTS line well before its end of life', () => {
    const r = assessNodeVersion('24.11.0', 'Krypton', at('2026-01-01T00:00:00Z'));
    assert.equal(r.status, 'pass');
    assert.match(r.message, /2028-04-30/);
  });
  test('fails below the engines floor (22.15)', () => {
    assert.equal(assessNodeVersion('22.14.0', 'Jod', at('2026-01-01T00:00:00Z')).status, 'fail');
    assert.equal(assessNodeVersion('20.19.0', 'Iron', at('2025-01-01T00:00:00Z')).status, 'fail');
    assert.equal(assessNodeVersion('22.15.0', 'Jod', at('2026-01-01T00:00:00Z')).status, 'pass');
  });
  test('fails a line past its end of life', () => {
    const r = assessNodeVersion('22.20.0', 'Jod', at('2027-05-01T00:00:00Z'));
    assert.equal(r.status, 'fail');
    assert.match(r.message, /end of life on 2027-04-30/);
  });
  test('warns on a Current (odd, non-LTS) line, and fails it once it is past end of life', () => {
    assert.equal(assessNodeVersion('25.1.0', undefined, at('2026-01-01T00:00:00Z')).status, 'warn');
    assert.equal(assessNodeVersion('23.11.0', undefined, at('2025-07-01T00:00:00Z')).status, 'fail');
  });
  test('warns within 90 days of end of life', () => {
    assert.equal(assessNodeVersion('22.20.0', 'Jod', at('2027-04-30T00:00:00Z') - 30 * day).status, 'warn');
  });
  test('edge case: a line newer than the table passes on its LTS flag alone', () => {
    assert.equal(assessNodeVersion('28.0.0', 'Future', at('2030-01-01T00:00:00Z')).status, 'pass');
  });
});

describe('assessClocks', () => {
  test('passes when wall and monotonic clocks advance together', () => {
    assert.equal(assessClocks({ wall0: 1000, mono0: 50, wall1: 1101, mono1: 150.5 }).status, 'pass');
  });
  test('fails when the monotonic clock does not advance', () => {
    assert.equal(assessClocks({ wall0: 1000, mono0: 50, wall1: 1100, mono1: 50 }).status, 'fail');
    assert.equal(assessClocks({ wall0: 1000, mono0: 50, wall1: 1100, mono1: 40 }).status, 'fail');
    assert.equal(assessClocks({ wall0: 1000, mono0: 50, wall1: 1100, mono1: Number.NaN }).status, 'fail');
  });
  test('warns when the wall clock is stepped during the sample, either way', () => {
    const fwd = assessClocks({ wall0: 1000, mono0: 0, wall1: 1100 + MAX_STEP_MS + 1, mono1: 100 });
    assert.equal(fwd.status, 'warn');
    assert.match(fwd.message, /forward/);
    const back = assessClocks({ wall0: 10_000, mono0: 0, wall1: 8_000, mono1: 100 });
    assert.equal(back.status, 'warn');
    assert.equal(back.stepMs, -2100);
  });
});

describe('assessSkew', () => {
  const now = at('2026-03-01T12:00:00.400Z');
  test('passes a Date header from the same second', () => {
    const r = assessSkew(new Date(now).toUTCString(), now - 5, now + 5);
    assert.equal(r.status, 'pass');
  });
  test('warns when the collector is a minute behind or ahead', () => {
    assert.equal(assessSkew(new Date(now - 60_000).toUTCString(), now, now + 3).status, 'warn');
    const ahead = assessSkew(new Date(now + 60_000).toUTCString(), now, now + 3);
    assert.equal(ahead.status, 'warn');
    assert.ok(ahead.skewMs! < -58_000, String(ahead.skewMs));
  });
  test('edge case: the one-second resolution and the round trip are not counted as skew', () => {
    // The header says 12:00:00; the server may be at 12:00:00.999 when we are 2 s later.
    const header = new Date(at('2026-03-01T12:00:00Z')).toUTCString();
    assert.equal(assessSkew(header, at('2026-03-01T12:00:02.900Z'), at('2026-03-01T12:00:02.950Z')).status, 'pass');
    assert.equal(assessSkew(header, at('2026-03-01T12:00:03.100Z'), at('2026-03-01T12:00:03.150Z')).status, 'warn');
    assert.equal(MAX_SKEW_MS, 2000);
  });
  test('reports info for a header that does not parse', () => {
    assert.equal(assessSkew('yesterday-ish', now, now).status, 'info');
  });
});

describe('assessKeyStrength', () => {
  test('passes random bytes', () => {
    for (let i = 0; i < 50; i++) assert.equal(assessKeyStrength(randomBytes(32)).status, 'pass');
  });
  test('fails a published test key (RFC 8032 vector 1)', () => {
    const r = assessKeyStrength(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
    assert.equal(r.status, 'fail');
    assert.match(r.reason, /RFC 8032/);
  });
  test('fails repetitive keys and warns on text-only keys', () => {
    assert.equal(assessKeyStrength(Buffer.alloc(32)).status, 'fail');
    assert.equal(assessKeyStrength(Buffer.from('abababababababababababababababab')).status, 'fail');
    assert.equal(assessKeyStrength(Buffer.from('correct horse battery staple 123')).status, 'warn');
  });
});

describe('assessPiiSealing', () => {
  const x25519 = randomBytes(32);
  test('passes a 32-byte public key (string or bytes), warns when unset', () => {
    assert.equal(assessPiiSealing(true, x25519.toString('base64url'), true).status, 'pass');
    assert.equal(assessPiiSealing(true, x25519, true).status, 'pass');
    assert.equal(assessPiiSealing(true, { publicKey: x25519 }, true).status, 'pass');
    assert.equal(assessPiiSealing(true, undefined, false).status, 'warn');
  });
  test('fails a wrong-length or small-order key', () => {
    assert.equal(assessPiiSealing(true, randomBytes(16).toString('base64'), true).status, 'fail');
    assert.equal(assessPiiSealing(true, Buffer.alloc(32).toString('base64'), true).status, 'fail');
    const p = Buffer.from('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex');
    assert.equal(assessPiiSealing(true, p, true).status, 'fail');
  });
  test('privacy.seal: off warns even with a key; on without a key fails; auto without a key warns that PII is dropped', () => {
    const off = assessPiiSealing(true, x25519, true, 'off');
    assert.equal(off.status, 'warn');
    assert.match(off.message, /ignored/);
    assert.equal(assessPiiSealing(true, undefined, false, 'on').status, 'fail');
    const auto = assessPiiSealing(true, undefined, false, 'auto');
    assert.equal(auto.status, 'warn');
    assert.match(auto.message, /dropped/);
    assert.equal(assessPiiSealing(true, x25519, true, 'auto').status, 'pass');
  });
  test('edge case: a build without privacy.sealKey warns, and says when the variable is set but unread', () => {
    const r = assessPiiSealing(false, undefined, true);
    assert.equal(r.status, 'warn');
    assert.match(r.message, /does not read it/);
    assert.equal(assessPiiSealing(false, undefined, false).data?.['supported'], false);
  });
});

describe('parsers the checks rely on', () => {
  test('overlyBroadProxies flags /0 and very short prefixes only', () => {
    const cidrs = ['0.0.0.0/0', '::/0', '10.0.0.0/8', '10.0.0.0/7', '2001:db8::/32', 'fc00::/7', '127.0.0.1'].map((t) => parseCidr(t)!);
    assert.deepEqual(overlyBroadProxies(cidrs).map((c) => c.text), ['0.0.0.0/0', '::/0', '10.0.0.0/7', 'fc00::/7']);
  });
  test('resolveOtlpLogsEndpoint: the logs endpoint as is, the generic one plus v1/logs, else the default', () => {
    assert.equal(resolveOtlpLogsEndpoint({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://c:4318/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }).url?.href, 'https://c:4318/custom');
    assert.equal(resolveOtlpLogsEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).url?.href, 'http://c:4318/v1/logs');
    assert.equal(resolveOtlpLogsEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/base/' }).url?.href, 'http://c:4318/base/v1/logs');
    assert.equal(resolveOtlpLogsEndpoint({}).url?.href, 'http://localhost:4318/v1/logs');
    assert.equal(resolveOtlpLogsEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }).url, undefined);
    assert.equal(resolveOtlpLogsEndpoint({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: '  ' }).from, 'default');
  });
  test('isLoopbackHost', () => {
    for (const h of ['localhost', 'app.localhost', '127.0.0.1', '127.1.2.3', '[::1]']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['192.0.2.1', 'collector.example', '[2001:db8::1]', 'localhost.example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  });
  test('cacheFetchedAt reads the nis2-otel cache header, and nothing else', () => {
    const head = '# nis2-otel ip list v1\n# source: https://x\n# fetched-at: 2026-01-02T03:04:05.000Z\n192.0.2.1\n';
    assert.equal(cacheFetchedAt(head), Date.parse('2026-01-02T03:04:05.000Z'));
    assert.equal(cacheFetchedAt('# fetched-at: 2026-01-02T03:04:05.000Z\n192.0.2.1\n'), undefined);
    assert.equal(cacheFetchedAt('# nis2-otel ip list v1\n# fetched-at: garbage\n'), undefined);
  });
});

describe('clock checks with an injected clock', () => {
  const cwd = tmpdir();
  const context = (now: number) => ({
    config: loadConfig({ env: { NIS2_SIGNING_KEY: randomBytes(32).toString('base64') }, cwd }),
    env: {}, cwd, offline: true, timeoutMs: 500, behindProxy: false, now: () => now,
  });
  test('clock.skew fails a wall clock set before 2025, even with no collector to compare with', async () => {
    const bad = (await checkOtlp(context(Date.UTC(2020, 0, 1)))).find((c) => c.id === 'clock.skew');
    assert.equal(bad?.status, 'fail');
    assert.match(bad!.message, /2020-01-01/);
    const good = (await checkOtlp(context(Date.UTC(2026, 0, 1)))).find((c) => c.id === 'clock.skew');
    assert.equal(good?.status, 'info');
  });
  test('clock.monotonic carries the verdict and a fix for given samples', async () => {
    const stepped = await checkClocks({ wall0: 0, mono0: 0, wall1: 5000, mono1: 100 });
    assert.equal(stepped.status, 'warn');
    assert.ok(stepped.fix);
    assert.equal(stepped.measure, 'b');
    assert.equal((await checkClocks({ wall0: 0, mono0: 0, wall1: 100, mono1: 100 })).status, 'pass');
  });
});

describe('runAudit', () => {
  test('edge case: a check that throws becomes one failed line; the other checks still report', async () => {
    const { runAudit } = await import('../../dist/esm/compliance/audit.js');
    const config = loadConfig({ env: { NIS2_SIGNING_KEY: randomBytes(32).toString('base64') }, cwd: tmpdir() });
    // A config missing a field every real config has: the proxy check cannot run.
    const broken = { ...config, trustedProxies: undefined } as unknown as typeof config;
    const report = await runAudit({ config: broken, env: {}, offline: true });
    const failed = report.checks.find((c) => c.id === 'proxy.error');
    assert.equal(failed?.status, 'fail');
    assert.equal(failed?.measure, 'i');
    assert.equal(report.ok, false);
    assert.ok(report.checks.some((c) => c.id === 'signing.key.present' && c.status === 'pass'));
  });
});
