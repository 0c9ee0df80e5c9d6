// Each webhook format as its receiver sees it: a real POST to a local receiver on 127.0.0.1 whose
// body is checked against the platform's payload rules (Slack Block Kit, Teams Adaptive Card 1.5,
// Discord embed limits) and, for generic JSON, authenticated with the HMAC header like a receiver.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { verifyWebhookSignature } from '../../dist/esm/index.js';
import { waitFor } from '../helpers/server.ts';
import { harness, rateLimitAttrs, type Harness } from './helpers.ts';
import { startReceiver, type Receiver } from './receiver.ts';

const open: Array<Harness | Receiver> = [];
after(async () => { for (const o of open.reverse()) await o.close(); });

async function deliverOne(type: string, attrs: Record<string, string | number | boolean | string[]>, extra: Record<string, unknown> = {}, event = 'nis2.rate_limit.exceeded'): Promise<{ json: Record<string, unknown>; raw: string; headers: Record<string, unknown> }> {
  const receiver = await startReceiver();
  open.push(receiver);
  const h = harness([{ type, url: receiver.url, ...extra }]);
  open.push(h);
  h.emit(event, attrs);
  await waitFor(() => receiver.deliveries.length >= 1, `${type} delivery`, 5000);
  const d = receiver.deliveries[0]!;
  assert.match(String(d.headers['content-type']), /^application\/json/);
  assert.match(String(d.headers['x-nis2-delivery']), /^[0-9a-f-]{36}$/);
  return d;
}

type Obj = Record<string, unknown>;

describe('Slack', () => {
  test('posts Block Kit blocks: header, summary section, fields of at most 10, context with the record', async () => {
    const { json } = await deliverOne('slack', rateLimitAttrs());
    assert.equal(typeof json['text'], 'string', 'fallback text for notifications');
    assert.equal(json['unfurl_links'], false);
    const blocks = json['blocks'] as Obj[];
    assert.ok(Array.isArray(blocks) && blocks.length >= 3 && blocks.length <= 50);
    for (const b of blocks) assert.ok(['header', 'section', 'context'].includes(b['type'] as string), `unexpected block ${String(b['type'])}`);
    const header = blocks[0]!;
    assert.equal(header['type'], 'header');
    const headerText = header['text'] as Obj;
    assert.equal(headerText['type'], 'plain_text');
    assert.ok((headerText['text'] as string).length <= 150);
    assert.equal(headerText['text'], '[WARN] Rate limit exceeded · shop-api');
    const summary = (blocks[1]!['text'] as Obj);
    assert.equal(summary['type'], 'mrkdwn');
    assert.match(summary['text'] as string, /nis2\.rate_limit\.exceeded from client network 203\.0\.113\.0/);
    const fieldSections = blocks.filter((b) => b['fields']);
    assert.ok(fieldSections.length >= 1);
    const fields = fieldSections.flatMap((b) => b['fields'] as Obj[]);
    for (const s of fieldSections) assert.ok((s['fields'] as Obj[]).length <= 10, 'Slack allows 10 fields a section');
    for (const f of fields) {
      assert.equal(f['type'], 'mrkdwn');
      assert.ok((f['text'] as string).length <= 2000);
    }
    const texts = fields.map((f) => f['text']);
    assert.ok(texts.includes('*client.address*\n203.0.113.0'));
    assert.ok(texts.includes('*nis2.action*\nblock'));
    assert.ok(texts.includes('*user_agent.family*\nChrome/Windows'));
    const context = blocks.at(-1)!;
    assert.equal(context['type'], 'context');
    assert.match(((context['elements'] as Obj[])[0]!['text']) as string, /stream stream-1 · seq 1 · kid kid-1/);
  });

  test('escapes request-controlled text so it cannot ping @channel or form a link', async () => {
    const { raw, json } = await deliverOne('slack', rateLimitAttrs('198.51.100.0', { 'url.path': '/x/<!channel>/<https://evil.example|click here>' }));
    assert.ok(!raw.includes('<!channel>'), 'no raw mention');
    assert.ok(!raw.includes('<https://evil.example'), 'no raw link');
    const fields = (json['blocks'] as Obj[]).flatMap((b) => (b['fields'] as Obj[] | undefined) ?? []);
    assert.ok(fields.some((f) => f['text'] === '*url.path*\n/x/&lt;!channel&gt;/&lt;https://evil.example|click here&gt;'));
  });
});

