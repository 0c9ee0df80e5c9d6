import type { KeySpec } from '../schema.js';

/** Configuration keys of the login concern (documented in the README table like every key). */
export const LOGIN_KEYS: readonly KeySpec[] = [];

/** Options of the login concern, as accepted in code and in the config file. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface LoginOptions {}
