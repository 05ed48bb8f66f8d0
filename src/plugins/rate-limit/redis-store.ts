/**
 * @module plugins/rate-limit/redis-store
 * Rate limits shared by every gateway process that uses the same Redis: one script call
 * decides the requests of a round trip, each against every limit atomically (see
 * redis-script.ts and redis-batch.ts). A request whose decision
 * fails, or has no answer within the timeout of being made, is counted, reported at most
 * every 10 seconds, and answered with `undefined` so the plugin applies its
 * `onStoreFailure` policy.
 */
import { randomBytes } from "node:crypto";
import { fallbackLogger, type Logger } from "../../observability/logger.ts";
import {
  describeRedisTarget,
  type RedisClient,
  type RedisConnections,
  type RedisLease,
  type RedisTarget,
} from "../../stores/redis.ts";
import { type Clock, systemClock } from "../../upstream/clock.ts";
import type { Algorithm, Decision, LimitRule } from "./decision.ts";
import { type BatchLayout, DecisionBatch, type PendingDecision } from "./redis-batch.ts";

/** Where the Redis is (`url`, `sentinels` + `name`, or `cluster`), and how to use it. */
export interface RedisStoreOptions extends RedisTarget {
  /** Milliseconds a decision may take before it counts as a store failure. */
  timeout: number;
  keyPrefix: string;
  /** Names this plugin instance in its keys (e.g. `route:users-api`), the same in every process. */
  scope: string;
  /** The gateway's Redis connections (the plugin's `scope.redis`), one shared client per Redis. */
  connections: RedisConnections;
  clock?: Clock;
  /** Where store failures are reported (at most one line per 10 s). */
  log?: Logger;
}

const warningIntervalMs = 10_000;
/** Makes sorted-set members unique across processes; a counter makes them unique within one. */
const processTag = randomBytes(6).toString("base64url");
let sequence = 0;

export class RedisRateLimitStore {
  /** Decisions Redis failed to give (errors and timeouts); a metric in a later issue. */
  failures = 0;
  readonly #lease: RedisLease;
  /** The Redis as messages name it, without its password. */
  readonly #where: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timeout: number;
  readonly #layout: BatchLayout;
  /**
   * The batches requests join until the connection writes them: one on a single
   * connection; on a Cluster one per request key, since one call's keys share a slot.
   */
  readonly #open = new Map<string, DecisionBatch>();
  readonly #clustered: boolean;
  readonly #timedOut = (): void => this.#failed(`no answer within ${this.#timeout}ms`);
  #lastWarning = Number.NEGATIVE_INFINITY;
  /** While the client makes its first connection: requests wait for it, up to the timeout. */
  #startup: Promise<void> | undefined;

  constructor(rules: readonly LimitRule[], algorithm: Algorithm, options: RedisStoreOptions) {
    this.#where = describeRedisTarget(options);
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? fallbackLogger;
    this.#timeout = options.timeout;
    this.#lease = options.connections.acquire(options, { timeout: options.timeout });
    const client = this.#lease.client;
    this.#clustered = client.isCluster;
    // Without this, the requests that arrive while a new gateway connects would all be
    // store failures: the client queues nothing before it is ready.
    if (client.status !== "ready") {
      this.#startup = firstConnection(client, options.timeout).then(() => {
        this.#startup = undefined;
      });
    }
    // The request key in braces is a Redis Cluster hash tag: all of a request's limits
    // land on one slot, as one script call needs. A key always starts with its kind
    // (`ip:`, `consumer:`, ...), so the tag is never empty; a `}` inside a header value
    // ends the tag early, at the same place in every one of the request's keys.
    const flag = algorithm === "token-bucket" ? "tb" : "sw";
    const lease = this.#lease;
    this.#layout = {
      rules,
      flag,
      keyStarts: rules.map(() => `${options.keyPrefix}rate-limit:${options.scope}:{`),
      keySuffixes: rules.map((rule) => `}:${flag}:${rule.limit}/${rule.windowMs}ms`),
      limitArgs: rules.flatMap((rule) => [String(rule.limit), String(rule.windowMs * 1000)]),
      failed: (error) => this.#failed(error),
      send: (command, wanted) => lease.send(command, wanted),
    };
  }

  /**
   * Decides one request for `key`; undefined when Redis could not answer within the
   * timeout, counted from this call (a wait for the first connection included).
   */
  decide(key: string): Promise<Decision | undefined> {
    let decided: Decision | undefined;
    return this.decideThen(key, (decision) => {
      decided = decision;
    }).then(() => decided);
  }

  /**
   * `decide` for the request path: `then` gets the decision (or undefined) before the
   * returned promise resolves, which saves a promise and a microtask per request.
   *
   * The request joins the batch the connection writes next (lease `send`), one script
   * call for all of them, and is timed by the connection's one sweep (lease `track`): no
   * command, timer, pipeline or promise race per request.
   */
  decideThen(key: string, then: (decision: Decision | undefined) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = new WaitingDecision(key, then, resolve, reject, this.#timedOut);
      this.#lease.track(call);
      this.#batchFor(key).add(call);
    });
  }

  /** The open batch `key`'s request joins, opened (and queued for writing) if there is none. */
  #batchFor(key: string): DecisionBatch {
    const slot = this.#clustered ? key : "";
    let batch = this.#open.get(slot);
    if (batch === undefined) {
      const opened = new DecisionBatch(this.#layout, () => {
        if (this.#open.get(slot) === opened) this.#open.delete(slot);
      });
      this.#open.set(slot, opened);
      if (this.#startup) this.#startup.then(() => this.#lease.send(opened));
      else this.#lease.send(opened);
      batch = opened;
    }
    return batch;
  }

  /** Gives the shared connection back. */
  close(): void {
    this.#lease.release();
  }

  #failed(error: string): void {
    this.failures++;
    const now = this.#clock.now();
    if (now - this.#lastWarning < warningIntervalMs) return;
    this.#lastWarning = now;
    this.#log.warn(
      { store: this.#where, error, failures: this.failures },
      "rate-limit: the Redis store failed",
    );
  }
}

/**
 * A request waiting for its decision, settled once: by its batch's reply or by the
 * connection's sweep. Its methods are the class's, not closures made per request.
 */
class WaitingDecision implements PendingDecision {
  expiresAt = 0;
  done = false;
  readonly key: string;
  readonly member = `${processTag}${sequence++}`;
  readonly #then: (decision: Decision | undefined) => void;
  readonly #resolve: () => void;
  readonly #reject: (error: unknown) => void;
  readonly #timedOut: () => void;

  constructor(
    key: string,
    then: (decision: Decision | undefined) => void,
    resolve: () => void,
    reject: (error: unknown) => void,
    timedOut: () => void,
  ) {
    this.key = key;
    this.#then = then;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timedOut = timedOut;
  }

  expire(): void {
    this.#timedOut();
    this.answer(undefined);
  }

  /** What `then` throws fails the request, as a throwing hook does. */
  answer(decision: Decision | undefined): void {
    try {
      this.#then(decision);
      this.#resolve();
    } catch (error) {
      this.#reject(error);
    }
  }
}

/** Resolves once `client` is ready, or after `timeoutMs` if it is not by then. */
function firstConnection(client: RedisClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    client.once("ready", done);
  });
}
