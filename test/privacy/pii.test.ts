import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger, LogRecord } from '@opentelemetry/api';
import { loadConfig } from '../../dist/esm/config/load.js';
import { SecurityEventEmitter } from '../../dist/esm/events/emitter.js';
import {
  ATTR_CLIENT_ADDRESS_RAW, DEFAULT_PII_FIELDS, MAX_SEALED_BYTES, PiiSealer, createPiiSealer,
} from '../../dist/esm/privacy/pii.js';
import { Pseudonymizer } from '../../dist/esm/privacy/pseudonym.js';
import { OpeningKey, SealingKey, generateSealKeyPair } from '../../dist/esm/privacy/seal.js';

const pair = generateSealKeyPair();
const opener = new OpeningKey(pair.privateKey);
const sealingKey = new SealingKey(pair.publicKey);
const PUBLIC = pair.publicKey.toString('base64url');

function open(value: unknown): string {
  assert.equal(typeof value, 'string');
  const r = opener.openString(value as string);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

const baseConfig = { signing: { keyDir: '/tmp/nis2-pii-test' }, export: { otlp: 'off' as const, eventsFile: '/tmp/nis2-pii-test/e.jsonl' } };

test('seals every default PII field, adds its keyed pseudonym, and leaves no raw value', () => {
  const pseudo = new Pseudonymizer('k1');
  const pii = new PiiSealer({ sealingKey, pseudonymizer: pseudo });
  assert.deepEqual(pii.fields, DEFAULT_PII_FIELDS);
  const attrs: Record<string, unknown> = {
    'user.id': 'u-42', 'user.name': 'alice', 'user.email': 'alice@example.com', [ATTR_CLIENT_ADDRESS_RAW]: '203.0.113.9',
    'client.address': '203.0.113.0', 'http.request.method': 'GET',
  };
  pii.apply(attrs as never);
  for (const [field, value] of [['user.id', 'u-42'], ['user.name', 'alice'], ['user.email', 'alice@example.com'], [ATTR_CLIENT_ADDRESS_RAW, '203.0.113.9']]) {
    assert.match(attrs[field!] as string, new RegExp(`^nis2enc:1:${sealingKey.kid}:`), field);
    assert.equal(open(attrs[field!]), value);
    assert.equal(attrs[`${field}.hash`], pseudo.hash(value!), `${field}.hash`);
  }
  assert.equal(attrs['client.address'], '203.0.113.0');
  assert.equal(attrs['http.request.method'], 'GET');
  const text = JSON.stringify(attrs);
  for (const raw of ['u-42', 'alice', '203.0.113.9']) assert.ok(!text.includes(`"${raw}"`), raw);
  assert.equal(pii.sealing, true);
  assert.equal(pii.kid, sealingKey.kid);
});

test('without a sealing key, PII values are dropped and only the pseudonyms stay', () => {
  const pseudo = new Pseudonymizer('k1');
  const pii = new PiiSealer({ pseudonymizer: pseudo });
  const attrs: Record<string, unknown> = { 'user.id': 'u-42', 'user.email': 'a@example.com', 'url.path': '/x' };
  pii.apply(attrs as never);
  assert.deepEqual(attrs, { 'user.id.hash': pseudo.hash('u-42'), 'user.email.hash': pseudo.hash('a@example.com'), 'url.path': '/x' });
  assert.equal(pii.sealing, false);
  assert.equal(pii.sealsRawClientAddress, false);
});

test('pseudonyms are stable under one key and differ under another', () => {
  const run = (key: string): unknown => {
    const attrs: Record<string, unknown> = { 'user.id': 'u-42' };
    new PiiSealer({ sealingKey, pseudonymizer: new Pseudonymizer(key) }).apply(attrs as never);
    return attrs['user.id.hash'];
  };
  assert.equal(run('key-one'), run('key-one'));
  assert.notEqual(run('key-one'), run('key-two'));
  assert.match(run('key-one') as string, /^[A-Za-z0-9_-]{22}$/);
});

test('a pseudonym the guard already wrote is kept', () => {
  const attrs: Record<string, unknown> = { 'user.id': 'u-42', 'user.id.hash': 'from-the-guard' };
  new PiiSealer({ sealingKey }).apply(attrs as never);
  assert.equal(attrs['user.id.hash'], 'from-the-guard');
});

test('edge case: a value that already looks sealed is sealed again, never passed through in clear', () => {
  const attrs: Record<string, unknown> = { 'user.name': `nis2enc:1:${sealingKey.kid}:AAAA` };
  new PiiSealer({ sealingKey }).apply(attrs as never);
  assert.equal(open(attrs['user.name']), `nis2enc:1:${sealingKey.kid}:AAAA`);
});

test('edge case: a huge value is cut before sealing (on a character boundary); the pseudonym covers all of it', () => {
  const pseudo = new Pseudonymizer('k');
  const value = `${'é'.repeat(MAX_SEALED_BYTES)}tail`;
  const attrs: Record<string, unknown> = { 'user.id': value };
  new PiiSealer({ sealingKey, pseudonymizer: pseudo }).apply(attrs as never);
  const opened = open(attrs['user.id']);
  assert.ok(Buffer.byteLength(opened) <= MAX_SEALED_BYTES);
  assert.equal(opened, 'é'.repeat(MAX_SEALED_BYTES / 2));
  assert.equal(attrs['user.id.hash'], pseudo.hash(value));
});

test('non-string values are sealed as text; null and absent fields are left alone', () => {
  const attrs: Record<string, unknown> = { 'user.id': 42, 'user.email': null };
  new PiiSealer({ sealingKey }).apply(attrs as never);
  assert.equal(open(attrs['user.id']), '42');
  assert.equal(attrs['user.email'], null);
  assert.ok(!('user.name.hash' in attrs));
});

test('user.id and user.name are protected even when privacy.piiFields leaves them out', () => {
  const pii = new PiiSealer({ fields: ['customer.phone'] });
  const attrs: Record<string, unknown> = { 'user.id': 'u', 'user.name': 'n', 'customer.phone': '+1 555', 'user.email': 'kept@example.com' };
  pii.apply(attrs as never);
  assert.deepEqual(Object.keys(attrs).sort(), ['customer.phone.hash', 'user.email', 'user.id.hash', 'user.name.hash']);
});

test('config: privacy.sealKey from NIS2_PII_PUBLIC_KEY turns sealing on; piiFields from NIS2_PII_FIELDS', () => {
  const config = loadConfig({ options: baseConfig, env: { NIS2_PII_PUBLIC_KEY: PUBLIC, NIS2_PII_FIELDS: 'user.id, customer.phone' } });
  assert.deepEqual(config.values.get('privacy.sealKey'), pair.publicKey);
  assert.deepEqual(config.values.get('privacy.piiFields'), ['user.id', 'customer.phone']);
  assert.equal(config.sources['privacy.sealKey'], 'env');
  const pii = createPiiSealer(config.values, new Pseudonymizer('k'));
  assert.equal(pii.sealing, true);
  assert.equal(pii.kid, pair.kid);
  assert.deepEqual(pii.fields, ['user.id', 'user.name', 'customer.phone']);
  assert.equal(pii.sealsRawClientAddress, false, 'client.address.raw was not listed');
});

test('config: the defaults drop PII (no key), seal=off ignores a key, seal=on without a key fails at start', () => {
  const none = createPiiSealer(loadConfig({ options: baseConfig, env: {} }).values, new Pseudonymizer());
  assert.equal(none.sealing, false);
  assert.deepEqual(none.fields, DEFAULT_PII_FIELDS);
  const off = createPiiSealer(loadConfig({ options: { ...baseConfig, privacy: { seal: 'off', sealKey: PUBLIC } }, env: {} }).values, new Pseudonymizer());
  assert.equal(off.sealing, false);
  const on = loadConfig({ options: { ...baseConfig, privacy: { seal: 'on' } }, env: {} });
  assert.throws(() => createPiiSealer(on.values, new Pseudonymizer()), (err: Error & { code?: string }) =>
    err.code === 'NIS2_ERR_CONFIG_INVALID' && /privacy\.seal.*NIS2_PII_PUBLIC_KEY/.test(err.message));
});

test('config: a bad key or field list fails at start with a message that names the key', () => {
  const bad = (env: Record<string, string>, pattern: RegExp): void => {
    assert.throws(() => loadConfig({ options: baseConfig, env }), (err: Error & { code?: string }) => err.code === 'NIS2_ERR_CONFIG_INVALID' && pattern.test(err.message), JSON.stringify(env));
  };
  bad({ NIS2_PII_PUBLIC_KEY: 'not-a-key' }, /NIS2_PII_PUBLIC_KEY.*32 bytes/);
  bad({ NIS2_PII_PUBLIC_KEY: Buffer.alloc(32).toString('base64url') }, /NIS2_PII_PUBLIC_KEY.*low-order/);
  bad({ NIS2_PII_FIELDS: 'user.id.hash' }, /NIS2_PII_FIELDS.*pseudonym/);
  bad({ NIS2_PII_FIELDS: 'nis2.action' }, /NIS2_PII_FIELDS.*not personal data/);
  bad({ NIS2_PII_FIELDS: 'user id' }, /NIS2_PII_FIELDS.*attribute name/);
  bad({ NIS2_PII_SEAL: 'maybe' }, /NIS2_PII_SEAL/);
});

function captureEmitter(pii: PiiSealer | undefined): { emitter: SecurityEventEmitter; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = { emit: (r: LogRecord) => void records.push(r) } as unknown as Logger;
  const emitter = new SecurityEventEmitter({
    logger: () => logger, privacy: { ipv4Prefix: 24, ipv6Prefix: 48 }, budget: 100, aggregateWindowMs: 60_000, maxKeys: 100,
    ...(pii && { pii }),
  });
  return { emitter, records };
}

test('emitter: with sealing on, the raw client address is kept sealed next to the anonymised one', () => {
  const pseudo = new Pseudonymizer('k');
  const { emitter, records } = captureEmitter(new PiiSealer({ sealingKey, pseudonymizer: pseudo }));
  emitter.emitAccess({ 'client.address': '203.0.113.9', 'user.id': 'u-7', 'user.id.hash': pseudo.hash('u-7') });
  emitter.close();
  const attrs = records[0]!.attributes!;
  assert.equal(attrs['client.address'], '203.0.113.0');
  assert.equal(open(attrs[ATTR_CLIENT_ADDRESS_RAW]), '203.0.113.9');
  assert.equal(attrs['client.address.raw.hash'], pseudo.hash('203.0.113.9'));
  assert.equal(open(attrs['user.id']), 'u-7');
  assert.ok(!JSON.stringify(attrs).includes('203.0.113.9'));
});

test('emitter: with sealing off, no raw client address is kept and PII is dropped', () => {
  const { emitter, records } = captureEmitter(new PiiSealer({ pseudonymizer: new Pseudonymizer('k') }));
  emitter.emitAccess({ 'client.address': '2001:db8:1:2::9', 'user.id': 'u-7' });
  emitter.close();
  const attrs = records[0]!.attributes!;
  assert.equal(attrs['client.address'], '2001:db8:1::');
  assert.ok(!(ATTR_CLIENT_ADDRESS_RAW in attrs));
  assert.ok(!('user.id' in attrs));
  assert.ok('user.id.hash' in attrs);
});

test('emitter: without a PII step given, raw PII is still dropped (safe default)', () => {
  const { emitter, records } = captureEmitter(undefined);
  emitter.emitAccess({ 'client.address': '203.0.113.9', 'user.name': 'alice' });
  emitter.close();
  const attrs = records[0]!.attributes!;
  assert.ok(!('user.name' in attrs));
  assert.ok(!JSON.stringify(attrs).includes('alice'));
  assert.ok(!(ATTR_CLIENT_ADDRESS_RAW in attrs));
});

test('edge case: a seal that fails drops the value (never the raw one), keeps the pseudonym and warns once', async () => {
  const warnings: Array<{ code?: string; message: string }> = [];
  const onWarning = (w: Error & { code?: string }): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    const broken = { kid: 'broken', sealString: (): string => { throw new Error('no entropy'); } };
    const pii = new PiiSealer({ sealingKey: broken as never, pseudonymizer: new Pseudonymizer('k') });
    for (let i = 0; i < 3; i++) {
      const attrs: Record<string, unknown> = { 'user.id': 'u-42', 'url.path': '/' };
      pii.apply(attrs as never);
      assert.deepEqual(attrs, { 'user.id.hash': new Pseudonymizer('k').hash('u-42'), 'url.path': '/' });
    }
    await new Promise((r) => setImmediate(r));
    const ours = warnings.filter((w) => w.code === 'NIS2_WRN_PII_SEAL_FAILED');
    assert.equal(ours.length, 1);
    assert.ok(!ours[0]!.message.includes('u-42'), 'the warning never carries the value');
  } finally {
    process.off('warning', onWarning);
  }
});