describe('Microsoft Teams (Workflows webhook)', () => {
  test('posts a message with one Adaptive Card 1.5 attachment whose texts are all plain TextRuns', async () => {
    const { json } = await deliverOne('teams', rateLimitAttrs('192.0.2.0', { 'url.path': '/pay/[click](https://evil.example)/**bold**' }), {}, 'nis2.session.hijack_suspected');
    assert.equal(json['type'], 'message');
    const attachments = json['attachments'] as Obj[];
    assert.equal(attachments.length, 1);
    assert.equal(attachments[0]!['contentType'], 'application/vnd.microsoft.card.adaptive');
    const card = attachments[0]!['content'] as Obj;
    assert.equal(card['type'], 'AdaptiveCard');
    assert.equal(card['version'], '1.5');
    assert.equal(card['$schema'], 'http://adaptivecards.io/schemas/adaptive-card.json');
    const body = card['body'] as Obj[];
    assert.ok(Array.isArray(body) && body.length >= 3);
    const runs: string[] = [];
    const visit = (el: Obj): void => {
      // TextBlock and FactSet read markdown; hostile text must never be put in one.
      assert.ok(['RichTextBlock', 'ColumnSet', 'Column'].includes(el['type'] as string), `element type ${String(el['type'])}`);
      if (el['type'] === 'RichTextBlock') {
        for (const inline of el['inlines'] as Obj[]) {
          assert.equal(inline['type'], 'TextRun');
          assert.equal(typeof inline['text'], 'string');
          runs.push(inline['text'] as string);
        }
      }
      for (const c of (el['columns'] as Obj[] | undefined) ?? []) visit(c);
      for (const i of (el['items'] as Obj[] | undefined) ?? []) visit(i);
    };
    for (const el of body) visit(el);
    assert.equal(runs[0], '[WARN] Session hijack suspected · shop-api');
    const title = ((body[0]!['inlines'] as Obj[])[0]!);
    assert.equal(title['weight'], 'Bolder');
    assert.equal(title['color'], 'Warning');
    assert.ok(runs.includes('/pay/[click](https://evil.example)/**bold**'), 'the path is shown verbatim, as plain text');
    assert.ok(runs.includes('url.path'));
  });
});

describe('Discord', () => {
  test('posts one embed within Discord limits, with mentions disabled and markdown escaped', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 40; i++) many[`nis2.extra.field_${String(i).padStart(2, '0')}`] = 'v'.repeat(400);
    const longEvent = `nis2.custom.${'x'.repeat(300)}`;
    const { json } = await deliverOne('discord', rateLimitAttrs('203.0.113.0', { ...many, 'url.path': '/a/[click](https://evil.example) @everyone' }), {}, longEvent);
    assert.deepEqual(json['allowed_mentions'], { parse: [] });
    const embeds = json['embeds'] as Obj[];
    assert.equal(embeds.length, 1);
    const e = embeds[0]!;
    const title = e['title'] as string;
    const description = e['description'] as string;
    const fields = e['fields'] as Array<{ name: string; value: string; inline: boolean }>;
    const footer = (e['footer'] as Obj)['text'] as string;
    assert.ok(title.length <= 256, `title ${title.length}`);
    assert.ok(title.endsWith('…'), 'a long title is cut, not rejected');
    assert.ok(description.length <= 4096);
    assert.ok(fields.length >= 1 && fields.length <= 25);
    for (const f of fields) {
      assert.ok(f.name.length >= 1 && f.name.length <= 256);
      assert.ok(f.value.length >= 1 && f.value.length <= 1024);
    }
    const total = title.length + description.length + footer.length + fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
    assert.ok(total <= 6000, `embed total ${total} > 6000`);
    assert.equal(typeof e['color'], 'number');
    assert.ok(!Number.isNaN(Date.parse(e['timestamp'] as string)));
    const path = fields.find((f) => f.name === 'url.path');
    assert.ok(path, 'url.path comes early');
    assert.equal(path.value, '/a/\\[click\\]\\(https://evil.example\\) @everyone');
  });
});

