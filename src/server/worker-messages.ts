/**
 * @module server/worker-messages
 * What the supervisor thread and its worker threads say to each other (see
 * server/worker-pool.ts and server/worker-thread.ts). Configs travel already validated, as
 * checked configs (config/checked-config): a worker compiles what it is sent and never
 * validates it again.
 */
import type { AddressInfo } from "node:net";
import type { MessagePort } from "node:worker_threads";
import type { CheckedConfig } from "../config/checked-config.ts";
import type { ConfigRevision } from "../observability/config-revision.ts";
import type { WindowSnapshot } from "../observability/request-window.ts";
import type { TargetStateChange } from "../runtime/target-sync.ts";
import type { TargetListing } from "../upstream/service.ts";
import type { ClientConnections } from "./connection-limit.ts";

/** A service's targets as discovery found them. */
export interface DiscoveredTargets {
  service: string;
  targets: TargetListing[];
}

/**
 * What one discovery answer changed in a service's targets: sent to the workers instead of
 * the whole set, so a change to one instance costs them one entry, however many there are.
 */
export interface DiscoveredChanges {
  service: string;
  /** Targets the service took on, or whose settings changed (replacing theirs by URL). */
  put: TargetListing[];
  /** URLs of the targets it no longer lists. */
  removed: string[];
}

/** A worker thread's `workerData`. */
export interface WorkerStart {
  /** 1-based, in the logs as `worker`. */
  index: number;
  /** The config to serve, as the supervisor checked it (this thread's log redacts its secrets). */
  checked: CheckedConfig;
  revision: ConfigRevision;
  /** The port each proxy listener binds (shared with the other workers: reusePort). */
  ports: number[];
  /** `gateway.pluginModules` to import, relative to `configFile`. */
  pluginModules: string[];
  configFile: string;
  /** Every target's state when the worker was started. */
  states: TargetStateChange[];
  /** The targets discovery found for each service that discovers them (only the supervisor asks). */
  discovered: DiscoveredTargets[];
  /** Where this worker's rate limits are decided (stores/node-limits.ts). */
  limits: MessagePort;
  /** The node's client connection cap, and the counts all its threads share. */
  connections: ClientConnections;
}

/** From the supervisor to a worker. */
export type ToWorker =
  | {
      type: "reload";
      seq: number;
      checked: CheckedConfig;
      revision: ConfigRevision;
      /** Target state after the supervisor compiled the same config (new targets included). */
      states: TargetStateChange[];
    }
  | { type: "state"; change: TargetStateChange }
  | ({ type: "target-changes" } & DiscoveredChanges)
  /** The certificate files changed, and the supervisor loaded them all: read them again. */
  | { type: "certificates" }
  | { type: "metrics"; seq: number }
  | { type: "stats"; seq: number }
  /** The request window ending with bucket `end` (observability/request-window). */
  | { type: "window"; seq: number; end: number }
  | { type: "stop" };

/** What a worker counts that the node's `/status` shows. */
export interface WorkerStats {
  worker: number;
  /** Client connections this worker has accepted since it started. */
  connectionsAccepted: number;
  openConnections: number;
  webSocketTunnels: number;
  upstreamRequestsInFlight: number;
  /** Times this worker slot was started again after its thread ended. */
  restarts: number;
}

/** From a worker to the supervisor. */
export type FromWorker =
  | { type: "ready"; addresses: AddressInfo[] }
  | { type: "reloaded"; seq: number; error?: string }
  | { type: "state"; change: TargetStateChange }
  | ({ type: "target-changes" } & DiscoveredChanges)
  /** The certificate files changed, and the supervisor loaded them all: read them again. */
  | { type: "certificates" }
  | { type: "metrics"; seq: number; metrics: object[] }
  | { type: "stats"; seq: number; stats: Omit<WorkerStats, "restarts"> }
  | { type: "window"; seq: number; window: WindowSnapshot }
  | { type: "stopped" };
