/**
 * @module stores/node-limits
 * Rate and concurrency limits counted once per node when the node runs several worker
 * threads: a limit of N per window (or N in flight) admits N per node, not N per worker. The supervisor thread holds the
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

/** Where a worker thread's rate and concurrency limits are decided (see useNodeLimits). */
export interface NodeLimits {
  decide(
    scope: string,
    rules: readonly LimitRule[],
    algorithm: Algorithm,
    key: string,
  ): Promise<Decision>;
  /** Takes one of `limit` in-flight slots for `key`; false when all are taken. */
  acquire(scope: string, limit: number, key: string): Promise<boolean>;
  /** Gives back a slot `acquire` took. */
  release(scope: string, key: string): void;
}

/** One batch: each scope's definition travels with it, so the supervisor may forget idle ones. */
interface Request {
  scopes: Record<string, { rules: readonly LimitRule[]; algorithm: Algorithm }>;
  batch: [id: number, scope: string, key: string][];
  acquire: [id: number, scope: string, limit: number, key: string][];
  release: [scope: string, key: string][];
}

type Answer = [id: number, decision: Decision | boolean][];

const emptyRequest = (): Request => ({ scopes: {}, batch: [], acquire: [], release: [] });

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
  readonly #pending = new Map<number, (answer: Decision | boolean) => void>();
  #request: Request = emptyRequest();
  #queued = false;
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
    const request = this.#next();
    request.scopes[scope] ??= { rules, algorithm };
    request.batch.push([id, scope, key]);
    return new Promise<Decision>((resolve) =>
      this.#pending.set(id, resolve as (answer: Decision | boolean) => void),
    );
  }

  acquire(scope: string, limit: number, key: string): Promise<boolean> {
    const id = this.#nextId++;
    this.#next().acquire.push([id, scope, limit, key]);
    return new Promise<boolean>((resolve) =>
      this.#pending.set(id, resolve as (answer: Decision | boolean) => void),
    );
  }

  release(scope: string, key: string): void {
    this.#next().release.push([scope, key]);
  }

  /** The batch being filled, sent at the end of this event-loop turn. */
  #next(): Request {
    if (!this.#queued) {
      this.#queued = true;
      setImmediate(this.#flush);
    }
    return this.#request;
  }

  readonly #flush = () => {
    const request = this.#request;
    this.#request = emptyRequest();
    this.#queued = false;
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
  /** Requests in flight per concurrency scope and key (`scope\0key`), over every worker. */
  readonly #inFlight = new Map<string, number>();

  /**
   * Answers the questions a worker sends on `port`. The slots a worker holds are given
   * back when its port closes (the worker ended): its requests ended with it.
   */
  serve(port: MessagePort): void {
    const held = new Map<string, number>();
    const take = (slot: string, by: number) => {
      const count = (this.#inFlight.get(slot) ?? 0) + by;
      if (count > 0) this.#inFlight.set(slot, count);
      else this.#inFlight.delete(slot);
      const own = (held.get(slot) ?? 0) + by;
      if (own > 0) held.set(slot, own);
      else held.delete(slot);
    };
    port.on("close", () => {
      for (const [slot, count] of held) take(slot, -count);
    });
    port.on("message", ({ scopes, batch, acquire, release }: Request) => {
      const now = Date.now();
      this.#sweep(now);
      const answer: Answer = [];
      for (const [scope, key] of release) take(`${scope}\0${key}`, -1);
      for (const [id, scope, limit, key] of acquire) {
        const slot = `${scope}\0${key}`;
        const admitted = (this.#inFlight.get(slot) ?? 0) < limit;
        if (admitted) take(slot, 1);
        answer.push([id, admitted]);
      }
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
      if (answer.length > 0) port.postMessage(answer);
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

  /** Concurrency slots taken now, over every scope and key (for tests). */
  get inFlight(): number {
    let total = 0;
    for (const count of this.#inFlight.values()) total += count;
    return total;
  }
}
