/**
 * @module stores/redis
 * A gateway's shared Redis connections: one ioredis client per target (a server URL, a
 * Sentinel master group, or a Redis Cluster) and timeout, reference counted across plugin
 * instances (a reload creates the new instances before the old ones close, so the
 * connection survives it) and closed when the last user releases it.
 *
 * The client never waits for Redis, in every mode: commands are not queued while
 * disconnected (`enableOfflineQueue: false`), not retried (`maxRetriesPerRequest: 0`, and
 * in a cluster no delayed retry on CLUSTERDOWN, TRYAGAIN or a lost node) and time out
 * after the store timeout (`commandTimeout`). That timeout starts when a command is
 * written, and auto-pipelining holds commands back while an earlier pipeline waits, so
 * callers bound their wait with the lease (`within`, or `track` on the hot path: the
 * timeout from the call, one sweep per connection): a dead, hung or failing-over Redis is
 * a failure within that bound, never a stuck request. The hot path sends its commands
 * with `send` (see redis-turn-writes.ts), past the auto-pipeliner and without the
 * client's per-command timer. It reconnects on its own: to the same server, to the
 * master Sentinel names after a failover, or to the cluster's nodes from a refreshed
 * slot map.
 */
import { Cluster, Command, Redis, type RedisOptions } from "ioredis";
import { type LateCommand, RedisTurnWrites, type Wanted } from "./redis-turn-writes.ts";
import { type DeadlineCall, SharedDeadline, type timedOut } from "./shared-deadline.ts";

/** Where the Redis is: exactly one of `url`, `sentinels` (with `name`) or `cluster`. */
export interface RedisTarget {
  url?: string;
  sentinels?: readonly string[];
  /** The Sentinel master group name. */
  name?: string;
  /** With `sentinels`: the master's (and replicas') password. */
  password?: string;
  cluster?: readonly string[];
}

export interface RedisConnectionOptions {
  /** Milliseconds one command may take before it fails. */
  timeout: number;
}

/** A client of any mode: both run `defineCommand` scripts and emit `ready`. */
export type RedisClient = Redis | Cluster;

/** A use of a shared client; `release` once, when the user no longer needs it. */
export interface RedisLease {
  readonly client: RedisClient;
  /**
   * A command's outcome, or `timedOut` once the timeout has passed since the call
   * (see SharedDeadline): every wait on Redis goes through it.
   */
  within<T>(command: Promise<T>): Promise<T | typeof timedOut>;
  /**
   * Gives `call` the timeout from now: one sweep of the connection expires it if it is not
   * done by then. The hot path's alternative to `within` (no promise per call).
   */
  track(call: DeadlineCall): void;
  /**
   * Sends `command` with the other commands of its batch (see redis-turn-writes.ts), or
   * not at all if `wanted` is done by then; a `LateCommand` is built only then, and
   * decides itself. A command the client cannot write fails at once (the offline queue
   * is off).
   */
  send(command: Command | LateCommand, wanted?: Wanted): void;
  release(): void;
}

interface Shared {
  client: RedisClient;
  deadline: SharedDeadline;
  writes: RedisTurnWrites;
  users: number;
}

/**
 * A command timed by the lease's sweep (`track`) rather than by a timer of its own: the
 * client's `commandTimeout` would set and clear one per command.
 */
export class SweptCommand extends Command {
  override setTimeout(): void {}
}

/** The connection's name in `CLIENT LIST`, so operators (and tests) can tell Gatehouse apart. */
export const redisConnectionName = "gatehouse";

/**
 * One gateway's Redis connections (its plugins get them in their scope, `scope.redis`):
 * one client per target and timeout, shared by every plugin instance that uses it.
 */
export class RedisConnections {
  readonly #shared = new Map<string, Shared>();

