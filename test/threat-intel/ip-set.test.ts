import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import { cidrContains, formatIp, parseCidr, parseIp } from '../../dist/esm/net/ip.js';
import { IpMatcher } from '../../dist/esm/threat-intel/ip-set.js';

const cidrs = (...texts: string[]) => texts.map((t) => {
  const c = parseCidr(t);
  assert.ok(c, t);
  return c;
});

test('single addresses are found whatever their textual form (IPv4, IPv6 compressed or not)', () => {
  const m = new IpMatcher(cidrs('198.51.100.7', '2001:db8::7', '::', '::1', '1::', '64:ff9b::198.51.100.9', '0.0.0.0', '255.255.255.255'));
  for (const ip of ['198.51.100.7', '2001:db8:0:0:0:0:0:7', '2001:0db8::0007', '::', '0:0:0:0:0:0:0:0', '::1', '1::', '1:0::', '64:ff9b::c633:6409', '0.0.0.0', '255.255.255.255']) {
    assert.ok(m.has(ip), ip);
  }
  for (const ip of ['198.51.100.8', '2001:db8::8', '', 'garbage', '198.51.100', '198.51.100.7.1', '256.0.0.1', '::g', '1:::2', '1:2:3:4:5:6:7:8:9', ':1', '1:']) {
    assert.equal(m.has(ip), false, JSON.stringify(ip));
  }
  assert.deepEqual(m.counts, { ipv4: 3, ipv6: 5, ranges: 0 });
});

test('CIDR blocks match from their first to their last address and not one beyond', () => {
  const m = new IpMatcher(cidrs('198.51.100.0/24', '2001:db8:bad::/48', '10.0.0.0/8', '192.0.2.128/25'));
  for (const ip of ['198.51.100.0', '198.51.100.255', '10.0.0.0', '10.255.255.255', '192.0.2.128', '192.0.2.255', '2001:db8:bad::', '2001:db8:bad:ffff:ffff:ffff:ffff:ffff']) {
    assert.ok(m.has(ip), ip);
  }
  for (const ip of ['198.51.99.255', '198.51.101.0', '9.255.255.255', '11.0.0.0', '192.0.2.127', '2001:db8:bac:ffff:ffff:ffff:ffff:ffff', '2001:db8:bae::']) {
    assert.equal(m.has(ip), false, ip);
  }
  assert.equal(m.match('198.51.100.77')!.text, '198.51.100.0/24');
});

test('nested blocks keep the outermost one; duplicates are kept once; /0 matches everything of its family', () => {
  const m = new IpMatcher(cidrs('10.1.0.0/16', '10.0.0.0/8', '10.2.3.0/24', '198.51.100.7', '198.51.100.7', '2001:db8::/32', '2001:db8:1::/48'));
  assert.equal(m.size, 3);
  assert.equal(m.match('10.2.3.4')!.text, '10.0.0.0/8');
  assert.equal(m.match('2001:db8:1::1')!.text, '2001:db8::/32');
  const all = new IpMatcher(cidrs('0.0.0.0/0'));
  assert.ok(all.has('255.255.255.255') && all.has('0.0.0.0') && !all.has('::1'));
  const all6 = new IpMatcher(cidrs('::/0'));
  assert.ok(all6.has('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff') && !all6.has('1.2.3.4'));
});

test('agrees with a linear scan over random lists and addresses (IPv4 and IPv6, exact and CIDR)', () => {
  let seed = 0x2545f491;
  const rand = (n: number): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  // Small alphabets so that random addresses often hit random blocks.
  const v4 = () => [0, 0, 0, 0].map(() => (rand(4) === 0 ? rand(256) : rand(3))).join('.');
  const v6 = () => formatIp(parseIp(Array.from({ length: 8 }, () => (rand(3) === 0 ? rand(65536) : rand(3)).toString(16)).join(':'))!);
  for (let round = 0; round < 150; round++) {
    const entries = Array.from({ length: rand(60) }, () => {
      const six = rand(2) === 1;
      const prefix = six ? [128, 128, 64, 48, 112, 127, 16, 0][rand(8)]! : [32, 32, 24, 16, 30, 31, 8, 0][rand(8)]!;
      return parseCidr(`${six ? v6() : v4()}/${prefix}`)!;
    });
    const m = new IpMatcher(entries);
    for (let k = 0; k < 300; k++) {
      const ip = rand(2) === 1 ? v6() : v4();
      const parsed = parseIp(ip)!;
      const expected = entries.some((e) => cidrContains(e, parsed));
      assert.equal(m.has(ip), expected, `${ip} in ${entries.map((e) => e.text).join(',')}`);
      if (expected) assert.ok(cidrContains(m.match(ip)!, parsed));
    }
  }
});

test('lookups allocate nothing: millions of mixed IPv4/IPv6 lookups trigger no garbage collection', async () => {
  const entries = [];
  for (let i = 0; i < 2000; i++) entries.push(parseCidr(`10.${i >> 8}.${i & 255}.1`)!);
  for (let i = 0; i < 500; i++) entries.push(parseCidr(`2001:db8:${i.toString(16)}::1`)!);
  entries.push(...cidrs('192.0.2.0/24', '2001:db8:ffff::/48'));
  const m = new IpMatcher(entries);
  const ips = ['10.1.2.1', '203.0.113.9', '2001:db8:12::1', '2001:db8:ffff:1::5', '192.0.2.77', '198.51.100.200', '2a00:1450:4001:80b::200e'];
  const run = (n: number): number => {
    let hits = 0;
    for (let i = 0; i < n; i++) if (m.indexOf(ips[i % ips.length]!) >= 0) hits++;
    return hits;
  };
  run(500_000); // let the optimising compiler settle first
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 20));
  let collections = 0;
  const observer = new PerformanceObserver((list) => { collections += list.getEntries().length; });
  observer.observe({ entryTypes: ['gc'] });
  const started = process.hrtime.bigint();
  const hits = run(3_000_000);
  const nsPerLookup = Number(process.hrtime.bigint() - started) / 3_000_000;
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  assert.ok(hits > 1_700_000 && hits < 1_720_000, `four in seven addresses are listed (${hits} hits)`);
  assert.equal(collections, 0, `lookups caused ${collections} garbage collections (${nsPerLookup.toFixed(0)} ns a lookup)`);
});
