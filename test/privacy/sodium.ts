// libsodium (compiled to WebAssembly) as the independent implementation of crypto_box_seal that
// the package's sealed values must interoperate with. Test-only: a devDependency.
import * as namespace from 'libsodium-wrappers';

export type Sodium = typeof namespace;

/** The initialised libsodium: its crypto functions live on the default export once `ready` settles. */
export async function loadSodium(): Promise<Sodium> {
  const sodium = (namespace as unknown as { default: Sodium }).default;
  await sodium.ready;
  return sodium;
}
