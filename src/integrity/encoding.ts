import { createHash, hash } from 'node:crypto';

/** base64url without padding, the encoding every envelope field uses. */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Decodes standard base64 or base64url, with or without padding. Returns undefined when the text is
 * not base64 at all, so callers can name the offending config key instead of throwing a bare error.
 */
export function fromBase64Any(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(trimmed) || trimmed.length === 0) return undefined;
  const b64 = trimmed.replace(/-/g, '+').replace(/_/g, '/');
  return Buffer.from(b64, 'base64');
}

/** base64url(SHA-256(UTF-8 bytes)): the `prev` link between envelope bodies (DESIGN §4). */
export function hashBody(body: string): string {
  // One-shot hash: no Hash object per record (measured ≈ 1 µs of the chain-mode cost per record).
  return hash('sha256', body, 'base64url');
}

/** Key id: base64url of the first 8 bytes of SHA-256 over the given bytes (DESIGN §4). */
export function keyIdOf(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest().subarray(0, 8).toString('base64url');
}
