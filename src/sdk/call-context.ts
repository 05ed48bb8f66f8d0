/**
 * @module sdk/call-context
 * The request a service is handling now, held in AsyncLocalStorage so that the calls its
 * handler makes to other services carry its trace, its request id and what is left of its
 * deadline without being passed them. `traceHandler` (server-span.ts) sets it for each
 * request; `withCallContext` sets it for any other kind of handler. Also counts the requests
 * being handled, so that closing a registration can wait for them.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Context } from "@opentelemetry/api";

/** What a request being handled passes on to the calls made while handling it. */
export interface CallContext {
  /** The request's id: sent as `x-request-id` on every call made for it. */
  requestId?: string;
  /** Trace context the calls' client spans are children of (the handler's server span). */
  trace?: Context;
  /** When the request's caller stops waiting (`Date.now()` time); calls made for it end by then. */
  deadline?: number;
}

const storage = new AsyncLocalStorage<CallContext>();

/** The context of the request being handled, if the caller runs inside one. */
export function currentCallContext(): CallContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` as the handling of a request with this context: calls made by `serviceClient`
 * clients inside it (however deep, across awaits) carry its request id, trace and deadline.
 *
 * @example
 * ```ts
 * app.use((req, res, next) =>
 *   withCallContext({ requestId: req.headers["x-request-id"] }, next));
 * ```
 */
export function withCallContext<T>(context: CallContext, fn: () => T): T {
  return storage.run(context, fn);
}

let handling = 0;
const idleWaiters = new Set<() => void>();

/** A request started being handled (see traceHandler). */
export function handlingStarted(): void {
  handling++;
}

/** A request's handling ended, its response finished or abandoned. */
export function handlingEnded(): void {
  handling--;
  if (handling > 0) return;
  for (const wake of idleWaiters) wake();
  idleWaiters.clear();
}

/** Resolves once no request is being handled, or after `timeoutMs`, whichever is first. */
export function handlersIdle(timeoutMs: number): Promise<void> {
  if (handling <= 0 || timeoutMs <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      idleWaiters.delete(done);
      resolve();
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    idleWaiters.add(done);
  });
}
