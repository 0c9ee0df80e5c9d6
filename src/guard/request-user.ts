import type { AnyRequest } from '../defenses/types.js';

/** The user an app attached to a request. */
export interface RequestUser {
  readonly id: string;
}

const users = new WeakMap<object, RequestUser>();

/**
 * Tells @nis2/otel who the request's user is, so the access record and the events written after
 * this point carry the user's pseudonym (`user.id.hash`; the id itself is never logged).
 * Call it from your auth middleware: `setUser(req, { id: user.id })`.
 */
export function setUser(req: AnyRequest | object, user: RequestUser): void {
  if (user && typeof user.id === 'string' && user.id.length > 0) users.set(req, { id: user.id });
}

export function getUser(req: AnyRequest | object): RequestUser | undefined {
  return users.get(req);
}
