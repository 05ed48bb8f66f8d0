/**
 * @module test/integration/saga-backends
 * The two databases the saga suites run on: a fresh PostgreSQL database, or a PGlite
 * directory of its own. A child process is given the same place (`DATABASE_URL` or
 * `DATA_DIR`) to open the store of the same service.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Store, store } from "gatehouse-gateway/sdk";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

/** One database, for one suite. */
export interface SagaBackend {
  kind: "postgres" | "pglite";
  /** Opens the store of service `name` (PGlite: one process at a time). */
  open(name: string): Promise<Store>;
  /** Where a child process finds the same database. */
  env(): Record<string, string>;
  teardown(): Promise<void>;
}

export async function postgresBackend(): Promise<SagaBackend> {
  const database: TestDatabase = await createTestDatabase();
  return {
    kind: "postgres",
    open: (name) => store.open(database.url, { name, handleSignals: false }),
    env: () => ({ DATABASE_URL: database.url }),
    teardown: () => database.drop(),
  };
}

export async function pgliteBackend(): Promise<SagaBackend> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-saga-pglite-"));
  return {
    kind: "pglite",
    open: (name) => store.open(undefined, { name, dataDir: join(dir, name), handleSignals: false }),
    env: () => ({ DATA_DIR: dir }),
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
