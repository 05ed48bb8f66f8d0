/**
 * @module sdk/store/backed-store
 * The one `Store` both databases are used through: it checks it is open, makes each
 * transaction's `publish` write the outbox, tells the outbox listeners after a commit that
 * wrote to it, waits for the work in flight before closing, lists itself in the process's
 * store registry and closes when the process ends. What differs between PostgreSQL and PGlite
 * is behind `StoreBackend`.
 */
import { onShutdownSignal } from "../shutdown-signals.ts";
import { writeOutbox } from "./outbox-message.ts";
import type { PublishOptions, Queryable, QueryResult, Store, Transaction } from "./store.ts";
import { StoreError } from "./store-error.ts";
import { storeClosed, storeOpened } from "./store-registry.ts";

/** One connection inside an open transaction. */
export interface StoreSession extends Queryable {
  /** Runs several `;`-separated statements (migrations). */
  exec(sql: string): Promise<void>;
}

/** A database as the store needs it. */
export interface StoreBackend {
  readonly kind: Store["kind"];
  query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Runs `fn` in BEGIN … COMMIT on one connection; ROLLBACK and rethrow when it throws. */
  transaction<T>(fn: (session: StoreSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Open stores the process closes when its event loop runs empty. */
const closeBeforeExit = new Set<BackedStore>();

function onBeforeExit(): void {
  for (const store of closeBeforeExit) void store.close().catch(() => {});
}

/** A store over a backend that has been opened and migrated. */
export class BackedStore implements Store {
  readonly name: string;
  readonly kind: Store["kind"];
  readonly schema: string;
  readonly #backend: StoreBackend;
  readonly #outboxListeners = new Set<() => void>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;
  #stopClosingOnSignal: (() => void) | undefined;

  constructor(name: string, schema: string, backend: StoreBackend, handleSignals: boolean) {
    this.name = name;
    this.schema = schema;
    this.kind = backend.kind;
    this.#backend = backend;
    if (handleSignals) this.#stopClosingOnSignal = onShutdownSignal("close", () => this.close());
    if (closeBeforeExit.size === 0) process.on("beforeExit", onBeforeExit);
    closeBeforeExit.add(this);
    storeOpened(this);
  }

  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.#track(() => this.#backend.query<R>(sql, params));
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.#track(async () => {
      let ended = false;
      let wroteOutbox = false;
      const schema = this.schema;
      const result = await this.#backend.transaction(async (session) => {
        const live = (): void => {
          if (ended) {
            throw new StoreError(
              "GATEHOUSE_STORE_TRANSACTION_ENDED",
              `store ${this.name}: the transaction has already ended`,
            );
          }
        };
        const tx: Transaction = {
          async query<R>(sql: string, params?: unknown[]) {
            live();
            return session.query<R>(sql, params);
          },
          async publish(subject: string, data: unknown, options?: PublishOptions) {
            live();
            await writeOutbox(session, schema, subject, data, options);
            wroteOutbox = true;
          },
        };
        try {
          return await fn(tx);
        } finally {
          ended = true;
        }
      });
      if (wroteOutbox) this.#outboxWritten();
      return result;
    });
  }

  onOutboxWrite(listener: () => void): () => void {
    // Each subscription is its own, even when the same function subscribes twice.
    const subscription = () => listener();
    this.#outboxListeners.add(subscription);
    return () => {
      this.#outboxListeners.delete(subscription);
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#stopClosingOnSignal?.();
    closeBeforeExit.delete(this);
    if (closeBeforeExit.size === 0) process.off("beforeExit", onBeforeExit);
    storeClosed(this);
    // What was started before close() finishes; what comes after is refused.
    await Promise.allSettled([...this.#inFlight]);
    await this.#backend.close();
  }

  #outboxWritten(): void {
    for (const listener of [...this.#outboxListeners]) {
      try {
        listener();
      } catch (error) {
        // The transaction has committed: a listener's failure is not the caller's.
        process.emitWarning(`store ${this.name}: an onOutboxWrite listener threw: ${error}`);
      }
    }
  }

  /** Runs `work` unless the store is closing, and keeps it in sight until it settles. */
  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing) {
      return Promise.reject(
        new StoreError("GATEHOUSE_STORE_CLOSED", `store ${this.name} is closed`),
      );
    }
    const running = work();
    this.#inFlight.add(running);
    void running.then(
      () => this.#inFlight.delete(running),
      () => this.#inFlight.delete(running),
    );
    return running;
  }
}
