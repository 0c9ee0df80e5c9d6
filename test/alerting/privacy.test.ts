// Raw IPs and PII never leave in a webhook: whatever a record carries (even a raw address that
// bypassed the emitter's anonymisation), every format's payload holds only anonymised networks,
// pseudonyms and the user agent's family.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { redactAttributes } from '../../dist/esm/alerting/index.js';
import { harness, type Harness } from './helpers.ts';
import { startReceiver, type Receiver } from './receiver.ts';

const open: Array<Harness | Receiver> = [];
after(async () => { for (const o of open.reverse()) await o.close(); });

const HOSTILE: Record<string, string | number | boolean | string[]> = {
  'client.address': '203.0.113.77',
  'network.peer.address': '2001:db8:1234:5678::1',
  'url.path': '/users/alice@example.com/ip/198.51.100.23/v6/2001:db8:aaaa:bbbb::9?token=secret-token',
  'user.id': 'alice-id',
  'user.email': 'alice@example.com',
  'user.name': 'nis2enc:1:kid:c2VhbGVkLWJveC1ieXRlcw',
  'user.name.hash': 'Pz3kTq9LmA0bXcV1nR7sYw',
  'session.id': 'hashed-session-id',
  'user_agent.original': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'enduser.id': 'bob',
  'http.request.header.authorization': 'Bearer abc.def.ghi',
  'nis2.reason': 'blocked 192.0.2.55 by ::ffff:198.51.100.99',
  'nis2.session.old_prefix': '198.51.100.0',
  'nis2.ip_list.entries': ['192.0.2.200', 'nis2enc:1:kid:zzz', 'fine'],
  'security_rule.name': 'session_guard',
  'http.request.method': 'GET',
};
const FORBIDDEN = [
  '203.0.113.77', '2001:db8:1234:5678', '198.51.100.23', '2001:db8:aaaa:bbbb', '192.0.2.55', '198.51.100.99', '51.100.99', '192.0.2.200',
  'alice', 'example.com', 'secret-token', 'Mozilla', 'Version/17.5', 'nis2enc', 'bob', 'Bearer',
];

describe('no raw address or PII in any webhook', () => {
  for (const type of ['slack', 'teams', 'discord', 'json'] as const) {
    test(`${type}: only anonymised networks, pseudonyms and the UA family leave`, async () => {
      const r = await startReceiver();
      open.push(r);
      const h = harness([{ type, url: r.url, ...(type === 'json' ? { secret: 'privacy-secret-0123456' } : {}) }]);
      open.push(h);
      h.emit('nis2.session.hijack_suspected', HOSTILE);
      h.emit('nis2.session.hijack_suspected', HOSTILE);
      await h.processor.forceFlush();
      assert.equal(r.deliveries.length, 2, 'the event and its summary');
      for (const d of r.deliveries) {
        for (const bad of FORBIDDEN) assert.ok(!d.raw.includes(bad), `${type} payload contains ${bad}`);
        assert.ok(d.raw.includes('203.0.113.0'), 'client network /24');
        assert.ok(d.raw.includes('2001:db8:1234::'), 'peer network /48');
        assert.ok(d.raw.includes('Safari/macOS'), 'UA family');
        assert.ok(d.raw.includes('Pz3kTq9LmA0bXcV1nR7sYw'), 'pseudonyms stay: they are what lets a responder correlate');
      }
    });
  }
});

describe('redactAttributes', () => {
  const privacy = { ipv4Prefix: 24, ipv6Prefix: 48 };

  test('keeps the allow-list, scrubs free text, drops everything else', () => {
    const out = redactAttributes(HOSTILE, privacy);
    assert.deepEqual(out, {
      'client.address': '203.0.113.0',
      'network.peer.address': '2001:db8:1234::',
      'url.path': '/users/[email]/ip/198.51.100.0/v6/2001:db8:aaaa::',
      'user.name.hash': 'Pz3kTq9LmA0bXcV1nR7sYw',
      'session.id': 'hashed-session-id',
      'user_agent.family': 'Safari/macOS',
      'nis2.reason': 'blocked 192.0.2.0 by 198.51.100.0',
      'nis2.session.old_prefix': '198.51.100.0',
      'nis2.ip_list.entries': ['192.0.2.0', 'fine'],
      'security_rule.name': 'session_guard',
      'http.request.method': 'GET',
    });
  });

  test('honours the configured prefixes and marks a non-address client as invalid', () => {
    assert.equal(redactAttributes({ 'client.address': '198.51.100.23' }, { ipv4Prefix: 16, ipv6Prefix: 32 })['client.address'], '198.51.0.0');
    assert.equal(redactAttributes({ 'client.address': 'not-an-ip<script>' }, privacy)['client.address'], 'invalid');
    assert.equal(redactAttributes({ 'client.address': 42 }, privacy)['client.address'], undefined);
  });

  test('edge case: long values are capped, times and version strings are left alone', () => {
    const out = redactAttributes({ 'url.path': `/${'a'.repeat(1000)}`, 'nis2.reason': 'at 10:00:00 v1.2.3' }, privacy);
    assert.equal((out['url.path'] as string).length, 256);
    assert.equal(out['nis2.reason'], 'at 10:00:00 v1.2.3');
  });
});
