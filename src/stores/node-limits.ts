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
 *
 * What is counted is the plugins' business: a plugin names a kind of counter
 * (NodeCounterKind) and the supervisor builds it from the kinds it was given.
 */
import type { MessagePort } from "node:worker_threads";

/** One count the supervisor keeps for a plugin scope (a rate limit's windows, say). */
export interface NodeCounter<Answer = unknown> {
  /** Counts one request for `key`; the answer travels back to the worker, so plain data. */
  decide(key: string): Answer;
  /** Idle longer than this, the counter holds nothing that still counts: it is forgotten. */
  readonly idleMs: number;
}

/**
 * A kind of counter: the plugin that counts names it and says how the supervisor builds one
 * from the plain `Definition` its workers send (a function cannot cross threads).
 */
export interface NodeCounterKind<Definition = unknown, Answer = unknown> {
  readonly kind: string;
  create(definition: Definition): NodeCounter<Answer>;
}

/** The kinds a node's supervisor can count (see plugins/index.ts). */
export type NodeCounters = readonly NodeCounterKind<never>[];

/**
 * Where a worker thread's rate and concurrency limits are decided: given to plugins in
 * their scope (`scope.nodeLimits`) when the node runs several worker threads.
 */
export interface NodeLimits {
  /** Counts one request for `key` in the scope's counter, built from `definition` if new. */
  count<Definition, Answer>(
    kind: NodeCounterKind<Definition, Answer>,
    scope: string,
    definition: Definition,
    key: string,
  ): Promise<Answer>;
  /** Takes one of `limit` in-flight slots for `key`; false when all are taken. */
  acquire(scope: string, limit: number, key: string): Promise<boolean>;
  /** Gives back a slot `acquire` took. */
  release(scope: string, key: string): void;
}

/** One batch: each scope's definition travels with it, so the supervisor may forget idle ones. */
interface Request {
  scopes: Record<string, { kind: string; definition: unknown }>;
  batch: [id: number, scope: string, key: string][];
  acquire: [id: number, scope: string, limit: number, key: string][];
  release: [scope: string, key: string][];
}

/** Each question's answer; with `refused`, the question could not be counted (no such kind). */
type Answer = [id: number, decision: unknown, refused?: string][];

const emptyRequest = (): Request => ({ scopes: {}, batch: [], acquire: [], release: [] });

/** A worker thread's side: batches its questions to the supervisor and routes the answers. */
export class NodeLimitClient implements NodeLimits {
  readonly #port: MessagePort;
  readonly #pending = new Map<
    number,
    { resolve(answer: unknown): void; reject(error: Error): void }
  >();
  #request: Request = emptyRequest();
  #queued = false;
  #nextId = 0;

  constructor(port: MessagePort) {
    this.#port = port;
    port.on("message", (answer: Answer) => {
      for (const [id, decision, refused] of answer) {
        const pending = this.#pending.get(id);
        this.#pending.delete(id);
        if (refused === undefined) pending?.resolve(decision);
        else pending?.reject(new Error(refused));
      }
    });
    port.unref();
  }

  count<Definition, Answer>(
    { kind }: NodeCounterKind<Definition, Answer>,
    scope: string,
    definition: Definition,
    key: string,
  ): Promise<Answer> {
    const id = this.#nextId++;
    const request = this.#next();
    // Scopes are named by their plugins: two kinds never share a count under one name.
    const counted = `${kind}\0${scope}`;
    request.scopes[counted] ??= { kind, definition };
    request.batch.push([id, counted, key]);
    return new Promise<Answer>((resolve, reject) =>
      this.#pending.set(id, { resolve: resolve as (answer: unknown) => void, reject }),
    );
  }

  acquire(scope: string, limit: number, key: string): Promise<boolean> {
    const id = this.#nextId++;
    this.#next().acquire.push([id, scope, limit, key]);
    return new Promise<boolean>((resolve, reject) =>
      this.#pending.set(id, { resolve: resolve as (answer: unknown) => void, reject }),
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
  counter: NodeCounter;
  usedAt: number;
}

/** The supervisor's side: one in-memory counter per plugin scope, shared by every worker. */
export class NodeLimitService {
  readonly #kinds: ReadonlyMap<string, NodeCounterKind>;
  readonly #scopes = new Map<string, Scope>();
  #sweptAt = Date.now();
  /** Requests in flight per concurrency scope and key (`scope\0key`), over every worker. */
  readonly #inFlight = new Map<string, number>();

  /** `counters`: the kinds of count the workers' plugins may ask for. */
  constructor(counters: NodeCounters) {
    this.#kinds = new Map(counters.map((kind) => [kind.kind, kind as NodeCounterKind]));
  }

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
          const { kind, definition } = scopes[name]!;
          const counting = this.#kinds.get(kind);
          if (counting === undefined) {
            answer.push([id, undefined, `node limits: this node counts no "${kind}"`]);
            continue;
          }
          scope = { counter: counting.create(definition), usedAt: now };
          this.#scopes.set(name, scope);
        }
        scope.usedAt = now;
        answer.push([id, scope.counter.decide(key)]);
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
      if (now - scope.usedAt > scope.counter.idleMs) this.#scopes.delete(name);
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
