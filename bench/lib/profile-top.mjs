// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time and,
// optionally, the inclusive time of functions whose name matches a pattern. Used to turn a missed
// target into a finding (function, % of samples) instead of a guess.
//   node bench/lib/profile-top.mjs <file.cpuprofile> [--top 25] [--match regex]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

export function summarise(profile, { top = 25, match } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const counts = new Map();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const total = profile.samples.length;
  const label = (n) => {
    const f = n.callFrame;
    const url = f.url ? relative(process.cwd(), f.url.replace(/^file:\/\//, '')) : '';
    return `${f.functionName || '(anonymous)'} ${url}${url ? `:${f.lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  const inclusive = new Map();
  for (const [id, c] of counts) {
    const n = byId.get(id);
    self.set(label(n), (self.get(label(n)) ?? 0) + c);
    // Inclusive: count each distinct label once per sample along the stack.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur));
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + c);
    }
  }
  const pct = (c) => Math.round((c / total) * 1000) / 10;
  const selfTop = [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, c]) => ({ fn, selfPct: pct(c) }));
  const re = match ? new RegExp(match) : undefined;
  const incl = re ? [...inclusive].filter(([l]) => re.test(l)).sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, c]) => ({ fn, inclusivePct: pct(c) })) : [];
  return { samples: total, selfTop, inclusive: incl };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const file = args[0];
  const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const out = summarise(JSON.parse(readFileSync(file, 'utf8')), { top: Number(opt('--top') ?? 25), match: opt('--match') });
  console.log(`samples: ${out.samples}`);
  console.log('self time:');
  for (const r of out.selfTop) console.log(`  ${String(r.selfPct).padStart(5)}%  ${r.fn}`);
  if (out.inclusive.length) {
    console.log('inclusive time:');
    for (const r of out.inclusive) console.log(`  ${String(r.inclusivePct).padStart(5)}%  ${r.fn}`);
  }
}