  /** The shared client for `target`, connecting if this is its first user. */
  acquire(target: RedisTarget, options: RedisConnectionOptions): RedisLease {
    const { url, sentinels, name, password, cluster } = target;
    const id = JSON.stringify([options.timeout, url, sentinels, name, password, cluster]);
    const shared = this.#shared;
    let entry = shared.get(id);
    if (entry === undefined) {
      const client = connect(target, options);
      entry = {
        client,
        deadline: new SharedDeadline(options.timeout),
        writes: new RedisTurnWrites(client),
        users: 0,
      };
      shared.set(id, entry);
    }
    entry.users++;
    const used = entry;
    let released = false;
    return {
      client: used.client,
      within: (command) => used.deadline.within(command),
      track: (call) => used.deadline.track(call),
      send: (command, wanted) => used.writes.send(command, wanted),
      release() {
        if (released) return;
        released = true;
        if (--used.users > 0) return;
        shared.delete(id);
        used.client.disconnect();
      },
    };
  }
}

/** The target for messages: addresses only, never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.sentinels) {
    return `sentinels ${target.sentinels.map(hostPort).join(",")} (master ${target.name})`;
  }
  if (target.cluster) return `cluster ${target.cluster.map(hostPort).join(",")}`;
  return (target.url ?? "").replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

function connect(target: RedisTarget, options: RedisConnectionOptions): RedisClient {
  const common: RedisOptions = {
    connectionName: redisConnectionName,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeout,
    connectTimeout: Math.max(options.timeout, 1000),
    // Reconnect for ever, soon at first and at most every second.
    retryStrategy: (attempt) => Math.min(attempt * 50, 1000),
  };
  let client: RedisClient;
  if (target.cluster) {
    const first = new URL(target.cluster[0]!);
    client = new Cluster(target.cluster.map(node), {
      redisOptions: { ...common, ...credentials(first) },
      enableOfflineQueue: false,
      // Errors reach the caller at once; the next command uses the refreshed slot map.
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      retryDelayOnTryAgain: 0,
      slotsRefreshTimeout: Math.max(options.timeout, 1000),
      clusterRetryStrategy: (attempt) => Math.min(attempt * 50, 1000),
      enableAutoPipelining: true,
    });
    // ioredis connects to a node at its first command, and with the offline queue off the
    // rest of that burst fails ("Connection is closed."): connect to each node as it is
    // learnt instead.
    client.on("+node", (node: Redis) => {
      if (node.status === "wait") node.connect().catch(() => {});
    });
  } else if (target.sentinels) {
    const first = new URL(target.sentinels[0]!);
    const sentinel = credentials(first);
    client = new Redis({
      ...common,
      sentinels: target.sentinels.map(node),
      name: target.name!,
      password: target.password,
      sentinelUsername: sentinel.username,
      sentinelPassword: sentinel.password,
      sentinelRetryStrategy: (attempt) => Math.min(attempt * 50, 1000),
      // A dead master drops the connection, and each reconnection asks the Sentinels for
      // the master again; a master demoted while still up answers writes with READONLY,
      // which reconnects too. ioredis's `failoverDetector` (+switch-master) is left off:
      // when the announcement lands during a reconnection attempt it ends the client for
      // good ("Connection is closed." on every later command; seen in this repo's test).
      reconnectOnError: (error) => error.message.startsWith("READONLY"),
      enableAutoPipelining: true,
    });
  } else {
    // Commands issued in the same tick go out in one write: under load, far fewer
    // syscalls (and Redis wake-ups) than one write per decision.
    client = new Redis(target.url!, { ...common, enableAutoPipelining: true });
  }
  // Connection errors surface as failed commands, which their users count and report;
  // without a listener ioredis would print every reconnection attempt.
  client.on("error", () => {});
  return client;
}

/** `redis://host:port` as the `{ host, port }` ioredis takes for Sentinels and cluster nodes. */
function node(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

function credentials(url: URL): { username?: string; password?: string } {
  return {
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

function hostPort(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port}`;
}
