import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBulkExitList, parseExitAddresses, parseIpList, plausible } from '../../dist/esm/threat-intel/parse.js';

const texts = (list: { entries: Array<{ text: string }> }): string[] => list.entries.map((e) => e.text);

test('reads the bulk exit list: one address per line, comments, blank lines and CRLF', () => {
  const list = parseBulkExitList('# Tor exit list\r\n198.51.100.7\r\n\r\n  203.0.113.9  \n# trailing comment\n2001:DB8::7 # an IPv6 exit\n');
  assert.deepEqual(texts(list), ['198.51.100.7/32', '203.0.113.9/32', '2001:db8::7/128']);
  assert.equal(list.invalid, 0);
  assert.equal(list.firstInvalid, undefined);
  assert.equal(list.exitAddresses, false);
});

test('reads the exit-addresses format: only ExitAddress lines give entries, IPv4 and IPv6', () => {
  const doc = [
    'ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E',
    'Published 2026-11-24 23:10:55',
    'LastStatus 2026-11-25 01:00:00',
    'ExitAddress 198.51.100.20 2026-11-25 01:04:12',
    'ExitNode 0022BD2485AD45D984EC4159C88FC066E5E3300F',
    'Published 2026-11-24 22:00:01',
    'LastStatus 2026-11-25 00:00:00',
    'ExitAddress 2001:db8:20::1 2026-11-25 00:14:12',
    'ExitAddress 198.51.100.21 2026-11-25 00:20:00',
  ].join('\n');
  const list = parseExitAddresses(doc);
  assert.deepEqual(texts(list), ['198.51.100.20/32', '2001:db8:20::1/128', '198.51.100.21/32']);
  assert.equal(list.invalid, 0);
  assert.equal(list.exitAddresses, true);
  assert.deepEqual(texts(parseIpList(doc)), texts(list), 'auto detection reads it the same way');
});

test('malformed lines are counted, not fatal, and the first one is reported', () => {
  const list = parseIpList(['198.51.100.1', '198.51.100.256', 'hello', '198.51.100.2 198.51.100.3', '<html>', '2001:db8::g', 'ExitAddress nonsense 2026-11-25', '198.51.100.4'].join('\n'));
  assert.deepEqual(texts(list), ['198.51.100.1/32', '198.51.100.4/32']);
  assert.equal(list.invalid, 6);
  assert.deepEqual(list.firstInvalid, { line: 2, text: '198.51.100.256' });
});

test('each strict format counts the other format\'s lines as invalid', () => {
  assert.equal(parseBulkExitList('ExitAddress 198.51.100.20 2026-11-25 01:04:12\n198.51.100.1').invalid, 1);
  assert.equal(parseExitAddresses('ExitAddress 198.51.100.20 2026-11-25 01:04:12\n198.51.100.1').invalid, 1);
});

test('CIDR blocks and Spamhaus DROP style comments are read; IPv4-mapped IPv6 becomes IPv4', () => {
  const list = parseIpList('198.51.100.0/24 ; SBL000001\n2001:db8:bad::/48\n::ffff:203.0.113.5\n10.0.0.1/33\n');
  assert.deepEqual(texts(list), ['198.51.100.0/24', '2001:db8:bad::/48', '203.0.113.5/32']);
  assert.equal(list.invalid, 1, 'a prefix longer than the family allows is invalid');
});

test('edge case: lines longer than 1 KiB are invalid without being parsed', () => {
  const list = parseIpList(`${'1'.repeat(5000)}\n198.51.100.1`);
  assert.equal(list.invalid, 1);
  assert.equal(list.firstInvalid!.text.length, 80);
});

test('plausible() refuses an HTML page answered with 200 and accepts a list with a typo or an empty list', () => {
  assert.equal(plausible(parseIpList('<!doctype html>\n<html><body>\n<p>Service unavailable</p>\n</body></html>')), false);
  assert.equal(plausible(parseIpList('198.51.100.1\n198.51.100.2\n198.51.100.x')), true);
  assert.equal(plausible(parseIpList('198.51.100.1\nfoo\nbar')), false, 'more garbage than entries');
  assert.equal(plausible(parseIpList('# nothing listed today\n')), true);
});
