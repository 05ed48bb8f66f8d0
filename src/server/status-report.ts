/**
 * @module server/status-report
 * What `GET /status` and `GET /ready` answer: the process, the config being served, how
 * much it serves, and each service's upstream health. Read from the live runtime and
 * targets on every request, so it is never out of date.
 */
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { ConfigRevision, ReloadOutcome } from "../observability/config-revision.ts";
import type { ServiceCount } from "../registry/store.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { Target } from "../upstream/target.ts";
import { gatehouseVersion } from "../version.ts";
import type { WorkerStats } from "./worker-messages.ts";

/** What the report is built from. */
export interface StatusState {
  runtime: Runtime;
  revision: ConfigRevision;
  lastReload: ReloadOutcome | undefined;
  startedAt: Date;
  listening: boolean;
  draining: boolean;
  openConnections: number;
  webSocketTunnels: number;
  /** With worker threads: their in-flight count (the supervisor's targets proxy nothing). */
  upstreamRequestsInFlight?: number | undefined;
  /** With worker threads: what each counts. */
  workers?: WorkerStats[] | undefined;
  /**
   * The service registry, when the gateway runs one: its store, whether the store reaches
   * etcd (always, in memory), and its services' counts.
   */
  registry?: { store: string; connected: boolean; services: readonly ServiceCount[] } | undefined;
}

/** One service as `/status` summarises it. */
export interface ServiceSummary {
  name: string;
  targets: number;
  /** Passing health checks (or none configured) and not ejected. */
  healthy: number;
  /** What a load balancer may pick now: healthy, breaker permitting, not full. */
  available: number;
  breakers: { closed: number; open: number; halfOpen: number };
}

/** A service `gateway.status.requiredServices` names, and whether it can serve. */
export interface RequiredService {
  name: string;
  ready: boolean;
  reason?: string;
}

/** The answer to `GET /ready`. */
export interface Readiness {
  ready: boolean;
  body: { status: "ready" | "not ready"; reasons?: string[]; services?: RequiredService[] };
}

/** The body of `GET /status`. */
export function statusReport(state: StatusState, now = new Date()) {
  const { runtime, revision, lastReload } = state;
  const services = [...runtime.services.values()];
  const targets = new Set(services.flatMap((service) => service.targets));
  let upstreamInFlight = state.upstreamRequestsInFlight ?? 0;
  for (const target of targets) upstreamInFlight += target.inFlight;
  return {
    gatehouse: { version: gatehouseVersion, node: process.version, pid: process.pid },
    startedAt: state.startedAt.toISOString(),
    uptimeSeconds: Math.round((now.getTime() - state.startedAt.getTime()) / 100) / 10,
    ready: state.listening && !state.draining,
    draining: state.draining,
    config: {
      version: revision.version,
      hash: revision.hash,
      appliedAt: revision.appliedAt.toISOString(),
    },
    lastReload: lastReload
      ? {
          at: lastReload.at.toISOString(),
          result: lastReload.result,
          ...(lastReload.problems ? { problems: lastReload.problems.length } : {}),
        }
      : null,
    counts: {
      routes: runtime.config.routes.length,
      services: services.length,
      consumers: runtime.config.consumers.length,
      plugins: pluginCount(runtime.config),
      targets: targets.size,
      openConnections: state.openConnections,
      webSocketTunnels: state.webSocketTunnels,
      upstreamRequestsInFlight: upstreamInFlight,
    },
    services: services.map((service) => summarise(service.name, service.targets)),
    ...(state.registry && { registry: registrySummary(state.registry) }),
    ...(state.workers && { workers: state.workers }),
  };
}

/**
 * Ready when the listeners are bound, the gateway is not draining, and every required
 * service has a target that passes its health checks, is not ejected and whose breaker
 * lets requests through (load is left out: a busy service is still ready).
 */
export function readiness(
  state: Pick<StatusState, "runtime" | "listening" | "draining">,
  requiredServices: readonly string[],
): Readiness {
  const reasons: string[] = [];
  if (!state.listening) reasons.push("listeners not bound");
  if (state.draining) reasons.push("draining");
  const services = requiredServices.map((name): RequiredService => {
    const service = state.runtime.services.get(name);
    if (!service) return { name, ready: false, reason: "not in the served config" };
    if (service.targets.some((target) => target.usable())) return { name, ready: true };
    return {
      name,
      ready: false,
      reason: `no healthy available target (0 of ${service.targets.length})`,
    };
  });
  for (const service of services) {
    if (!service.ready) reasons.push(`service ${service.name}: ${service.reason}`);
  }
  const ready = reasons.length === 0;
  return {
    ready,
    body: {
      status: ready ? "ready" : "not ready",
      ...(ready ? {} : { reasons }),
      ...(services.length > 0 ? { services } : {}),
    },
  };
}

function summarise(name: string, targets: readonly Target[]): ServiceSummary {
  const breakers = { closed: 0, open: 0, halfOpen: 0 };
  let healthy = 0;
  let available = 0;
  for (const target of targets) {
    const now = target.clock.now();
    if (target.health === "healthy" && target.ejectedUntil <= now) healthy++;
    if (target.available()) available++;
    const state = target.breaker?.state;
    if (state === "closed") breakers.closed++;
    else if (state === "open") breakers.open++;
    else if (state === "half-open") breakers.halfOpen++;
  }
  return { name, targets: targets.length, healthy, available, breakers };
}

/**
 * The registry's counts: services, instances, and how many are up and down; `connected`
 * false: cut off from etcd, these are the instances it last knew.
 */
function registrySummary({ store, connected, services }: NonNullable<StatusState["registry"]>) {
  let up = 0;
  let down = 0;
  for (const service of services) {
    up += service.up;
    down += service.down;
  }
  return { store, connected, services: services.length, instances: up + down, up, down };
}

/** Configured plugin entries: global, and on every service, route and consumer. */
function pluginCount(config: GatehouseConfig): number {
  const lists = [
    config.plugins,
    ...config.services.map((service) => service.plugins),
    ...config.routes.map((route) => route.plugins),
    ...config.consumers.map((consumer) => consumer.plugins),
  ];
  return lists.reduce((sum, list) => sum + list.length, 0);
}
