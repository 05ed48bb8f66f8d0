/**
 * @module stores/redis
 * Shared Redis connections: one ioredis client per URL and timeout, reference counted
 * across plugin instances (a reload creates the new instances before the old ones
 * close, so the connection survives it) and closed when the last user releases it.
 *
 * The client never waits for Redis: commands are not queued while disconnected
 * (`enableOfflineQueue: false`), not retried (`maxRetriesPerRequest: 0`) and time out
 * after the store timeout (`commandTimeout`), so a dead or hung Redis is a failure within
 * that bound, never a stuck request. It reconnects on its own when Redis comes back.
 */
import { Redis } from "ioredis";

export interface RedisConnectionOptions {
  /** Milliseconds one command may take before it fails. */
  timeout: number;
}

/** A use of a shared client; `release` once, when the user no longer needs it. */
export interface RedisLease {
  readonly client: Redis;
  release(): void;
}

interface Shared {
  client: Redis;
  users: number;
}

const shared = new Map<string, Shared>();

/** The connection's name in `CLIENT LIST`, so operators (and tests) can tell Gatehouse apart. */
export const redisConnectionName = "gatehouse";

/** The shared client for `url`, connecting if this is its first user. */
export function acquireRedis(url: string, options: RedisConnectionOptions): RedisLease {
  const id = `${options.timeout} ${url}`;
  let entry = shared.get(id);
  if (entry === undefined) {
    entry = { client: connect(url, options), users: 0 };
    shared.set(id, entry);
  }
  entry.users++;
  const used = entry;
  let released = false;
  return {
    client: used.client,
    release() {
      if (released) return;
      released = true;
      if (--used.users > 0) return;
      shared.delete(id);
      used.client.disconnect();
    },
  };
}

function connect(url: string, options: RedisConnectionOptions): Redis {
  const client = new Redis(url, {
    connectionName: redisConnectionName,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeout,
    connectTimeout: Math.max(options.timeout, 1000),
    // Commands issued in the same tick go out in one write: under load, far fewer
    // syscalls (and Redis wake-ups) than one write per decision.
    enableAutoPipelining: true,
    // Reconnect for ever, soon at first and at most every second.
    retryStrategy: (attempt) => Math.min(attempt * 50, 1000),
  });
  // Connection errors surface as failed commands, which their users count and report;
  // without a listener ioredis would print every reconnection attempt.
  client.on("error", () => {});
  return client;
}
