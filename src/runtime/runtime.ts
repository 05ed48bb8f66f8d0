/**
 * @module runtime/runtime
 * What the request path reads, as runtime/compile builds it: the route table and the
 * services. The request path imports these types, never the compiler.
 */
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { Chain } from "../pipeline/chain.ts";
import type { PathRewriter } from "../router/rewrite.ts";
import type { RouteTable } from "../router/route-table.ts";
import type { Mirror } from "../traffic/mirror.ts";
import type { TrafficSplit } from "../traffic/split.ts";
import type { Service } from "../upstream/service.ts";
import type { PluginInstances } from "./plugin-instances.ts";

export interface CompiledRoute {
  name: string;
  service: Service;
  rewrite: PathRewriter;
  preserveHost: boolean;
  websocket: boolean;
  /**
   * Headers only the config's authentication may set (runtime/identity-headers): a
   * client's own are dropped on this route. The same list on every route of a config.
   */
  identityHeaders: readonly string[];
  /** The route's plugins (global, service and route, most specific winning), if any has hooks. */
  chain: Chain | undefined;
  /** Picks the service of each request when the route splits its traffic (traffic/split). */
  split: TrafficSplit | undefined;
  /** Copies a sample of the requests to another service (traffic/mirror). */
  mirror: Mirror | undefined;
  /** Headers on every response of the route (a deprecated route's: traffic/deprecation). */
  responseHeaders: readonly [string, string][] | undefined;
}

/** What the request path reads; replaced whole on reload, never mutated. */
export interface Runtime {
  config: GatehouseConfig;
  routes: RouteTable<CompiledRoute>;
  /** The same routes by name, for the admin API (the request path matches in `routes`). */
  routesByName: ReadonlyMap<string, CompiledRoute>;
  services: ReadonlyMap<string, Service>;
  /** The plugin instances; the next runtime takes over those it configures the same way. */
  plugins: PluginInstances;
  /**
   * Releases what the plugins hold (store connections, timers); for a runtime no longer
   * served. Instances the next runtime took over are left running: that one closes them.
   */
  closePlugins(): Promise<void>;
}
