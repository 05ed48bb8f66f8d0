/**
 * @module sdk/store
 * The service's store, exported by the SDK as `store`: `store.open(url?, { name })` gives a
 * PostgreSQL or PGlite database with the SDK's outbox, inbox and saga tables, and the
 * process's registry of open stores (what a bus relays the outboxes of).
 */
import { open } from "./open.ts";

/** Opens a service's store: `store.open(process.env.DATABASE_URL, { name: "orders" })`. */
export const store = { open };

export type {
  OutboxMessage,
  PublishOptions,
  Queryable,
  QueryResult,
  Store,
  StoreOptions,
  Transaction,
} from "./store.ts";
export { StoreError, type StoreErrorCode } from "./store-error.ts";
export { onStoreClosed, onStoreOpened, openStores } from "./store-registry.ts";
