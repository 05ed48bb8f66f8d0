/**
 * @module plugins/rate-limit/redis-store
 * Rate limits shared by every gateway process that uses the same Redis: one script call
 * per request decides against every limit atomically (see redis-script.ts). A call that
 * fails, or has no answer within the timeout of being made, is counted, reported at most
 * every 10 seconds, and answered with `undefined` so the plugin applies its
 * `onStoreFailure` policy.
 */
import { createHash, randomBytes } from "node:crypto";
import { fallbackLogger, type Logger } from "../../observability/logger.ts";
import {
  describeRedisTarget,
  type RedisClient,
  type RedisConnections,
  type RedisLease,
  type RedisTarget,
  SweptCommand,
} from "../../stores/redis.ts";
import type { DeadlineCall } from "../../stores/shared-deadline.ts";
import { type Clock, systemClock } from "../../upstream/clock.ts";
import {
  type Algorithm,
  type Decision,
  decide,
  type LimitOutcome,
  type LimitRule,
} from "./decision.ts";
import { rateLimitScript } from "./redis-script.ts";

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

/** What Redis knows the script by once it has seen it (EVALSHA). */
const scriptSha = createHash("sha1").update(rateLimitScript).digest("hex");
/** A decision waiting on Redis: settled once, by its reply or by the connection's sweep. */
interface PendingDecision extends DeadlineCall {
  answer(decision: Decision | undefined): void;
}

const warningIntervalMs = 10_000;
/** Makes sorted-set members unique across processes; a counter makes them unique within one. */
const processTag = randomBytes(6).toString("base64url");
let sequence = 0;

export class RedisRateLimitStore {
  /** Decisions Redis failed to give (errors and timeouts); a metric in a later issue. */
  failures = 0;
  readonly #rules: readonly LimitRule[];
  readonly #lease: RedisLease;
  /** The Redis as messages name it, without its password. */
  readonly #where: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timeout: number;
  /** Per limit, the key up to the request's own key. */
  readonly #keyStarts: string[];
  readonly #keySuffixes: string[];
  /** The script's arguments after the member: each limit's count and window (µs). */
  readonly #limitArgs: string[];
  readonly #flag: string;
  #lastWarning = Number.NEGATIVE_INFINITY;
  /** While the client makes its first connection: requests wait for it, up to the timeout. */
  #startup: Promise<void> | undefined;

  constructor(rules: readonly LimitRule[], algorithm: Algorithm, options: RedisStoreOptions) {
    this.#rules = rules;
    this.#where = describeRedisTarget(options);
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? fallbackLogger;
    this.#timeout = options.timeout;
    this.#lease = options.connections.acquire(options, { timeout: options.timeout });
    const client = this.#lease.client;
    // Without this, the requests that arrive while a new gateway connects would all be
    // store failures: the client queues nothing before it is ready.
    if (client.status !== "ready") {
      this.#startup = firstConnection(client, options.timeout).then(() => {
        this.#startup = undefined;
      });
    }
    this.#flag = algorithm === "token-bucket" ? "tb" : "sw";
    // The request key in braces is a Redis Cluster hash tag: all of a request's limits
    // land on one slot, as one script call needs. A key always starts with its kind
    // (`ip:`, `consumer:`, ...), so the tag is never empty; a `}` inside a header value
    // ends the tag early, at the same place in every one of the request's keys.
    this.#keyStarts = rules.map(() => `${options.keyPrefix}rate-limit:${options.scope}:{`);
    this.#keySuffixes = rules.map((rule) => `}:${this.#flag}:${rule.limit}/${rule.windowMs}ms`);
    this.#limitArgs = rules.flatMap((rule) => [String(rule.limit), String(rule.windowMs * 1000)]);
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
   * One EVALSHA per decision, sent with the other commands of its turn (lease `send`) and
   * timed by the connection's one sweep (lease `track`): no timer, pipeline or promise
   * race per request.
   */
  decideThen(key: string, then: (decision: Decision | undefined) => void): Promise<void> {
    const count = this.#rules.length;
    // EVALSHA's arguments: the script's SHA, key count, keys, then the script's ARGV.
    const args: (string | number)[] = [scriptSha, count];
    for (let i = 0; i < count; i++) args.push(this.#keyStarts[i] + key + this.#keySuffixes[i]);
    args.push(this.#flag, `${processTag}${sequence++}`);
    const limitArgs = this.#limitArgs;
    for (let i = 0; i < limitArgs.length; i++) args.push(limitArgs[i]!);
    return new Promise((resolve, reject) => {
      // What `then` throws fails the request, as a throwing hook does.
      const answer = (decision: Decision | undefined) => {
        try {
          then(decision);
          resolve();
        } catch (error) {
          reject(error);
        }
      };
      const call: PendingDecision = {
        expiresAt: 0,
        done: false,
        expire: () => {
          this.#failed(`no answer within ${this.#timeout}ms`);
          answer(undefined);
        },
        answer,
      };
      this.#lease.track(call);
      if (this.#startup) this.#startup.then(() => this.#ask(call, args, false));
      else this.#ask(call, args, false);
    });
  }

  /** Sends the script by its SHA; when Redis does not know it (NOSCRIPT), sends it whole. */
  #ask(call: PendingDecision, args: (string | number)[], whole: boolean): void {
    if (call.done) return;
    let sent = args;
    if (whole) {
      sent = args.slice();
      sent[0] = rateLimitScript;
    }
    const command = new SweptCommand(whole ? "eval" : "evalsha", sent);
    command.promise.then(
      (reply) => {
        if (call.done) return;
        call.done = true;
        call.answer(this.#decision(reply as number[]));
      },
      (error: Error) => {
        if (call.done) return;
        if (!whole && error.message.startsWith("NOSCRIPT")) {
          this.#ask(call, args, true);
          return;
        }
        call.done = true;
        this.#failed(error.message);
        call.answer(undefined);
      },
    );
    this.#lease.send(command, call);
  }

  /** The script's reply: admitted, then remaining, reset and retry (µs) per limit. */
  #decision(reply: number[]): Decision {
    const count = this.#rules.length;
    const outcomes: LimitOutcome[] = [];
    for (let i = 0; i < count; i++) {
      const at = 1 + 3 * i;
      outcomes.push({
        // A limit that admits has nothing to wait for; one that refuses always has.
        admits: reply[at + 2]! <= 0,
        remaining: reply[at]!,
        resetMs: reply[at + 1]! / 1000,
        retryAfterMs: reply[at + 2]! / 1000,
      });
    }
    return decide(this.#rules, outcomes);
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
