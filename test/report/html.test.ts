// The HTML report: self-contained (no script, no external reference), escaped, and rendered for
// real in headless Chromium (Debian `chromium`), whose screenshot is decoded and inspected.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { SERIES_COLORS } from '../../dist/esm/report/chart.js';
import { KEY_A, signSpec, T0 } from '../fixtures/report/streams.ts';
import { runCli } from '../helpers/cli.ts';
import { decodePng, hexRgb, pixel, type Image } from './png.ts';
import { fixtures, HMAC_ARGS } from './helpers.ts';

const fx = fixtures('html');
const ALL = [fx.a, fx.b, fx.c];
const children = new Set<ChildProcess>();
const tempDirs: string[] = [];

after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Chromium from NIS2_CHROMIUM, else `chromium` on PATH (Debian puts it in /usr/bin). */
function chromiumPath(): string {
  const explicit = process.env['NIS2_CHROMIUM'];
  const candidates = explicit ? [explicit] : [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), '/usr/bin'].map((dir) => join(dir, 'chromium'));
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  // Not a skip: the HTML report is only tested if a browser renders it.
  assert.fail('chromium not found: install the Debian package (apt-get install -y chromium) or set NIS2_CHROMIUM to the browser binary');
}

/** Runs headless Chromium once, bounded in time; resolves when it exits. */
function chromium(args: string[], timeoutMs = 90_000): Promise<{ code: number | null; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'nis2-chromium-'));
  tempDirs.push(profile);
  const child = spawn(chromiumPath(), [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 20_000) stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chromium did not finish within ${timeoutMs} ms: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stderr });
    });
  });
}

