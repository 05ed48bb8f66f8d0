/**
 * @module sdk/store/pglite
 * The store's backend embedded in the process: PGlite (PostgreSQL compiled to WebAssembly)
 * keeping its data in a directory that one process at a time may use (directory-lock.ts).
 * PGlite runs one statement at a time and a transaction holds it to the end, so a query on
 * the store itself from inside one of its transactions would wait forever: it is refused
 * with a StoreError instead. Values are parsed as node-postgres parses them.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { PGlite, types } from "@electric-sql/pglite";
import type { StoreBackend, StoreSession } from "./backed-store.ts";
import { type DirectoryLock, lockDirectory } from "./directory-lock.ts";
import type { QueryResult } from "./store.ts";
import { StoreError } from "./store-error.ts";

/** `int8` as a string (exact, as node-postgres gives it), `bytea` as a Buffer. */
const parsers = {
  [types.INT8]: (value: string) => value,
  [types.BYTEA]: (value: string) => Buffer.from(value.slice(2), "hex"),
};

/** The transaction the code running now is inside, while it is open. */
const insideTransaction = new AsyncLocalStorage<{ db: PGlite; open: boolean }>();

/** Starts PGlite in `dataDir` (created if missing) once this process holds the directory. */
export async function openPgliteBackend(dataDir: string): Promise<StoreBackend> {
  const directory = resolve(dataDir);
  await mkdir(directory, { recursive: true });
  const lock = await lockDirectory(directory);
  try {
    const db = await PGlite.create({ dataDir: directory, parsers });
    return new PgliteBackend(db, lock, directory);
  } catch (error) {
    lock.release();
    throw new StoreError(
      "GATEHOUSE_STORE_UNAVAILABLE",
      `PGlite could not start in ${directory}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

class PgliteBackend implements StoreBackend {
  readonly kind = "pglite";
  readonly #db: PGlite;
  readonly #lock: DirectoryLock;
  readonly #directory: string;

  constructor(db: PGlite, lock: DirectoryLock, directory: string) {
    this.#db = db;
    this.#lock = lock;
    this.#directory = directory;
  }

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    this.#refuseInsideTransaction("query");
    return resultOf(await this.#db.query<R>(sql, params));
  }

  async transaction<T>(fn: (session: StoreSession) => Promise<T>): Promise<T> {
    this.#refuseInsideTransaction("transaction");
    return this.#db.transaction(async (tx) => {
      const marker = { db: this.#db, open: true };
      const session: StoreSession = {
        async query<R>(sql: string, params?: unknown[]) {
          return resultOf(await tx.query<R>(sql, params));
        },
        async exec(sql: string) {
          await tx.exec(sql);
        },
      };
      try {
        return await insideTransaction.run(marker, () => fn(session));
      } finally {
        // Timers and promises started inside keep the marker: once closed it refuses nothing.
        marker.open = false;
      }
    });
  }

  async close(): Promise<void> {
    try {
      await this.#db.close();
    } finally {
      this.#lock.release();
    }
  }

  #refuseInsideTransaction(what: string): void {
    const current = insideTransaction.getStore();
    if (current?.open && current.db === this.#db) {
      throw new StoreError(
        "GATEHOUSE_STORE_IN_TRANSACTION",
        `PGlite store in ${this.#directory}: db.${what}() inside one of its own transactions would wait for that transaction forever; use the transaction's tx`,
      );
    }
  }
}

/** PGlite's result in the store's shape: rowCount counts the rows returned or changed. */
function resultOf<R>(result: { rows: R[]; affectedRows?: number }): QueryResult<R> {
  return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
}
