/**
 * @module proxy/tunnel-settling
 * The open WebSocket tunnels of one thread, and what a reload does to them: a tunnel whose
 * route went away closes with 1001 after a grace period; one whose route came back stays.
 */
import type { Duplex } from "node:stream";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { Logger } from "../observability/logger.ts";
import { closeGoingAway, tunnelRoute } from "./websocket.ts";

/** The open tunnels' client sockets, settled against each new config. */
export class OpenTunnels {
  /** Open tunnels' client sockets (the request handler adds and removes them). */
  readonly sockets = new Set<Duplex>();
  /** Tunnels whose route a reload removed, each with the timer that closes it. */
  readonly #goingAway = new Map<Duplex, NodeJS.Timeout>();
  /** `gateway.reload.webSocketGrace`. */
  readonly #grace: number;
  readonly #log: Logger;

  constructor(grace: number, log: Logger) {
    this.#grace = grace;
    this.#log = log;
  }

  /** Open tunnels. */
  get size(): number {
    return this.sockets.size;
  }

  /**
   * After a reload: a tunnel whose route is gone (no route of that name, or it now sends to
   * another service or refuses upgrades) gets the grace period, then 1001. One whose route
   * came back before its grace ran out stays open.
   */
  settle(config: GatehouseConfig): void {
    // Nothing to settle: skip the map of every route (a tenth of a large reload's turn).
    if (this.sockets.size === 0) return;
    const routes = new Map(config.routes.map((route) => [route.name, route]));
    const grace = this.#grace;
    let scheduled = 0;
    for (const tunnel of this.sockets) {
      const opened = tunnelRoute(tunnel);
      if (!opened) continue;
      const route = routes.get(opened.name);
      const kept = route?.service === opened.service && route.websocket;
      const pending = this.#goingAway.get(tunnel);
      if (kept && pending) {
        clearTimeout(pending);
        this.#goingAway.delete(tunnel);
      }
      if (kept || pending) continue;
      const timer = setTimeout(() => {
        this.#goingAway.delete(tunnel);
        closeGoingAway(tunnel);
      }, grace);
      timer.unref();
      this.#goingAway.set(tunnel, timer);
      scheduled++;
      tunnel.once("close", () => {
        clearTimeout(timer);
        this.#goingAway.delete(tunnel);
      });
    }
    if (scheduled > 0) {
      this.#log.info(
        { tunnels: scheduled, graceMs: grace },
        "reload removed the route of open WebSocket tunnels: they close with 1001 after the grace period",
      );
    }
  }

  /** Shutdown: cuts every tunnel and drops the pending 1001 timers. */
  destroyAll(): void {
    for (const tunnel of this.sockets) tunnel.destroy();
    this.sockets.clear();
    for (const timer of this.#goingAway.values()) clearTimeout(timer);
    this.#goingAway.clear();
  }
}
