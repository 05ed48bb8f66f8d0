/**
 * @module proxy/forward-request
 * What the request handler gives the proxy to forward one request: where it goes, what
 * is sent, and what of the request's plugins the response still needs.
 */
import type { IncomingMessage } from "node:http";
import type { Logger } from "../observability/logger.ts";
import type { Chain } from "../pipeline/chain.ts";
import type { RequestContext } from "../pipeline/context.ts";
import type { GatewayResponse } from "../server/exchange.ts";
import type { Mirror } from "../traffic/mirror.ts";
import type { SelectionRequest } from "../upstream/selectors/selector.ts";
import type { Service } from "../upstream/service.ts";
import type { Target } from "../upstream/target.ts";

/** Everything needed to forward one request. */
export interface ForwardRequest {
  req: IncomingMessage;
  res: GatewayResponse;
  service: Service;
  /** The target the first try goes to. */
  target: Target;
  /** For picking another target on a retry. */
  selection: SelectionRequest;
  /** The method sent upstream (the client's, unless a plugin chose another). */
  method: string;
  /** Path and query to send upstream. */
  path: string;
  /** Upstream headers; the first pair is `host`, set per try. */
  headers: string[];
  /** The client's Host to send on every try (preserveHost), or undefined for each target's own. */
  preservedHost: string | undefined;
  requestId: string;
  /** Largest body accepted when it is sent chunked (Content-Length is checked earlier); 0 = no limit. */
  maxBodySize: number;
  /** Ask the client to close its connection after this response (draining). */
  closeConnection: () => boolean;
  /** The process log, for a plugin's failure while the response is on its way. */
  log: Logger;
  /** Added to the response the upstream sends (the split's sticky cookie). */
  setCookie?: string;
  /** The route's mirror, when this request is one of its sample. */
  mirror?: Mirror;
  /** The route's plugins and this request's context, when the route has plugins. */
  ctx?: RequestContext;
  chain?: Chain;
}
