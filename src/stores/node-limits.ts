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

type Request =
  | { type: "scope"; scope: string; rules: readonly LimitRule[]; algorithm: Algorithm }
  | { type: "decide"; batch: [id: number, scope: string, key: string][] };

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
  readonly #known = new Set<string>();
  readonly #pending = new Map<number, (decision: Decision) => void>();
  #batch: [number, string, string][] = [];
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
    if (!this.#known.has(scope)) {
      this.#known.add(scope);
      this.#port.postMessage({ type: "scope", scope, rules, algorithm } satisfies Request);
    }
    const id = this.#nextId++;
    if (this.#batch.length === 0) setImmediate(this.#flush);
    this.#batch.push([id, scope, key]);
    return new Promise<Decision>((resolve) => this.#pending.set(id, resolve));
  }

  readonly #flush = () => {
    const batch = this.#batch;
    this.#batch = [];
    this.#port.postMessage({ type: "decide", batch } satisfies Request);
  };
}

interface Scope {
  rules: readonly LimitRule[];
  algorithm: Algorithm;
  /** Dropped once idle for the longest window (it then holds nothing that counts). */
  store: MemoryRateLimitStore | undefined;
  idleMs: number;
  usedAt: number;
}

/** The supervisor's side: one in-memory store per plugin scope, shared by every worker. */
export class NodeLimitService {
  readonly #scopes = new Map<string, Scope>();

  /** Answers the questions a worker sends on `port`. */
  serve(port: MessagePort): void {
    port.on("message", (request: Request) => {
      if (request.type === "scope") return this.#register(request);
      const now = Date.now();
      const answer: Answer = [];
      for (const [id, name, key] of request.batch) {
        const scope = this.#scopes.get(name)!;
        scope.usedAt = now;
        scope.store ??= new MemoryRateLimitStore(scope.rules, scope.algorithm);
        answer.push([id, scope.store.decide(key)]);
      }
      port.postMessage(answer);
    });
    port.unref();
  }

  #register({ scope: name, rules, algorithm }: Extract<Request, { type: "scope" }>): void {
    const now = Date.now();
    // A reload that changes a limit makes a new scope: the old one's counts go once idle.
    for (const scope of this.#scopes.values()) {
      if (now - scope.usedAt > scope.idleMs) scope.store = undefined;
    }
    if (this.#scopes.has(name)) return;
    const idleMs = Math.max(...rules.map((rule) => rule.windowMs));
    this.#scopes.set(name, { rules, algorithm, store: undefined, idleMs, usedAt: now });
  }
}
