import type { AnyRequest } from './defenses/types.js';
import { activeLoginDefense } from './defenses/login.js';

/**
 * Reports a failed login for this request (and username, pseudonymised in events). Use it when the
 * app answers failures with a status outside `login.failureStatuses`, or to give the username.
 * Returns whether this failure started a lockout. A no-op without login tracking configured.
 */
export function trackLoginFailure(req: AnyRequest | object, username?: string): { locked: boolean } {
  return activeLoginDefense()?.trackFailure(req as AnyRequest, username) ?? { locked: false };
}

/** Reports a successful login: the username's failure count is cleared. */
export function trackLoginSuccess(req: AnyRequest | object, username?: string): void {
  activeLoginDefense()?.trackSuccess(req as AnyRequest, username);
}

/** Whether the request's address or the username is locked out of the login routes right now. */
export function isLoginLocked(req: AnyRequest | object, username?: string): boolean {
  return activeLoginDefense()?.isLocked(req as AnyRequest, username) ?? false;
}

export { setUser } from './guard/request-user.js';
export type { RequestUser } from './guard/request-user.js';
