import type { KeySpec } from '../schema.js';

/** Configuration keys of the ip-lists concern (documented in the README table like every key). */
export const IP_LISTS_KEYS: readonly KeySpec[] = [];

/** Options of the ip-lists concern, as accepted in code and in the config file. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface IpListsOptions {}
