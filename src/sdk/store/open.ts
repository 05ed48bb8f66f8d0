/**
 * @module sdk/store/open
 * `store.open()`: a service's store on PostgreSQL when given a URL, else on PGlite in
 * `./data/<name>`, with the SDK's tables migrated in the schema `gatehouse_<name>` before it
 * is handed out and listed in the process's store registry.
 */
import { join } from "node:path";
import { BackedStore, type StoreBackend } from "./backed-store.ts";
import { migrate } from "./migrations.ts";
import { openPgliteBackend } from "./pglite.ts";
import { openPostgresBackend } from "./postgres.ts";
import type { Store, StoreOptions } from "./store.ts";

/** A service name fit for a schema (`gatehouse_` + it stays within PostgreSQL's 63 bytes). */
const namePattern = /^[a-z][a-z0-9_-]{0,52}$/;

/**
 * Opens the service's store: PostgreSQL at `url` (`postgres://…`), or, with no URL (undefined
 * or empty), PGlite embedded in the process with its data in `dataDir` (default
 * `./data/<name>` from the working directory; one process at a time). Creates or migrates the
 * SDK's tables (outbox, inbox, saga log) in the schema `gatehouse_<name>` first.
 *
 * Rejects with a StoreError: `GATEHOUSE_STORE_UNAVAILABLE` (PostgreSQL cannot be reached),
 * `GATEHOUSE_STORE_LOCKED` (another process uses the PGlite directory),
 * `GATEHOUSE_STORE_MIGRATION_FAILED`; with a TypeError for bad options.
 *
 * @example
 * ```ts
 * import { store } from "gatehouse-gateway/sdk";
 * const db = await store.open(process.env.DATABASE_URL, { name: "orders" });
 * await db.transaction(async (tx) => {
 *   await tx.query("insert into orders (id) values ($1)", [orderId]);
 *   await tx.publish("orders.created", { orderId }, { id: orderId });
 * });
 * ```
 */
export async function open(url: string | undefined, options: StoreOptions): Promise<Store>;
/** Opens the service's store on PGlite (see the other form). */
export async function open(options: StoreOptions): Promise<Store>;
export async function open(
  urlOrOptions: string | undefined | StoreOptions,
  maybeOptions?: StoreOptions,
): Promise<Store> {
  const [url, options] =
    typeof urlOrOptions === "object" && urlOrOptions !== null
      ? [undefined, urlOrOptions]
      : [urlOrOptions, maybeOptions];
  checkOptions(url, options);
  const { name } = options as StoreOptions;
  const schema = `gatehouse_${name.replaceAll("-", "_")}`;
  const backend: StoreBackend = url
    ? await openPostgresBackend({ url, name, max: options!.max })
    : await openPgliteBackend(options!.dataDir ?? join(process.cwd(), "data", name));
  try {
    await backend.transaction((session) => migrate(session, schema));
  } catch (error) {
    await backend.close().catch(() => {});
    throw error;
  }
  return new BackedStore(name, schema, backend, options!.handleSignals !== false);
}

function checkOptions(url: unknown, options: StoreOptions | undefined): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      'store.open(url, options): options must be an object, e.g. { name: "orders" }',
    );
  }
  const caller = `store.open(${JSON.stringify(options.name)})`;
  if (typeof options.name !== "string" || !namePattern.test(options.name)) {
    throw new TypeError(
      `${caller}: name must be 1-53 lower-case letters, digits, "-" or "_", starting with a letter`,
    );
  }
  if (url !== undefined && typeof url !== "string") {
    throw new TypeError(`${caller}: the URL must be a string (postgres://…) or undefined`);
  }
  if (url && !/^postgres(ql)?:\/\//.test(url)) {
    throw new TypeError(`${caller}: the URL must start with postgres:// or postgresql://`);
  }
  if (options.max !== undefined && !(Number.isInteger(options.max) && options.max >= 1)) {
    throw new TypeError(`${caller}: max must be a whole number of connections, at least 1`);
  }
  if (options.dataDir !== undefined && (typeof options.dataDir !== "string" || !options.dataDir)) {
    throw new TypeError(`${caller}: dataDir must be a non-empty path`);
  }
}
