/**
 * Loads an isolate shares between concurrent requests: a model version, ORT's backend, a
 * tenant's trending list or config (design 0030).
 *
 * workerd ties I/O to the request that started it, and keeps a request alive only while it has
 * pending events of its own (I/O, timers); one left with none is cancelled as hung (a 500). A
 * request that awaits a promise another request started has no event of its own for it: when
 * the starting request goes away (cancelled, over a limit) its I/O goes with it, the promise
 * never settles, and the waiter hangs until its client gives up or workerd cancels it. So a
 * request joins a shared load only through `awaitShared`: its own timer keeps it alive, takes the
 * outcome in its own context, and bounds the wait. A load that outlived a whole wait is presumed
 * abandoned (`isAbandoned`): the next request drops it and starts a fresh one.
 */

/** A load one request started and others may join, kept in a per-isolate cache. */
export interface SharedLoad<T> {
  readonly promise: Promise<T>;
  /** How long a joining request waits for it. */
  readonly maxMs: number;
  /** Set by the starter's own continuation when the promise settles. */
  settled: boolean;
  /** Set when a request waited `maxMs` for it in vain. */
  outwaited: boolean;
}

/** A request gave up waiting for a load another request started: still pending after `maxMs`. */
export class SharedLoadTimeout extends Error {
  override readonly name = "SharedLoadTimeout";
  readonly code = "shared_load_timeout";
  constructor(readonly maxMs: number) {
    super(`a load shared with another request was still pending after ${maxMs} ms (its request was probably cancelled)`);
  }
}

/** Wraps a load the calling request has just started, for other requests to join for up to `maxMs` each. */
export function shareLoad<T>(promise: Promise<T>, maxMs: number): SharedLoad<T> {
  const load: SharedLoad<T> = { promise, maxMs, settled: false, outwaited: false };
  const done = () => {
    load.settled = true;
  };
  // Registered now, in the starter's context, so it runs the moment the load settles.
  promise.then(done, done);
  return load;
}

/** True for a load a request already waited for in vain: drop it and start a fresh one. */
export function isAbandoned(load: SharedLoad<unknown>): boolean {
  return load.outwaited && !load.settled;
}

// How often a waiting request looks at the load itself, so it never depends on workerd delivering
// the starter's resolution to it (a continuation across requests can be dropped).
const TICK_MS = 50;

/**
 * Awaits a load that may be another request's, from any request. A timer of the calling request
 * ticks until the load settles, which keeps the request alive and lets it take the outcome in its
 * own context; after `load.maxMs` (or later: ticks run late while the isolate is busy) it rejects
 * with `SharedLoadTimeout` and marks the load abandoned.
 */
export function awaitShared<T>(load: SharedLoad<T>): Promise<T> {
  if (load.settled) return load.promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const polled = new Promise<T>((resolve, reject) => {
    let left = load.maxMs;
    const tick = () => {
      if (load.settled) return resolve(load.promise);
      if (left <= 0) {
        load.outwaited = true;
        return reject(new SharedLoadTimeout(load.maxMs));
      }
      timer = setTimeout(tick, Math.min(TICK_MS, left));
      left -= TICK_MS;
    };
    tick();
  });
  return Promise.race([load.promise, polled]).finally(() => clearTimeout(timer));
}
