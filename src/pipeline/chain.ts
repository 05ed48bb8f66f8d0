/**
 * @module pipeline/chain
 * A route's plugins, compiled once at load into one list of hooks per phase (empty
 * phases left out), and the runner that calls them. A synchronous hook costs a call; the
 * runner only turns asynchronous at the first hook that returns a promise.
 */
import type { RequestContext } from "./context.ts";
import type { PluginHooks, ResponseView } from "./plugin.ts";

type RequestHook = (ctx: RequestContext) => void | Promise<void>;

/** The hooks of one route, per phase, in the order they run. */
export interface Chain {
  /** onRequest, access and beforeUpstream, flattened: they run back to back. */
  request: RequestHook[];
  response: ((ctx: RequestContext, response: ResponseView) => void)[];
  log: ((ctx: RequestContext) => void)[];
}

/**
 * Builds a chain from configured plugins, highest priority first (onResponse runs in the
 * reverse order, as it unwinds). Returns undefined when no plugin has any hook.
 */
export function compileChain(
  plugins: readonly { priority: number; hooks: PluginHooks }[],
): Chain | undefined {
  const ordered = [...plugins].sort((a, b) => b.priority - a.priority);
  const chain: Chain = { request: [], response: [], log: [] };
  for (const phase of ["onRequest", "access", "beforeUpstream"] as const) {
    for (const { hooks } of ordered) {
      const hook = hooks[phase];
      if (hook) chain.request.push(hook.bind(hooks));
    }
  }
  for (const { hooks } of [...ordered].reverse()) {
    if (hooks.onResponse) chain.response.push(hooks.onResponse.bind(hooks));
  }
  for (const { hooks } of ordered) if (hooks.onLog) chain.log.push(hooks.onLog.bind(hooks));
  const empty = chain.request.length + chain.response.length + chain.log.length === 0;
  return empty ? undefined : chain;
}

/**
 * Runs the request-side hooks until one answers the request. Returns undefined when all
 * ran synchronously, else a promise of their end; a hook that throws rejects it.
 */
export function runRequestHooks(chain: Chain, ctx: RequestContext): Promise<void> | undefined {
  const hooks = chain.request;
  for (let i = 0; i < hooks.length; i++) {
    if (ctx.answer) return undefined;
    const result = hooks[i]!(ctx);
    if (result instanceof Promise) return continueAsync(hooks, i + 1, ctx, result);
  }
  return undefined;
}

async function continueAsync(
  hooks: readonly RequestHook[],
  from: number,
  ctx: RequestContext,
  pending: Promise<void>,
): Promise<void> {
  await pending;
  for (let i = from; i < hooks.length && !ctx.answer; i++) await hooks[i]!(ctx);
}

/** Lets every onResponse hook see (and change) the response headers. */
export function runResponseHooks(chain: Chain, ctx: RequestContext, response: ResponseView): void {
  for (const hook of chain.response) hook(ctx, response);
}

/** Runs the onLog hooks; a failing one is reported and never reaches the client. */
export function runLogHooks(chain: Chain, ctx: RequestContext): void {
  for (const hook of chain.log) {
    try {
      hook(ctx);
    } catch (error) {
      process.emitWarning(error as Error);
    }
  }
}
