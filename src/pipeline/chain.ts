/**
 * @module pipeline/chain
 * A route's plugins, compiled once at load into one list of hooks per phase (empty
 * phases left out), and the runner that calls them. A synchronous hook costs a call; the
 * runner only turns asynchronous at the first hook that returns a promise.
 */
import type { ErrorCode } from "../errors.ts";
import { fallbackLogger, type Logger } from "../observability/logger.ts";
import { type RequestContext, runnerState } from "./context.ts";
import type { PluginHooks, ResponseView } from "./plugin.ts";

type RequestHook = (ctx: RequestContext) => void | Promise<void>;

/** A configured plugin as the chain sees it. */
export interface ChainEntry {
  priority: number;
  /** Breaks priority ties, so every chain built from the same plugins runs them in one order. */
  name?: string;
  hooks: PluginHooks;
  /** Where the plugin's failures are written (its `scope.log`). */
  log?: Logger;
}

/** The hooks of one route, per phase, in the order they run. */
export interface Chain {
  /** onRequest, access and beforeUpstream, flattened: they run back to back. */
  request: RequestHook[];
  response: ((ctx: RequestContext, response: ResponseView) => void | Promise<void>)[];
  log: ((ctx: RequestContext) => void)[];
  /** onUpstreamFailure hooks, in onResponse order; absent when no plugin has one. */
  failure?: ((ctx: RequestContext, code: ErrorCode) => void)[];
  /**
   * Chains for consumers that have plugins of their own. When a hook names such a
   * consumer, the request goes on in that consumer's chain, after the hook that named it.
   */
  byConsumer?: ReadonlyMap<string, ConsumerChain>;
  /** The plugins that describe themselves to the admin API's runtime view, by name. */
  described?: ReadonlyMap<string, PluginHooks>;
}

/** A consumer's chain, and where to resume in it after each request hook of the route's chain. */
export interface ConsumerChain {
  chain: Chain;
  /** resume[i]: the index in `chain.request` that follows the route chain's request hook i. */
  resume: readonly number[];
}

const requestPhases = ["onRequest", "access", "beforeUpstream"] as const;

/** Position of a request hook: phase, then priority (high first), then name. */
type HookKey = [phase: number, priority: number, name: string];

function ordered(plugins: readonly ChainEntry[]): ChainEntry[] {
  return [...plugins].sort(
    (a, b) => b.priority - a.priority || (a.name ?? "").localeCompare(b.name ?? ""),
  );
}

function requestHookKeys(plugins: readonly ChainEntry[]): HookKey[] {
  const keys: HookKey[] = [];
  requestPhases.forEach((phase, index) => {
    for (const { hooks, priority, name } of plugins) {
      if (hooks[phase]) keys.push([index, priority, name ?? ""]);
    }
  });
  return keys;
}

function runsAfter(a: HookKey, b: HookKey): boolean {
  return a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] > b[2];
}

/**
 * Builds a chain from configured plugins, highest priority first (onResponse runs in the
 * reverse order, as it unwinds). Returns undefined when no plugin has any hook, unless
 * some consumer has plugins of its own (`consumers`: each consumer's full plugin list).
 */
export function compileChain(
  plugins: readonly ChainEntry[],
  consumers?: ReadonlyMap<string, readonly ChainEntry[]>,
): Chain | undefined {
  const sorted = ordered(plugins);
  const chain: Chain = { request: [], response: [], log: [] };
  for (const phase of requestPhases) {
    for (const { hooks } of sorted) {
      const hook = hooks[phase];
      if (hook) chain.request.push(hook.bind(hooks));
    }
  }
  for (const { hooks } of [...sorted].reverse()) {
    if (hooks.onResponse) chain.response.push(hooks.onResponse.bind(hooks));
  }
  const failure = [...sorted]
    .reverse()
    .filter(({ hooks }) => hooks.onUpstreamFailure)
    .map(({ hooks }) => hooks.onUpstreamFailure!.bind(hooks));
  if (failure.length > 0) chain.failure = failure;
  for (const entry of sorted) if (entry.hooks.onLog) chain.log.push(reportingLogHook(entry));
  const described = sorted.filter((entry) => entry.hooks.describe && entry.name);
  if (described.length > 0) {
    chain.described = new Map(described.map((entry) => [entry.name!, entry.hooks]));
  }
  if (consumers && consumers.size > 0) {
    const routeKeys = requestHookKeys(sorted);
    const byConsumer = new Map<string, ConsumerChain>();
    for (const [name, entries] of consumers) {
      const own = compileChain(entries) ?? { request: [], response: [], log: [] };
      const ownKeys = requestHookKeys(ordered(entries));
      const resume = routeKeys.map((key) => {
        const at = ownKeys.findIndex((candidate) => runsAfter(candidate, key));
        return at === -1 ? ownKeys.length : at;
      });
      byConsumer.set(name, { chain: own, resume });
    }
    chain.byConsumer = byConsumer;
    return chain;
  }
  const empty =
    chain.request.length + chain.response.length + chain.log.length === 0 && !chain.failure;
  return empty ? undefined : chain;
}

