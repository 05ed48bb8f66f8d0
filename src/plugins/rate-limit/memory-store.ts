/**
 * @module plugins/rate-limit/memory-store
 * Rate limits kept in this process: one sliding-window log or token bucket per key and
 * limit, in an LRU of bounded size whose entries expire once idle for the longest
 * window (by then they hold nothing that still counts). The decision is synchronous, so
 * the pipeline stays on its synchronous fast path.
 */
import { LRUCache } from "lru-cache";
import { type Clock, systemClock } from "../../upstream/clock.ts";
import {
  type Algorithm,
  type Decision,
  decide,
  type LimitOutcome,
  type LimitRule,
} from "./decision.ts";
import { SlidingWindowLog } from "./sliding-window.ts";
import { TokenBucket } from "./token-bucket.ts";

/** Keys tracked at most; past it the least recently seen key is forgotten (and starts afresh). */
export const defaultMaxKeys = 100_000;

type LimitState = SlidingWindowLog | TokenBucket;

export interface MemoryStoreOptions {
  clock?: Clock;
  maxKeys?: number;
}

export class MemoryRateLimitStore {
  readonly #rules: readonly LimitRule[];
  readonly #clock: Clock;
  readonly #create: (rule: LimitRule) => LimitState;
  readonly #keys: LRUCache<string, LimitState[]>;
  /** Reused for every decision: the outcomes are folded before the next one starts. */
  readonly #outcomes: LimitOutcome[];

  constructor(rules: readonly LimitRule[], algorithm: Algorithm, options: MemoryStoreOptions = {}) {
    this.#rules = rules;
    this.#clock = options.clock ?? systemClock;
    this.#create =
      algorithm === "token-bucket"
        ? (rule) => new TokenBucket(rule)
        : (rule) => new SlidingWindowLog(rule);
    const clock = this.#clock;
    this.#keys = new LRUCache({
      max: options.maxKeys ?? defaultMaxKeys,
      ttl: Math.max(...rules.map((rule) => rule.windowMs)),
      // Expired entries are dropped when met or pushed out: no timer, nothing keeps the process up.
      ttlAutopurge: false,
      updateAgeOnGet: true,
      perf: { now: () => clock.now() },
    });
    this.#outcomes = new Array<LimitOutcome>(rules.length);
  }

  /** Decides one request for `key`: consumes from every limit only if all of them admit. */
  decide(key: string): Decision {
    const now = this.#clock.now();
    // A get renews the key's time to live (updateAgeOnGet), so a key in use never expires.
    let states = this.#keys.get(key);
    if (states === undefined) {
      states = this.#rules.map(this.#create);
      this.#keys.set(key, states);
    }
    let admitted = true;
    for (let i = 0; i < states.length; i++) {
      const outcome = states[i]!.peek(now);
      this.#outcomes[i] = outcome;
      if (!outcome.admits) admitted = false;
    }
    if (admitted) for (const state of states) state.take(now);
    return decide(this.#rules, this.#outcomes);
  }

  /** Keys tracked now (for tests and, later, metrics). */
  get size(): number {
    return this.#keys.size;
  }
}