describe('generic JSON signed with X-NIS2-Signature', () => {
  const secret = 'whsec_test_0123456789abcdef0123456789';

  test('the receiver authenticates the body with HMAC-SHA256 over "<t>.<body>" and a fresh timestamp', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { raw, json, headers } = await deliverOne('json', rateLimitAttrs(), { secret });
    const header = String(headers['x-nis2-signature']);
    // What a receiver written from the README does, with node:crypto only.
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
    assert.ok(m, header);
    const t = Number(m[1]);
    assert.ok(t >= before - 1 && t <= Math.floor(Date.now() / 1000) + 1, 'timestamp is the time of sending');
    const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest();
    assert.ok(timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')), 'signature verifies');
    assert.equal(verifyWebhookSignature({ secret, header, body: raw }), 'ok');
    assert.equal(verifyWebhookSignature({ secret, header, body: Buffer.from(raw) }), 'ok');

    assert.equal(json['type'], 'nis2.alert');
    assert.equal(json['version'], 1);
    assert.equal(json['id'], headers['x-nis2-delivery']);
    assert.equal(json['kind'], 'event');
    assert.equal(json['event'], 'nis2.rate_limit.exceeded');
    assert.equal(json['severity'], 'WARN');
    assert.equal(json['count'], 1);
    assert.equal(json['key'], '203.0.113.0');
    assert.equal(json['service'], 'shop-api');
    assert.deepEqual(json['record'], { stream: 'stream-1', seq: 1, kid: 'kid-1', ts: (json['record'] as Obj)['ts'] });
    assert.equal((json['attrs'] as Obj)['nis2.rate_limit.limit'], 5);
  });

  test('verification refuses a tampered body, a wrong secret, a replay outside the tolerance and a malformed header', async () => {
    const { raw, headers } = await deliverOne('json', rateLimitAttrs('198.51.100.0'), { secret });
    const header = String(headers['x-nis2-signature']);
    assert.equal(verifyWebhookSignature({ secret, header, body: raw.replace('198.51.100.0', '198.51.101.0') }), 'mismatch');
    assert.equal(verifyWebhookSignature({ secret: `${secret}x`, header, body: raw }), 'mismatch');
    assert.equal(verifyWebhookSignature({ secret, header, body: raw, nowMs: Date.now() + 301_000 }), 'expired');
    assert.equal(verifyWebhookSignature({ secret, header, body: raw, nowMs: Date.now() + 3_600_000, toleranceS: 7200 }), 'ok');
    assert.equal(verifyWebhookSignature({ secret, header: undefined, body: raw }), 'missing');
    for (const bad of ['v1=abc', 't=abc,v1=' + '0'.repeat(64), `t=1,v1=${'z'.repeat(64)}`, 'garbage', `${header},x`]) {
      assert.equal(verifyWebhookSignature({ secret, header: bad, body: raw }), 'malformed', bad);
    }
    // Rotation: any v1 entry may match.
    assert.equal(verifyWebhookSignature({ secret, header: header.replace('v1=', `v1=${'0'.repeat(64)},v1=`), body: raw }), 'ok');
  });

  test('the verification snippet in the README accepts a real delivery and refuses a tampered one', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /```js\n(import \{ createHmac, timingSafeEqual \} from 'node:crypto';\n[\s\S]*?function verifyNis2Webhook[\s\S]*?)```/.exec(readme);
    assert.ok(block, 'README has the snippet');
    const source = block[1]!.replace(/^import .*$/m, '');
    // Runs the documented code as a reader would paste it.
    const verify = new Function('createHmac', 'timingSafeEqual', 'Buffer', `${source}\nreturn verifyNis2Webhook;`)(createHmac, timingSafeEqual, Buffer) as
      (secret: string, header: string, raw: Buffer) => boolean;
    const { raw, headers } = await deliverOne('json', rateLimitAttrs('192.0.2.0'), { secret });
    const header = String(headers['x-nis2-signature']);
    assert.equal(verify(secret, header, Buffer.from(raw)), true);
    assert.equal(verify(secret, header, Buffer.from(raw.replace('192.0.2.0', '192.0.3.0'))), false);
    assert.equal(verify('wrong-secret-0123456789', header, Buffer.from(raw)), false);
    assert.equal(verify(secret, header.replace(/t=\d+/, `t=${Math.floor(Date.now() / 1000) - 600}`), Buffer.from(raw)), false);
  });
});