/**
 * Runs the request-side hooks until one answers the request. Returns undefined when all
 * ran synchronously, else a promise of their end; a hook that throws rejects it. The
 * request goes on in the route's chain, or in the chain of the consumer a hook named, if
 * that consumer has plugins of its own: `runnerState.chain(ctx)` is the one it ran.
 */
export function runRequestHooks(chain: Chain, ctx: RequestContext): Promise<void> | undefined {
  runnerState.setChain(ctx, chain);
  for (let i = 0; i < chain.request.length; ) {
    if (ctx.answer) return undefined;
    const result = chain.request[i]!(ctx);
    if (result instanceof Promise) return continueAsync(chain, i, ctx, result);
    const own = consumerChain(chain, ctx);
    if (own === undefined) i++;
    else {
      chain = own.chain;
      runnerState.setChain(ctx, chain);
      i = own.resume[i]!;
    }
  }
  return undefined;
}

async function continueAsync(
  chain: Chain,
  at: number,
  ctx: RequestContext,
  pending: Promise<void>,
) {
  await pending;
  for (let i = at; ; ) {
    const own = consumerChain(chain, ctx);
    if (own === undefined) i++;
    else {
      chain = own.chain;
      runnerState.setChain(ctx, chain);
      i = own.resume[i]!;
    }
    if (i >= chain.request.length || ctx.answer) return;
    await chain.request[i]!(ctx);
  }
}

/** The chain of the consumer a hook named, when that consumer has plugins of its own. */
function consumerChain(chain: Chain, ctx: RequestContext): ConsumerChain | undefined {
  return chain.byConsumer !== undefined && ctx.consumer !== undefined
    ? chain.byConsumer.get(ctx.consumer.name)
    : undefined;
}

/**
 * Lets every onResponse hook from `from` on see (and change) the response headers, until
 * one replaces the response (`ctx.respond`): the runner stops there and notes where the
 * rest resume (`runnerState.resumeAt`), to add their headers to the replacement. On an
 * answer (a request-side hook's, or a replacement) every hook runs and none may replace
 * it. Returns undefined when all ran synchronously, else a promise of their end: only
 * then does the response wait.
 */
export function runResponseHooks(
  chain: Chain,
  ctx: RequestContext,
  response: ResponseView,
  from = 0,
): Promise<void> | undefined {
  const answered = ctx.answer;
  if (answered !== undefined) runnerState.seal(ctx);
  const hooks = chain.response;
  for (let i = from; i < hooks.length; i++) {
    const result = hooks[i]!(ctx, response);
    if (result instanceof Promise) {
      return continueResponse(chain, i, ctx, response, answered, result);
    }
    if (ctx.answer !== answered) {
      runnerState.setResumeAt(ctx, i + 1);
      return undefined;
    }
  }
  return undefined;
}

async function continueResponse(
  chain: Chain,
  at: number,
  ctx: RequestContext,
  response: ResponseView,
  answered: RequestContext["answer"],
  pending: Promise<void>,
): Promise<void> {
  await pending;
  for (let i = at + 1; i <= chain.response.length; i++) {
    if (ctx.answer !== answered) {
      runnerState.setResumeAt(ctx, i);
      return;
    }
    if (i < chain.response.length) await chain.response[i]!(ctx, response);
  }
}

/**
 * Lets the onUpstreamFailure hooks answer instead of the gateway's error for `code`; true
 * when one did (`ctx.answer`). A hook that throws is the caller's to report.
 */
export function runFailureHooks(chain: Chain, ctx: RequestContext, code: ErrorCode): boolean {
  const hooks = chain.failure;
  if (hooks === undefined) return false;
  const answered = ctx.answer;
  for (const hook of hooks) {
    hook(ctx, code);
    if (ctx.answer !== answered) return true;
  }
  return false;
}

/** Runs the onLog hooks; a failing one is reported (see reportingLogHook), never thrown. */
export function runLogHooks(chain: Chain, ctx: RequestContext): void {
  for (const hook of chain.log) hook(ctx);
}

/**
 * The entry's onLog hook, writing a failure to the plugin's log: the response is gone,
 * so no one else could hear of it, and the other plugins' hooks must still run.
 */
function reportingLogHook({ hooks, name, log }: ChainEntry): (ctx: RequestContext) => void {
  const hook = hooks.onLog!.bind(hooks);
  return (ctx) => {
    try {
      hook(ctx);
    } catch (error) {
      (log ?? fallbackLogger).error(
        { err: error, hook: "onLog", requestId: ctx.requestId, ...(log ? {} : { plugin: name }) },
        "plugin hook failed",
      );
    }
  };
}
