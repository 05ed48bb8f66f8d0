/**
 * @module sdk/store/store
 * What a service's store is to its callers, whichever database is behind it (PostgreSQL
 * through a `pg` pool, or PGlite embedded in the process): queries, transactions that can
 * write events to the outbox, and a close. The events bus and the saga runner use only this.
 */

/** The rows a query returned, and how many rows it returned or changed. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/**
 * Something SQL can be sent to: a store (each query on its own) or a transaction.
 * Parameters are `$1`, `$2`, …; values come back as node-postgres gives them on both
 * databases: `int8` and `numeric` as strings (exact), `json`/`jsonb` parsed, timestamps as
 * `Date`, `bytea` as `Buffer`, `interval` as its text.
 */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/** An event written to the outbox, as a bus relays it. */
export interface OutboxMessage {
  id: string;
  subject: string;
  data: unknown;
  headers: Record<string, string>;
}

/** What `tx.publish` may be told besides the subject and data. */
export interface PublishOptions {
  /** The event's id, its deduplication key; default a random UUID. */
  id?: string;
  /** Headers sent with the event; `traceparent` and `x-request-id` default to the current call's. */
  headers?: Record<string, string>;
}

/** One database transaction: queries, and events written to the outbox in it. */
export interface Transaction extends Queryable {
  /**
   * Writes the event to the outbox in this transaction; a bus relays it after commit. Nothing
   * is published if the transaction rolls back. `data` must be JSON.
   */
  publish(subject: string, data: unknown, options?: PublishOptions): Promise<void>;
}

/** A service's database, with the SDK's tables (outbox, inbox, saga log) in `schema`. */
export interface Store extends Queryable {
  /** The service name given to `store.open()`. */
  readonly name: string;
  /** Which database is behind it. */
  readonly kind: "postgres" | "pglite";
  /** Schema of the SDK's own tables: `gatehouse_` + name, dashes made underscores. */
  readonly schema: string;
  /**
   * Runs `fn` in BEGIN … COMMIT and resolves with what it returned. When `fn` throws (or the
   * commit fails) the transaction is rolled back and the error rethrown. On PGlite the
   * transaction holds the database: other queries wait until it ends.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Called after a commit that wrote outbox rows (the relay wakes up); returns an unsubscribe. */
  onOutboxWrite(listener: () => void): () => void;
  /** Ends the store's connections (PGlite: shuts it down, frees its directory). Safe to call twice. */
  close(): Promise<void>;
}

/** What `store.open()` is told besides the database URL. */
export interface StoreOptions {
  /** The service's name (lower-case letters, digits, `-`, `_`): names the schema and the PGlite directory. */
  name: string;
  /** PGlite's data directory; default `./data/<name>` (from the process's working directory). */
  dataDir?: string;
  /** PostgreSQL: the most connections the pool opens; default 10. */
  max?: number;
  /** Close the store on SIGTERM and SIGINT (after the SDK's registrations drained); default true. */
  handleSignals?: boolean;
}
