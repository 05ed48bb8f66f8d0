/**
 * @module stores/node-limits
 * Rate limits counted once per node when the node runs several worker threads: a limit
 * of N per window admits N per node, not N per worker. The supervisor thread holds the
 * counts (the same in-memory store a single process uses, so the algorithms and their
 * exactness are the same); workers ask it over a MessagePort.
 *
 * Asking costs a message each way, so a worker sends the keys it has to decide in one
 * batch per event-loop turn (setImmediate), and the supervisor answers each batch with
 * one message. With one worker (the default) none of this runs: the plugin decides in its
 * own memory, synchronously.
 */
import type { MessagePort } from "node:worker_threads";
import type { Algorithm, Decision, LimitRule } from "../plugins/rate-limit/decision.ts";
import { MemoryRateLimitStore } from "../plugins/rate-limit/memory-store.ts";

/** Where a worker thread's rate limits are decided (see useNodeLimits). */
export interface NodeLimits {
  decide(
    scope: string,
    rules: readonly LimitRule[],
    algorithm: Algorithm,
    key: string,
  ): Promise<Decision>;
}

/** One batch: each scope's definition travels with it, so the supervisor may forget idle ones. */
interface Request {
  scopes: Record<string, { rules: readonly LimitRule[]; algorithm: Algorithm }>;
  batch: [id: number, scope: string, key: string][];
}

type Answer = [id: number, decision: Decision][];

let nodeLimits: NodeLimits | undefined;

/**
 * Set once by a worker thread before it compiles a config: rate-limit plugins whose store
 * is `memory` then count per node. (A worker thread runs exactly one gateway.)
 */
export function useNodeLimits(limits: NodeLimits): void {
  nodeLimits = limits;
}

/** The node's limits when this thread is one of several workers; otherwise undefined. */
export function sharedNodeLimits(): NodeLimits | undefined {
  return nodeLimits;
}

/** A worker thread's side: batches its questions to the supervisor and routes the answers. */
export class NodeLimitClient implements NodeLimits {
  readonly #port: MessagePort;
  readonly #pending = new Map<number, (decision: Decision) => void>();
  #request: Request = { scopes: {}, batch: [] };
  #nextId = 0;

  constructor(port: MessagePort) {
    this.#port = port;
    port.on("message", (answer: Answer) => {
      for (const [id, decision] of answer) {
        this.#pending.get(id)?.(decision);
        this.#pending.delete(id);
      }
    });
    port.unref();
  }

  decide(scope: string, rules: readonly LimitRule[], algorithm: Algorithm, key: string) {
    const id = this.#nextId++;
    const request = this.#request;
    if (request.batch.length === 0) setImmediate(this.#flush);
    request.scopes[scope] ??= { rules, algorithm };
    request.batch.push([id, scope, key]);
    return new Promise<Decision>((resolve) => this.#pending.set(id, resolve));
  }

  readonly #flush = () => {
    const request = this.#request;
    this.#request = { scopes: {}, batch: [] };
    this.#port.postMessage(request);
  };
}

interface Scope {
  store: MemoryRateLimitStore;
  /** The longest window: idle longer than that, the store holds nothing that counts. */
  idleMs: number;
  usedAt: number;
}

/** The supervisor's side: one in-memory store per plugin scope, shared by every worker. */
export class NodeLimitService {
  readonly #scopes = new Map<string, Scope>();
  #sweptAt = Date.now();

  /** Answers the questions a worker sends on `port`. */
  serve(port: MessagePort): void {
    port.on("message", ({ scopes, batch }: Request) => {
      const now = Date.now();
      this.#sweep(now);
      const answer: Answer = [];
      for (const [id, name, key] of batch) {
        let scope = this.#scopes.get(name);
        if (scope === undefined) {
          const { rules, algorithm } = scopes[name]!;
          const idleMs = Math.max(...rules.map((rule) => rule.windowMs));
          scope = { store: new MemoryRateLimitStore(rules, algorithm), idleMs, usedAt: now };
          this.#scopes.set(name, scope);
        }
        scope.usedAt = now;
        answer.push([id, scope.store.decide(key)]);
      }
      port.postMessage(answer);
    });
    port.unref();
  }

  /**
   * Forgets, once a minute at most, the scopes idle for longer than their longest window:
   * they hold nothing that still counts (a reload that changed a limit left its old scope).
   */
  #sweep(now: number): void {
    if (now - this.#sweptAt < 60_000) return;
    this.#sweptAt = now;
    for (const [name, scope] of this.#scopes) {
      if (now - scope.usedAt > scope.idleMs) this.#scopes.delete(name);
    }
  }

  /** Scopes holding counts now (for tests). */
  get size(): number {
    return this.#scopes.size;
  }
}
