import { createHmac, timingSafeEqual } from 'node:crypto';

/** Name of the header that authenticates a `json` webhook. */
export const SIGNATURE_HEADER = 'X-NIS2-Signature';
/** Default tolerance of {@link verifyWebhookSignature}: a signature older (or newer) than this is a replay. */
export const DEFAULT_TOLERANCE_S = 300;
const MAX_HEADER = 4096;

function mac(secret: string, timestamp: number, body: string | Buffer): string {
  const h = createHmac('sha256', secret).update(`${timestamp}.`, 'utf8');
  return (typeof body === 'string' ? h.update(body, 'utf8') : h.update(body)).digest('hex');
}

/**
 * The `X-NIS2-Signature` value for one delivery attempt: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>">` (Stripe's scheme). The timestamp is inside the MAC, so a receiver that checks it
 * against its clock rejects replays of an old delivery; each retry is signed afresh.
 */
export function signWebhookBody(secret: string, body: string, nowMs: number = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

/** Options of {@link verifyWebhookSignature}. */
export interface VerifyWebhookSignatureInput {
  readonly secret: string;
  /** The `X-NIS2-Signature` header as received. */
  readonly header: string | undefined;
  /** The raw request body, exactly as received (before any JSON parsing). */
  readonly body: string | Buffer;
  /** Seconds the timestamp may differ from now; defaults to 300. */
  readonly toleranceS?: number;
  readonly nowMs?: number;
}

/** Why {@link verifyWebhookSignature} refused a delivery; `ok` when it passed. */
export type WebhookSignatureVerdict = 'ok' | 'missing' | 'malformed' | 'expired' | 'mismatch';

/**
 * Receiver side of the `json` webhook: checks the header's timestamp against the clock (replays
 * older than the tolerance fail) and compares the MAC in constant time. Any `v1=` entry may match,
 * so a sender can sign with an old and a new secret during a rotation.
 */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): WebhookSignatureVerdict {
  const header = input.header;
  if (header === undefined || header === '') return 'missing';
  if (header.length > MAX_HEADER) return 'malformed';
  let t: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return 'malformed';
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't') {
      if (!/^\d{1,12}$/.test(value)) return 'malformed';
      t = Number(value);
    } else if (name === 'v1') {
      if (!/^[0-9a-f]{64}$/.test(value)) return 'malformed';
      candidates.push(value);
    }
  }
  if (t === undefined || candidates.length === 0) return 'malformed';
  const now = Math.floor((input.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - t) > (input.toleranceS ?? DEFAULT_TOLERANCE_S)) return 'expired';
  const expected = Buffer.from(mac(input.secret, t, input.body), 'hex');
  let match = false;
  for (const c of candidates) match = timingSafeEqual(expected, Buffer.from(c, 'hex')) || match;
  return match ? 'ok' : 'mismatch';
}
