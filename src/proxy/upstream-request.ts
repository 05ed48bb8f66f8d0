/**
 * @module proxy/upstream-request
 * Where a routed request goes and what is sent there: the service (a plugin may pick
 * another), a target from it, and the upstream method, path, query and headers after the
 * plugins' changes (see ctx.setUpstream).
 */
import type { IncomingMessage } from "node:http";
import type { ErrorCode } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { type RequestContext, runnerState, type UpstreamChange } from "../pipeline/context.ts";
import type { CompiledRoute } from "../runtime/runtime.ts";
import type { Routed } from "../server/admission.ts";
import type { SelectionRequest } from "../upstream/selectors/selector.ts";
import type { Service } from "../upstream/service.ts";
import type { Target } from "../upstream/target.ts";
import { type ClientAddressResolver, createTrustedPeerTest, unmapIPv4 } from "./client-address.ts";
import { setHeader, upstreamRequestHeaders } from "./headers.ts";

/** Where a request goes once it has been routed and a target picked. */
export interface Destination {
  route: CompiledRoute;
  service: Service;
  target: Target;
  selection: SelectionRequest;
  /** The client's Host when the route preserves it. */
  preservedHost: string | undefined;
  method: string;
  path: string;
  /** Upstream headers, `host` first. */
  headers: string[];
  /** A `Set-Cookie` for the response: the route's split gave the client its sticky bucket. */
  setCookie: string | undefined;
}

/**
 * Picks a target and writes the upstream headers for a routed request; answers through
 * `fail` (and returns undefined) when a plugin named an unknown service or no target is
 * available.
 */
export type DestinationBuilder = (
  req: IncomingMessage,
  requestId: string,
  routed: Routed,
  ctx: RequestContext | undefined,
  fail: (code: ErrorCode) => undefined,
) => Destination | undefined;

/** Applies plugins' upstream header changes to a flat header list (never `host`, the first pair). */
function applyHeaderChanges(
  headers: string[],
  changes: readonly [string, string | undefined][],
): void {
  for (const [name, value] of changes) if (name !== "host") setHeader(headers, name, value, 2);
}

/** The query (with its `?`) without the arguments plugins removed. */
function withoutRemoved(query: string, removed: readonly string[]): string {
  if (removed.length === 0 || query === "") return query;
  const params = new URLSearchParams(query.slice(1));
  for (const name of removed) params.delete(name);
  const rest = params.toString();
  return rest === "" ? "" : `?${rest}`;
}

/** The upstream path and query when a plugin changed either (see ctx.setUpstream). */
function upstreamPathOf(
  change: Readonly<UpstreamChange>,
  rewritten: string,
  query: string,
  removed: readonly string[],
): string {
  const chosen = change.query === undefined ? query : change.query === "" ? "" : `?${change.query}`;
  return (change.path ?? rewritten) + withoutRemoved(chosen, removed);
}

/**
 * Builds the destination step for one static config. The client address resolver is the
 * request handler's own (one compiled trust list for both); `log` takes a plugin's
 * choice of a service that does not exist, the gateway's fault rather than the client's.
 */
export function createDestinationBuilder(
  trustedProxies: readonly string[],
  clientAddress: ClientAddressResolver,
  log: Logger,
): DestinationBuilder {
  const peerTrusted = createTrustedPeerTest(trustedProxies);

  return function destination(
    req: IncomingMessage,
    requestId: string,
    { match, authority, path, query, services }: Routed,
    ctx: RequestContext | undefined,
    fail: (code: ErrorCode) => undefined,
  ): Destination | undefined {
    const route = match.value;
    const change = ctx && runnerState.upstreamChange(ctx);
    let service: Service | undefined = route.service;
    let setCookie: string | undefined;
    if (change?.service !== undefined) service = services.get(change.service);
    else if (route.split) {
      // A plugin's explicit choice wins; else the split picks among the route's services.
      const choice = route.split.pick(req.headers, ctx?.consumer?.name);
      service = choice.service;
      setCookie = choice.setCookie;
    }
    if (!service) {
      log.error({ requestId, service: change!.service }, "a plugin chose an unknown service");
      return fail("GATEHOUSE_INTERNAL");
    }
    const selection: SelectionRequest = {
      clientAddress: ctx?.clientAddress ?? clientAddress(req),
      headers: req.headers,
      path,
      query: query.slice(1),
      consumer: ctx?.consumer?.name,
    };
    const target = service.select(selection);
    if (!target) return fail("GATEHOUSE_NO_AVAILABLE_TARGET");
    const peer = unmapIPv4(req.socket.remoteAddress ?? "");
    const headers = upstreamRequestHeaders({
      rawHeaders: req.rawHeaders,
      connection: req.headers.connection,
      peerTrusted: peerTrusted(peer),
      peerAddress: peer,
      protocol: (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http",
      host: authority,
      upstreamHost: route.preserveHost && authority ? authority : target.authority,
      requestId,
    });
    // Before the plugins' changes, so the identity they set is the one that is sent.
    for (const name of route.identityHeaders) setHeader(headers, name, undefined, 2);
    const headerChanges = ctx && runnerState.upstreamHeaders(ctx);
    if (headerChanges) applyHeaderChanges(headers, headerChanges);
    return {
      route,
      service,
      target,
      selection,
      preservedHost: route.preserveHost && authority ? authority : undefined,
      method: change?.method ?? req.method!,
      path: change
        ? upstreamPathOf(change, route.rewrite(path, match.pattern), query, ctx!.removedQuery)
        : route.rewrite(path, match.pattern) +
          (ctx ? withoutRemoved(query, ctx.removedQuery) : query),
      headers,
      setCookie,
    };
  };
}
