import type { AttributeValue, Attributes } from '@opentelemetry/api';
import { uaFamily } from '../defenses/ua-family.js';
import { normalizeIp } from '../net/ip.js';
import { anonymizeIp, type AnonymizeOptions } from '../privacy/anonymize.js';
import type { AlertAttrValue } from './types.js';

/**
 * What may leave the process in a webhook. A chat channel is a far wider audience than a SIEM, so
 * this is an allow-list, not a deny-list: attributes not named here (raw user agents, `user.*`
 * values, anything a future defense adds) are dropped, and every string that does go out is
 * scrubbed of addresses and e-mail addresses once more, in case one slipped into a path or reason.
 */
const ALLOWED = new Set([
  'client.address', 'network.peer.address', 'http.request.method', 'http.route', 'http.response.status_code',
  'url.path', 'security_rule.name', 'security_rule.category', 'session.id', 'service.name',
]);
/** Pipeline bookkeeping that says where the signed record is, kept apart from the shown attributes. */
const RECORD_KEYS = new Set(['nis2.stream', 'nis2.seq', 'nis2.kid']);
const IP_KEYS = new Set(['client.address', 'network.peer.address']);
const MAX_STRING = 256;
const MAX_ARRAY = 20;
/** Sealed PII (`nis2enc:1:…`) is useless in a chat message and stays in the signed log. */
const SEALED_PREFIX = 'nis2enc:';

// Candidates only: each is parsed as an address before anything is replaced.
// The dotted tail is tried first, so `::ffff:198.51.100.99` is taken whole, not as `::ffff:198` + a leaked rest.
const IPV6_CANDIDATE = /(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?/g;
const IPV4_CANDIDATE = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const EMAIL = /[^\s@<>()[\]{},;:"'/]+@[^\s@<>()[\]{},;:"'/]+\.[A-Za-z]{2,}/g;

function isKept(key: string): boolean {
  return ALLOWED.has(key) || key.endsWith('.hash') || (key.startsWith('nis2.') && !RECORD_KEYS.has(key));
}

/** Replaces every address in `text` with its anonymised prefix and every e-mail address with `[email]`. */
export function scrubText(text: string, privacy: AnonymizeOptions): string {
  const replaceIp = (m: string): string => {
    const ip = normalizeIp(m);
    return ip === undefined ? m : anonymizeIp(ip, privacy);
  };
  return text.replace(IPV6_CANDIDATE, replaceIp).replace(IPV4_CANDIDATE, replaceIp).replace(EMAIL, '[email]');
}

function cap(text: string): string {
  return text.length > MAX_STRING ? `${text.slice(0, MAX_STRING - 1)}…` : text;
}

function scrubValue(value: AttributeValue | undefined, privacy: AnonymizeOptions): AlertAttrValue | undefined {
  if (typeof value === 'string') return value.startsWith(SEALED_PREFIX) ? undefined : cap(scrubText(value, privacy));
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    const out: Array<string | number | boolean | null> = [];
    for (const v of value.slice(0, MAX_ARRAY)) {
      if (v === null || v === undefined) out.push(null);
      else if (typeof v === 'string') { if (!v.startsWith(SEALED_PREFIX)) out.push(cap(scrubText(v, privacy))); }
      else if (typeof v === 'number' || typeof v === 'boolean') out.push(v);
    }
    return out;
  }
  return undefined;
}

/**
 * The attributes of a signed `nis2.*` record reduced to what a webhook may carry: the allow-list
 * above, addresses anonymised again (idempotent on the emitter's prefixes, a safety net for a
 * record that bypassed it), the user agent replaced by its family, the query string cut off.
 */
export function redactAttributes(attributes: Attributes, privacy: AnonymizeOptions): Record<string, AlertAttrValue> {
  const out: Record<string, AlertAttrValue> = {};
  for (const key in attributes) {
    const raw = attributes[key];
    if (key === 'user_agent.original') {
      if (typeof raw === 'string') out['user_agent.family'] = uaFamily(raw);
      continue;
    }
    if (!isKept(key)) continue;
    if (IP_KEYS.has(key)) {
      if (typeof raw !== 'string') continue;
      const ip = normalizeIp(raw);
      out[key] = ip === undefined ? (raw === 'invalid' ? raw : 'invalid') : anonymizeIp(ip, privacy);
      continue;
    }
    const value = key === 'url.path' && typeof raw === 'string' ? raw.split('?', 1)[0] : raw;
    const clean = scrubValue(value, privacy);
    if (clean !== undefined) out[key] = clean;
  }
  return out;
}
