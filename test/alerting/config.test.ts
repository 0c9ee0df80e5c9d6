// alerting.* configuration: webhooks from code, from NIS2_WEBHOOKS (JSON) and from a YAML file;
// bad destinations fail at start with a message that names the webhook and the fix, and never
// echo a URL (chat webhook URLs carry their token) or a secret.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createNis2LogPipeline, loadConfig, Nis2Error, type Nis2Options } from '../../dist/esm/index.js';
import type { WebhookDestination } from '../../dist/esm/alerting/index.js';
import { waitFor } from '../helpers/server.ts';
import { startReceiver } from './receiver.ts';

const dir = mkdtempSync(join(tmpdir(), 'nis2-alerting-config-'));
const base: Nis2Options = { signing: { keyDir: dir, key: Buffer.alloc(32, 3).toString('base64') }, export: { otlp: 'off', eventsFile: join(dir, 'events.jsonl') } };
const SLACK = 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX';

function webhooks(options: Nis2Options, env: NodeJS.ProcessEnv = {}): WebhookDestination[] {
  return loadConfig({ options: { ...base, ...options }, env }).values.get('alerting.webhooks') as WebhookDestination[];
}

function invalid(options: Nis2Options, env: NodeJS.ProcessEnv, expected: RegExp, mustNotShow: string[] = []): void {
  assert.throws(() => webhooks(options, env), (err: unknown) => {
    assert.ok(err instanceof Nis2Error, String(err));
    assert.equal(err.code, 'NIS2_ERR_CONFIG_INVALID');
    assert.match(err.message, expected);
    for (const s of mustNotShow) assert.ok(!err.message.includes(s), `message shows ${s}: ${err.message}`);
    assert.match(err.message, /not shown: it is a secret/);
    return true;
  });
}

describe('alerting.webhooks sources', () => {
  test('defaults: no webhook, and the documented numbers', () => {
    const c = loadConfig({ options: base, env: {} });
    assert.deepEqual(c.values.get('alerting.webhooks'), []);
    assert.equal(c.values.get('alerting.aggregateWindow'), 300_000);
    assert.deepEqual(c.values.get('alerting.rate'), { points: 20, windowMs: 60_000 });
    assert.equal(c.values.get('alerting.timeout'), 5000);
    assert.equal(c.values.get('alerting.retries'), 3);
    assert.equal(c.values.get('alerting.concurrency'), 2);
    assert.equal(c.values.get('alerting.queueSize'), 100);
    assert.equal(c.values.get('alerting.maxKeys'), 1000);
  });

  test('a list of objects in code, with defaults filled in and globs compiled', () => {
    const [slack, json] = webhooks({ alerting: { webhooks: [
      { type: 'slack', url: SLACK },
      { type: 'json', url: 'http://127.0.0.1:9999/in', secret: 'sixteen-chars-ok', events: ['nis2.session.*', 'nis2.auth.lockout'], minSeverity: 'ERROR', name: 'siem relay' },
    ] } });
    assert.equal(slack!.name, 'slack#1');
    assert.deepEqual(slack!.events, ['nis2.*']);
    assert.equal(slack!.minSeverity, 'WARN');
    assert.equal(slack!.secret, undefined);
    assert.equal(json!.name, 'siem relay');
    assert.equal(json!.secret, 'sixteen-chars-ok');
    assert.ok(json!.eventPatterns.some((p) => p.test('nis2.session.hijack_suspected')));
    assert.ok(!json!.eventPatterns.some((p) => p.test('nis2.sessionX') || p.test('xnis2.session.a') || p.test('nis2.auth.lockouts')));
  });

  test('NIS2_WEBHOOKS as JSON, over the config file', () => {
    const file = join(dir, 'alerting.yaml');
    writeFileSync(file, 'alerting:\n  webhooks:\n    - type: teams\n      url: https://example.invalid/workflows/abc\n  aggregateWindow: 10m\n  rate: 5/60s\n');
    const fromFile = loadConfig({ options: base, env: { NIS2_CONFIG_FILE: file } });
    assert.equal((fromFile.values.get('alerting.webhooks') as WebhookDestination[])[0]!.type, 'teams');
    assert.equal(fromFile.values.get('alerting.aggregateWindow'), 600_000);
    const fromEnv = loadConfig({ options: base, env: { NIS2_CONFIG_FILE: file, NIS2_WEBHOOKS: JSON.stringify([{ type: 'discord', url: 'https://discord.com/api/webhooks/1/abc', events: 'nis2.tor.*, nis2.ip.*' }]) } });
    const d = (fromEnv.values.get('alerting.webhooks') as WebhookDestination[])[0]!;
    assert.equal(d.type, 'discord');
    assert.deepEqual(d.events, ['nis2.tor.*', 'nis2.ip.*']);
    assert.equal(fromEnv.sources['alerting.webhooks'], 'env');
    assert.deepEqual(fromEnv.values.get('alerting.rate'), { points: 5, windowMs: 60_000 }, 'other keys still come from the file');
  });

  test('http is accepted only for this machine', () => {
    for (const url of ['http://127.0.0.1:8080/x', 'http://localhost/x', 'http://[::1]:9/x']) assert.equal(webhooks({ alerting: { webhooks: [{ type: 'slack', url }] } })[0]!.url.startsWith('http://'), true, url);
  });
});

