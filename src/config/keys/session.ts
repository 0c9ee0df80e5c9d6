import type { KeySpec } from '../schema.js';

/** Configuration keys of the session concern (documented in the README table like every key). */
export const SESSION_KEYS: readonly KeySpec[] = [];

/** Options of the session concern, as accepted in code and in the config file. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SessionOptions {}
