/**
 * @module sdk/store/postgres
 * The store's backend on a real PostgreSQL: a `pg` pool, a transaction on one client of it
 * (BEGIN … COMMIT, ROLLBACK on a throw), values parsed as node-postgres parses them (with
 * `interval` kept as text, as PGlite gives it). Failing to connect is a StoreError
 * `GATEHOUSE_STORE_UNAVAILABLE`; SQL errors are the database's own.
 */
import pg from "pg";
import type { StoreBackend, StoreSession } from "./backed-store.ts";
import type { QueryResult } from "./store.ts";
import { StoreError } from "./store-error.ts";

/** How long a query waits for a connection before the database counts as unreachable. */
const connectTimeoutMs = 10_000;

const INTERVAL = 1186;

/** node-postgres's parsers, with `interval` as its text (a plain string on both backends). */
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INTERVAL) return (value: string) => value;
    return format === "binary"
      ? pg.types.getTypeParser(oid, "binary")
      : pg.types.getTypeParser(oid);
  },
} as pg.CustomTypesConfig;

/** What opening a PostgreSQL backend is told. */
export interface PostgresBackendOptions {
  url: string;
  /** The store's name: the pool's `application_name` is `gatehouse-<name>`. */
  name: string;
  max?: number;
}

/** Opens a pool to `url` and checks it connects (a StoreError when it cannot). */
export async function openPostgresBackend(options: PostgresBackendOptions): Promise<StoreBackend> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: `gatehouse-${options.name}`,
    connectionTimeoutMillis: connectTimeoutMs,
    // A script that forgot close() still ends: idle connections do not hold the process.
    allowExitOnIdle: true,
    types,
  });
  // An idle client whose connection broke is dropped by the pool; without a listener the
  // pool's 'error' event would end the process.
  pool.on("error", () => {});
  const backend = new PostgresBackend(pool, options.url);
  try {
    await backend.query("select 1");
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return backend;
}

class PostgresBackend implements StoreBackend {
  readonly kind = "postgres";
  readonly #pool: pg.Pool;
  /** The URL without its password, for messages. */
  readonly #where: string;

  constructor(pool: pg.Pool, url: string) {
    this.#pool = pool;
    this.#where = redacted(url);
  }

  async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    try {
      const result = await this.#pool.query(sql, params);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
    } catch (error) {
      throw this.#unavailable(error);
    }
  }

  async transaction<T>(fn: (session: StoreSession) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect().catch((error: unknown) => {
      throw this.#unavailable(error);
    });
    let broken: Error | undefined;
    try {
      await client.query("begin");
      const session: StoreSession = {
        async query<R>(sql: string, params?: unknown[]) {
          const result = await client.query(sql, params);
          return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
        },
        async exec(sql: string) {
          await client.query(sql);
        },
      };
      let result: T;
      try {
        result = await fn(session);
      } catch (error) {
        await client.query("rollback").catch((rollbackError: Error) => {
          // A client that cannot roll back is not given to anyone else.
          broken = rollbackError;
        });
        throw error;
      }
      await client.query("commit");
      return result;
    } catch (error) {
      throw this.#unavailable(error);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  /** A connection failure as a StoreError; any other error as it is. */
  #unavailable(error: unknown): unknown {
    if (!isConnectionError(error)) return error;
    return new StoreError(
      "GATEHOUSE_STORE_UNAVAILABLE",
      `PostgreSQL at ${this.#where} cannot be reached: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** SQLSTATE classes of failing to connect: 08 (connection), 28 (credentials), 3D000 (no database), 57P0x (shutting down). */
const connectionStates = /^(08|28|3D000|57P0[1-3])/;

/** Whether `error` says the database could not be reached (rather than that SQL failed). */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && connectionStates.test(code)) return true;
  if ("syscall" in error || (typeof code === "string" && /^E[A-Z]+$/.test(code))) return true;
  return /timeout exceeded when trying to connect|Connection terminated/i.test(error.message);
}

/** `url` with its password replaced, fit for a message. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}
