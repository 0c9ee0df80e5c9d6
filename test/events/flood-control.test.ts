import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FloodControl } from '../../dist/esm/events/flood-control.js';

const ev = (key?: string) => ({ name: 'nis2.rate_limit.exceeded', severity: 'WARN' as const, attrs: { k: key ?? '' }, aggregateKey: key });

test('first event of a key goes out at once, repeats become one summary with the count', () => {
  const f = new FloodControl({ budget: 100, windowMs: 10_000, maxKeys: 100, now: 0 });
  const summaries: Array<Record<string, unknown>> = [];
  const push = (s: { attrs: Record<string, unknown> }) => summaries.push(s.attrs);
  assert.equal(f.admit(ev('a'), 0, push), 'emit');
  for (let i = 0; i < 41; i++) assert.equal(f.admit(ev('a'), 100 + i, push), 'aggregated');
  assert.equal(f.sweep(5_000, push).size, 0);
  assert.equal(summaries.length, 0, 'window still open');
  f.sweep(10_001, push);
  assert.equal(summaries.length, 1);
  assert.equal(summaries[0]!['nis2.aggregate.count'], 41);
  assert.equal(summaries[0]!['nis2.aggregate.window_s'], 10);
});

test('a global budget caps events per second and counts what it drops', () => {
  const f = new FloodControl({ budget: 10, windowMs: 60_000, maxKeys: 1_000_000, now: 0 });
  const decisions = Array.from({ length: 1000 }, (_, i) => f.admit(ev(`ip${i}`), 500, () => undefined));
  assert.equal(decisions.filter((d) => d === 'emit').length, 10);
  const suppressed = f.sweep(600, () => undefined);
  assert.equal(suppressed.get('nis2.rate_limit.exceeded'), 990);
  // Tokens refill with time.
  assert.equal(f.admit(ev('later'), 1600, () => undefined), 'emit');
});

test('aggregation keys are bounded: the oldest is flushed first', () => {
  const f = new FloodControl({ budget: 1_000_000, windowMs: 60_000, maxKeys: 16, now: 0 });
  const flushed: string[] = [];
  for (let i = 0; i < 16; i++) { f.admit(ev(`k${i}`), 0, () => undefined); f.admit(ev(`k${i}`), 1, () => undefined); }
  f.admit(ev('new'), 2, (s) => flushed.push(String(s.attrs['k'])));
  assert.equal(f.size, 16);
  assert.deepEqual(flushed, ['k0']);
});

test('drain writes every open aggregate at shutdown', () => {
  const f = new FloodControl({ budget: 1000, windowMs: 60_000, maxKeys: 100, now: 0 });
  const flushed: number[] = [];
  f.admit(ev('x'), 0, () => undefined);
  f.admit(ev('x'), 1, () => undefined);
  f.admit(ev('x'), 2, () => undefined);
  f.drain(3, (s) => flushed.push(Number(s.attrs['nis2.aggregate.count'])));
  assert.deepEqual(flushed, [2]);
});
