/**
 * @module plugins/rate-limit/node-counter
 * The rate limit counted once per node (stores/node-limits.ts): the supervisor thread
 * keeps the same in-memory store a single process uses, so the algorithms and their
 * exactness are the same, built from the rules and algorithm its workers send.
 */
import type { NodeCounterKind } from "../../stores/node-limits.ts";
import type { Algorithm, Decision, LimitRule } from "./decision.ts";
import { MemoryRateLimitStore } from "./memory-store.ts";

/** What a worker sends for the supervisor to build a scope's counter from. */
export interface RateLimitDefinition {
  rules: readonly LimitRule[];
  algorithm: Algorithm;
}

export const rateLimitNodeCounter: NodeCounterKind<RateLimitDefinition, Decision> = {
  kind: "rate-limit",
  create({ rules, algorithm }) {
    const store = new MemoryRateLimitStore(rules, algorithm);
    // Idle longer than the longest window, the store holds nothing that still counts.
    const idleMs = Math.max(...rules.map((rule) => rule.windowMs));
    return { decide: (key) => store.decide(key), idleMs };
  },
};
