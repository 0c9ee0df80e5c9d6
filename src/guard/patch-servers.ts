import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { AnyRequest, AnyResponse } from '../defenses/types.js';
import type { Decision, Guard } from './guard.js';

type Listener = (...args: unknown[]) => unknown;
type Adder = (this: unknown, event: string | symbol, listener: Listener) => unknown;

const ADDERS = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'] as const;
// once/prependOnceListener are rebuilt on the *original* on/prependListener: Node's own versions
// call the (patched) on with an internal wrapper, which would make the app's function unremovable.
const ONCE_BASE: Partial<Record<(typeof ADDERS)[number], 'on' | 'prependListener'>> = { once: 'on', prependOnceListener: 'prependListener' };
const ORIGINALS = Symbol.for('@nis2/otel.originalAdders');
const decisions = new WeakMap<object, Decision>();

// On globalThis under a registered symbol, like the patch marker: the ESM and CommonJS builds are
// two module instances (e.g. the register hook loaded as CJS, the app importing the ESM build), and
// both must see one active guard, whichever copy patched the servers.
const ACTIVE_GUARD = Symbol.for('@nis2/otel.activeGuard');
const slot = globalThis as typeof globalThis & { [ACTIVE_GUARD]?: Guard };

/** Sets the guard every wrapped listener consults; undefined makes them pass straight through. */
export function setActiveGuard(guard: Guard | undefined): void {
  slot[ACTIVE_GUARD] = guard;
}

/**
 * One decision per request even when a server has several `request` listeners: the first wrapped
 * listener decides, the others reuse its answer.
 */
function decisionFor(guard: Guard, req: AnyRequest, res: AnyResponse | undefined, socket: Duplex | undefined): Decision {
  let d = decisions.get(req);
  if (d === undefined) {
    d = guard.decide(req, res, socket);
    decisions.set(req, d);
  }
  return d;
}

function runDeferred(listener: Listener, self: unknown, args: unknown[]): void {
  try {
    Reflect.apply(listener, self, args);
  } catch (err) {
    // A synchronous throw from the app's handler must stay an uncaught exception, as it would
    // have been without the guard, not turn into an unhandled rejection.
    process.nextTick(() => { throw err; });
  }
}

function wrap(event: 'request' | 'upgrade', listener: Listener): Listener {
  const wrapped = function nis2Guarded(this: unknown, ...args: unknown[]): unknown {
    const guard = slot[ACTIVE_GUARD];
    if (guard === undefined) return Reflect.apply(listener, this, args);
    const req = args[0] as AnyRequest;
    const d = event === 'request'
      ? decisionFor(guard, req, args[1] as AnyResponse, undefined)
      : decisionFor(guard, req, undefined, args[1] as Duplex);
    if (d === true) return Reflect.apply(listener, this, args);
    if (d === false) return undefined;
    d.then((ok) => { if (ok) runDeferred(listener, this, args); }, (err: unknown) => {
      process.nextTick(() => { throw err; });
    });
    return undefined;
  };
  // EventEmitter#removeListener and #listeners look through `.listener`, so the app can still
  // remove or inspect its own function.
  (wrapped as Listener & { listener: Listener }).listener = listener;
  return wrapped;
}

function patchPrototype(proto: Record<string | symbol, unknown>): void {
  if (Object.prototype.hasOwnProperty.call(proto, ORIGINALS)) return;
  const originals: Partial<Record<(typeof ADDERS)[number], unknown>> = {};
  // The functions in effect before patching (own or inherited), for the once wrappers.
  const unpatched = Object.fromEntries(ADDERS.map((n) => [n, proto[n] as Adder])) as Record<(typeof ADDERS)[number], Adder>;
  for (const name of ADDERS) {
    const had = Object.prototype.hasOwnProperty.call(proto, name);
    originals[name] = had ? proto[name] : undefined;
    const original = proto[name] as Adder;
    const onceBase = ONCE_BASE[name];
    proto[name] = function nis2AddListener(this: unknown, event: string | symbol, listener: Listener): unknown {
      if ((event === 'request' || event === 'upgrade') && typeof listener === 'function') {
        if (onceBase === undefined) return original.call(this, event, wrap(event, listener));
        const guarded = wrap(event, listener);
        const add = unpatched[onceBase];
        const emitter = this as { removeListener(e: string | symbol, l: Listener): unknown };
        let fired = false;
        const onceWrapper = function nis2Once(this: unknown, ...args: unknown[]): unknown {
          emitter.removeListener(event, onceWrapper);
          if (fired) return undefined;
          fired = true;
          return Reflect.apply(guarded, this, args);
        };
        (onceWrapper as Listener & { listener: Listener }).listener = listener;
        return add.call(this, event, onceWrapper);
      }
      return original.call(this, event, listener);
    };
  }
  Object.defineProperty(proto, ORIGINALS, { value: originals, configurable: true });
}

function unpatchPrototype(proto: Record<string | symbol, unknown>): void {
  const originals = proto[ORIGINALS] as Partial<Record<(typeof ADDERS)[number], unknown>> | undefined;
  if (!originals || !Object.prototype.hasOwnProperty.call(proto, ORIGINALS)) return;
  for (const name of ADDERS) {
    if (originals[name] === undefined) delete proto[name];
    else proto[name] = originals[name];
  }
  delete proto[ORIGINALS];
}

/** Server prototypes whose `request`/`upgrade` listeners the guard wraps. */
function serverPrototypes(): Array<Record<string | symbol, unknown>> {
  const h2 = http2.createServer();
  const h2s = http2.createSecureServer({});
  const protos = [
    http.Server.prototype,
    https.Server.prototype,
    Object.getPrototypeOf(h2) as object,
    Object.getPrototypeOf(h2s) as object,
  ];
  h2.close();
  h2s.close();
  return protos as Array<Record<string | symbol, unknown>>;
}

/**
 * Wraps the listeners that servers register, instead of patching `emit` (which OpenTelemetry's
 * HTTP instrumentation wraps to open the server span): the guard then runs inside that span, before
 * the app's handler, on http, https and the http2 compatibility API alike.
 */
export function patchServers(): void {
  for (const proto of serverPrototypes()) patchPrototype(proto);
}

export function unpatchServers(): void {
  for (const proto of serverPrototypes()) unpatchPrototype(proto);
}
