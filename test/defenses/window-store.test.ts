import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WindowStore } from '../../dist/esm/index.js';

const hitOut = () => ({ allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 });
const T0 = 1_800_000_000_000; // window-aligned for 60 s windows

test('fixed window: allows `points` hits, blocks the next, resets at the window boundary', () => {
  const s = new WindowStore({ points: 3, windowMs: 60_000, sliding: false, maxKeys: 1024 });
  const out = hitOut();
  const results = [0, 1, 2, 3].map((i) => ({ ...s.hit(0, 1, T0 + i, out) }));
  assert.deepEqual(results.map((r) => r.allowed), [true, true, true, false]);
  assert.deepEqual(results.map((r) => r.remaining), [2, 1, 0, 0]);
  assert.equal(results[3]!.retryAfterMs, 60_000 - 3);
  assert.equal(s.hit(0, 1, T0 + 60_000, out).allowed, true, 'a new window starts fresh');
});

test('fixed window does not refresh its reset time on every hit (the Django bug)', () => {
  const s = new WindowStore({ points: 2, windowMs: 60_000, sliding: false, maxKeys: 1024 });
  const out = hitOut();
  for (let t = 0; t < 10; t++) {
    // one hit every 59 s never exceeds 2 per fixed window
    assert.equal(s.hit(0, 9, T0 + t * 59_000, out).allowed, true, `hit ${t}`);
  }
});

test('sliding window weighs the previous window so a burst across the boundary is caught', () => {
  const fixed = new WindowStore({ points: 10, windowMs: 60_000, sliding: false, maxKeys: 1024 });
  const sliding = new WindowStore({ points: 10, windowMs: 60_000, sliding: true, maxKeys: 1024 });
  const out = hitOut();
  for (let i = 0; i < 10; i++) { fixed.hit(0, 1, T0 + 59_000, out); sliding.hit(0, 1, T0 + 59_000, out); }
  // 1 s into the next window: fixed forgets the burst; sliding still counts ~98 % of it.
  assert.equal(fixed.hit(0, 1, T0 + 61_000, out).allowed, true);
  const s = sliding.hit(0, 1, T0 + 61_000, out);
  assert.equal(s.allowed, false);
  assert.ok(s.retryAfterMs > 0 && s.retryAfterMs <= 60_000, `retry ${s.retryAfterMs}`);
  // Once the previous window's weight has decayed enough, the client is allowed again.
  assert.equal(sliding.hit(0, 1, T0 + 61_000 + s.retryAfterMs, out).allowed, true);
});

test('keys are independent', () => {
  const s = new WindowStore({ points: 1, windowMs: 60_000, sliding: true, maxKeys: 1024 });
  const out = hitOut();
  assert.equal(s.hit(1, 2, T0, out).allowed, true);
  assert.equal(s.hit(1, 2, T0, out).allowed, false);
  assert.equal(s.hit(2, 1, T0, out).allowed, true);
  assert.equal(s.hit(1, 3, T0, out).allowed, true);
});

test('stays bounded under a spray of 1,000,000 distinct keys and keeps recent keys', () => {
  const maxKeys = 65_536;
  const s = new WindowStore({ points: 1, windowMs: 60_000, sliding: true, maxKeys });
  const out = hitOut();
  for (let i = 0; i < 1_000_000; i++) s.hit(0xffffffff, i, T0 + Math.floor(i / 1000) * 1000, out);
  assert.ok(s.size <= maxKeys, `size ${s.size}`);
  assert.ok(s.bytes <= maxKeys * 24, `bytes ${s.bytes}`);
  assert.ok(s.evictions >= 1_000_000 - maxKeys, `evictions ${s.evictions}`);
  // The most recent key is still tracked: a second hit is over its limit of 1.
  assert.equal(s.hit(0xffffffff, 999_999, T0 + 1_000_000, out).allowed, false);
});

test('grows on demand: a small app does not pay for maxKeys up front', () => {
  const s = new WindowStore({ points: 5, windowMs: 60_000, sliding: false, maxKeys: 1_000_000 });
  assert.ok(s.bytes <= 64 * 1024, `initial bytes ${s.bytes}`);
  const out = hitOut();
  for (let i = 0; i < 10_000; i++) s.hit(0, i, T0, out);
  assert.equal(s.size, 10_000);
  assert.equal(s.evictions, 0);
  for (let i = 0; i < 10_000; i++) s.hit(0, i, T0, out);
  // counts survived the rehashes: each key is at 2 of 5
  assert.equal(s.hit(0, 1234, T0, out).remaining, 2);
});
