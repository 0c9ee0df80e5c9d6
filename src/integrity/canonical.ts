import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JCS) serialisation. The envelope's signature and hash chain are computed over these
 * bytes, so every implementation (ours, the SIEM-side verifiers, the test vectors) must agree on
 * them; a maintained JCS library keeps number and string formatting exactly per the RFC.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}