async function screenshot(html: string, name: string): Promise<Image> {
  const png = join(fx.dir, `${name}.png`);
  const r = await chromium([`--screenshot=${png}`, '--window-size=1280,2000', pathToFileURL(html).href]);
  assert.ok(existsSync(png), `chromium wrote no screenshot (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  return decodePng(readFileSync(png));
}

async function htmlReport(name: string, args: string[]): Promise<{ path: string; html: string; code: number }> {
  const path = join(fx.dir, `${name}.html`);
  const r = await runCli(['report', '--format', 'html', '--out', path, ...args]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return { path, html: readFileSync(path, 'utf8'), code: r.code };
}

/** Pixels of exactly this colour inside rows [y0, y1). */
function countColor(img: Image, hex: string, y0 = 0, y1 = img.height): { count: number; top: number; bottom: number } {
  const [r, g, b] = hexRgb(hex);
  let count = 0;
  let top = Infinity;
  let bottom = -Infinity;
  for (let y = y0; y < Math.min(y1, img.height); y++) {
    for (let x = 0; x < img.width; x++) {
      const p = pixel(img, x, y);
      if (p[0] === r && p[1] === g && p[2] === b) {
        count++;
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      }
    }
  }
  return { count, top, bottom };
}

test('self-contained: no script, no external reference, a CSP that forbids fetching', async () => {
  const { html } = await htmlReport('static', [...HMAC_ARGS, ...ALL]);
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\s(?:src|href|action|srcset)\s*=/i);
  assert.doesNotMatch(html, /@import|url\((?!#hatch\))/i);
  const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
  assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg'], 'only the SVG namespace, which is never fetched');
  assert.match(html, /<svg [^>]*class="chart"/);
  assert.match(html, /@media print/);
  // The numbers of the JSON report are the ones on the page.
  assert.match(html, /<div class="v">78<\/div><div class="k">security event occurrences<\/div>/);
  assert.match(html, /<div class="v">25<\/div><div class="k">not individually recorded<\/div>/);
  assert.match(html, /25 event\(s\) not individually recorded: the writer's event budget was exhausted/);
  assert.match(html, /Integrity verified: all 3 stream\(s\) intact/);
  for (const deadline of ['2026-11-26 10:01:00Z', '2026-11-28 10:01:00Z', '2026-12-28 10:01:00Z']) assert.ok(html.includes(deadline), deadline);
  assert.equal((html.match(/TO CONFIRM/g) ?? []).length >= 4, true);
});

test('values from requests are escaped: a hostile path or User-Agent cannot inject markup', async () => {
  const hostile = '/search"><script>alert(1)</script><img src=x onerror=alert(2)>';
  const bodies = signSpec({
    key: KEY_A, stream: 'xss', service: 'svc<b>bold</b>', host: 'h', startMs: T0, endMs: T0 + 10_000,
    events: [{
      at: T0 + 1000, event: 'nis2.rate_limit.exceeded', attrs: {
        'client.address': '192.0.2.0', 'url.path': hostile, 'user_agent.original': '<svg onload=alert(3)>/1.0', 'nis2.action': 'block', 'security_rule.name': 'rate_limit',
      },
    }],
  });
  const file = join(fx.dir, 'xss.jsonl');
  writeFileSync(file, bodies.map((b) => `${b}\n`).join(''));
  const { html } = await htmlReport('xss', [file]);
  assert.doesNotMatch(html, /<script|<img|<svg onload|<b>bold/i);
  assert.ok(html.includes('&#60;script&#62;alert(1)&#60;/script&#62;'), 'the path is shown, escaped');
  assert.ok(html.includes('svc&#60;b&#62;bold&#60;/b&#62;'));
});

test('renders in headless Chromium: a full page with the timeline chart drawn', { timeout: 180_000 }, async () => {
  const { path } = await htmlReport('clean', [...HMAC_ARGS, ...ALL]);
  const img = await screenshot(path, 'clean');
  assert.equal(img.width, 1280);
  assert.equal(img.height, 2000);
  let ink = 0;
  for (let y = 0; y < img.height; y += 2) {
    for (let x = 0; x < img.width; x += 2) if (Math.min(...pixel(img, x, y)) < 235) ink++;
  }
  const share = ink / ((img.width / 2) * (img.height / 2));
  assert.ok(share > 0.06, `only ${(share * 100).toFixed(1)}% of the page is not background: an empty render?`);
  // The integrity verdict is the first thing on the page: a green banner near the top.
  assert.ok(countColor(img, '#e6f4ea', 0, 400).count > 20_000, 'green "integrity verified" banner at the top');
  assert.equal(countColor(img, '#fce8e6', 0, 400).count, 0, 'no red banner');
  // The chart: the largest series (rate limit, 43 occurrences) is a tall bar in the first colour.
  const bar = countColor(img, SERIES_COLORS[0]);
  assert.ok(bar.count > 1500, `chart bars missing: ${bar.count} pixels of ${SERIES_COLORS[0]}`);
  assert.ok(bar.bottom - bar.top > 100, 'the bar is tall, not just a legend swatch');
  assert.ok(countColor(img, SERIES_COLORS[1]).count > 100, 'the second series is drawn too');
});

test('renders a tampered report with the red verdict on top', { timeout: 180_000 }, async () => {
  const { path, code } = await htmlReport('tampered', [...HMAC_ARGS, fx.aTampered, fx.b, fx.c]);
  assert.equal(code, 1);
  const img = await screenshot(path, 'tampered');
  assert.ok(countColor(img, '#fce8e6', 0, 500).count > 20_000, 'red "tampering detected" banner at the top');
  assert.ok(countColor(img, '#c5221f').count > 2000, 'red border and SUSPECT marks');
  assert.equal(countColor(img, '#e6f4ea', 0, 500).count, 0, 'no green banner');
});

test('prints to PDF (the page is printable offline)', { timeout: 180_000 }, async () => {
  const { path } = await htmlReport('print', [...HMAC_ARGS, ...ALL]);
  const pdf = join(fx.dir, 'print.pdf');
  const r = await chromium(['--no-pdf-header-footer', `--print-to-pdf=${pdf}`, pathToFileURL(path).href]);
  assert.ok(existsSync(pdf), `no PDF (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  assert.equal(readFileSync(pdf).subarray(0, 5).toString('latin1'), '%PDF-');
  assert.ok(statSync(pdf).size > 20_000, 'a PDF with content');
});

test('a missing browser fails the suite with a clear message (never a silent skip)', () => {
  const saved = process.env['NIS2_CHROMIUM'];
  process.env['NIS2_CHROMIUM'] = '/nonexistent/chromium';
  try {
    assert.throws(() => chromiumPath(), /chromium not found: install the Debian package \(apt-get install -y chromium\)/);
  } finally {
    if (saved === undefined) delete process.env['NIS2_CHROMIUM'];
    else process.env['NIS2_CHROMIUM'] = saved;
  }
});
