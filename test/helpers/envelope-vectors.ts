// The independent envelope-v1 vectors (DESIGN §4), shared with the other implementations.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const VECTORS_DIR = fileURLToPath(new URL('../../../shared/vectors/envelope-v1/', import.meta.url));

export const vectorKeys = JSON.parse(readFileSync(`${VECTORS_DIR}keys.json`, 'utf8')) as {
  ed25519: { seed_base64: string; seed_base64url: string; tweetnacl_secret_key_base64: string; public_key_base64url: string; kid: string };
  hmac_sha256: { key_base64: string; kid_source: string; kid: string };
};

export function vectorPath(name: string): string {
  return `${VECTORS_DIR}${name}`;
}

/** The lines of a vector file, split on \n only (valid-chain.jsonl holds a U+2028). */
export function vectorLines(name: string): string[] {
  const lines = readFileSync(vectorPath(name), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