describe('bad webhooks fail at start, naming the webhook, never the URL or the secret', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['plain http to another host', [{ type: 'slack', url: 'http://hooks.example.com/T000/SECRETTOKEN' }], /webhook #1: `url` must use https:\/\//],
    ['not a URL', [{ type: 'slack', url: 'hooks.slack.com/SECRETTOKEN' }], /webhook #1: `url` is not an absolute URL/],
    ['credentials in the URL', [{ type: 'json', url: 'https://bot:SECRETTOKEN@siem.example/in', secret: 'sixteen-chars-ok' }], /must not carry user:password@/],
    ['unknown type', [{ type: 'mattermost', url: SLACK }], /`type` must be one of 'slack', 'teams', 'discord', 'json'/],
    ['json without secret', [{ type: 'json', url: 'https://siem.example/in' }], /needs a `secret` of at least 16 characters/],
    ['json with a short secret', [{ type: 'json', url: 'https://siem.example/in', secret: 'SHORTSECRET' }], /needs a `secret` of at least 16/],
    ['secret on a chat webhook', [{ type: 'slack', url: SLACK, secret: 'SECRETVALUE-123456' }], /`secret` is used only by json webhooks/],
    ['bad glob', [{ type: 'slack', url: SLACK, events: ['nis2.(session)'] }], /`events` must be a non-empty list of event-name globs/],
    ['empty events', [{ type: 'slack', url: SLACK, events: [] }], /`events` must be a non-empty list/],
    ['bad severity', [{ type: 'slack', url: SLACK, minSeverity: 'DEBUG' }], /`minSeverity` must be one of 'INFO', 'WARN', 'ERROR'/],
    ['unknown field', [{ type: 'slack', url: SLACK, channel: '#sec' }], /unknown field 'channel'/],
    ['duplicate names', [{ type: 'slack', url: SLACK, name: 'ops' }, { type: 'discord', url: 'https://discord.com/api/webhooks/1/SECRETTOKEN', name: 'ops' }], /two webhooks are named 'ops'/],
    ['named webhook is named in the error', [{ type: 'slack', url: 'ftp://x/SECRETTOKEN', name: 'sec-team' }], /webhook 'sec-team': `url` must use https/],
    ['not a list', { type: 'slack', url: SLACK }, /expected a list of webhooks/],
    ['not an object', ['https://hooks.slack.com/SECRETTOKEN'], /webhook #1 must be an object/],
  ];
  for (const [label, value, expected] of cases) {
    test(`${label} (code)`, () => {
      invalid({ alerting: { webhooks: value as never } }, {}, expected, ['SECRETTOKEN', 'XXXXXXXX', 'SHORTSECRET', 'SECRETVALUE', 'hooks.']);
    });
  }

  test('NIS2_WEBHOOKS that is not JSON names the variable and shows an example, not the value', () => {
    invalid({}, { NIS2_WEBHOOKS: `[{"type":"slack","url":"${SLACK}"` }, /NIS2_WEBHOOKS: expected a JSON list of webhooks/, ['XXXXXXXX']);
  });

  test('the other alerting keys reject bad values', () => {
    assert.throws(() => loadConfig({ options: base, env: { NIS2_ALERTING_CONCURRENCY: '0' } }), /NIS2_ALERTING_CONCURRENCY: expected an integer from 1 to 32/);
    assert.throws(() => loadConfig({ options: base, env: { NIS2_ALERTING_RATE: 'lots' } }), /NIS2_ALERTING_RATE/);
    assert.throws(() => loadConfig({ options: { ...base, alerting: { retries: 11 } }, env: {} }), /alerting\.retries/);
    assert.throws(() => loadConfig({ options: { ...base, alerting: { channel: '#x' } as never }, env: {} }), /NIS2_ERR_CONFIG_UNKNOWN_KEY/);
  });
});

describe('createNis2LogPipeline', () => {
  test('with webhooks configured, signed records reach the alerting processor after signing', async () => {
    const r = await startReceiver();
    try {
      const pipeline = createNis2LogPipeline({
        nis2: { ...base, alerting: { webhooks: [{ type: 'json', url: r.url, secret: 'pipeline-secret-0123' }] } },
        downstream: [],
      });
      const { LoggerProvider } = await import('@opentelemetry/sdk-logs');
      const provider = new LoggerProvider({ processors: [pipeline.processor] });
      provider.getLogger('t').emit({ eventName: 'nis2.ip.blocked', severityText: 'WARN', attributes: { 'client.address': '192.0.2.0', 'security_rule.name': 'ip_deny' } });
      await waitFor(() => r.deliveries.length === 1, 'alert', 5000);
      const record = r.deliveries[0]!.json['record'] as Record<string, unknown>;
      assert.equal(record['seq'], 1, 'seq 0 is stream_start; the event is seq 1 of the signed stream');
      assert.equal(record['kid'], pipeline.key.key.kid);
      assert.match(String(record['stream']), /^[A-Za-z0-9_-]{22}$/);
      await provider.shutdown();
      assert.equal(r.deliveries.length, 1, 'integrity records (checkpoint, stream_end) are not alerted');
    } finally {
      await r.close();
    }
  });
});
