/**
 * @module bench/sagas
 * Sagas of three steps per second, on PGlite (embedded, in a directory of its own) and on
 * PostgreSQL (a fresh database on the machine's server, or one the test helper starts):
 * one saga at a time (with its latency) and 50 at once. The steps do nothing, so the
 * numbers are the saga log's cost: one write to start a saga and two per step. Printed, no
 * target. `node bench/sagas.ts` alone, `npm run bench -- --only sagas`, or in `npm run bench`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Store, saga, store } from "../src/sdk/index.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { formatColumns } from "./table.ts";

/** Its `--only` name. */
export const sagasBenchName = "sagas";

/** One database's numbers. */
export interface SagaRow {
  store: "pglite" | "postgres";
  concurrency: number;
  sagas: number;
  perSecond: number;
  /** One saga's time from `run()` to its result, in ms (p50, p99). */
  p50Ms: number;
  p99Ms: number;
}

export interface SagaResults {
  rows: SagaRow[];
  /** Why a database could not be measured (PostgreSQL missing, say). */
  failures: string[];
}

const measureMs = 3_000;
const maxSagas = 20_000;
const concurrencies = [1, 50];

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;

/** Runs sagas `concurrency` at a time for `measureMs` (at most `maxSagas`). */
async function measure(db: Store, concurrency: number, kind: SagaRow["store"]): Promise<SagaRow> {
  const definition = saga<{ n: number }>(`bench-${concurrency}`, { db })
    .step(
      "reserve",
      async (input) => ({ reserved: input.n }),
      async () => {},
    )
    .step(
      "charge",
      async (input) => ({ charged: input.n }),
      async () => {},
    )
    .step("confirm", async () => ({ confirmed: true }));
  try {
    // Warm-up: JIT, the pool's connections, the tables' pages.
    await Promise.all(Array.from({ length: 50 }, (_, n) => definition.run({ n })));
    const latencies: number[] = [];
    const started = performance.now();
    const deadline = started + measureMs;
    let next = 0;
    const worker = async () => {
      while (performance.now() < deadline && next < maxSagas) {
        const n = next++;
        const begun = performance.now();
        const result = await definition.run({ n });
        if (result.status !== "completed") throw new Error(`a bench saga ended ${result.status}`);
        latencies.push(performance.now() - begun);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      store: kind,
      concurrency,
      sagas: latencies.length,
      perSecond: latencies.length / seconds,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
    };
  } finally {
    await definition.close();
  }
}

async function measureStore(kind: SagaRow["store"], open: () => Promise<Store>) {
  const db = await open();
  try {
    const rows: SagaRow[] = [];
    for (const concurrency of concurrencies) rows.push(await measure(db, concurrency, kind));
    return rows;
  } finally {
    await db.close();
  }
}

/** Measures both databases; one that cannot be reached is reported, not fatal. */
export async function measureSagas(): Promise<SagaResults> {
  const rows: SagaRow[] = [];
  const failures: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-sagas-"));
  try {
    rows.push(
      ...(await measureStore("pglite", () =>
        store.open(undefined, { name: "bench", dataDir: dir, handleSignals: false }),
      )),
    );
  } catch (error) {
    failures.push(`pglite: ${(error as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  try {
    const database = await createTestDatabase();
    try {
      rows.push(
        ...(await measureStore("postgres", () =>
          store.open(database.url, { name: "bench", handleSignals: false }),
        )),
      );
    } finally {
      await database.drop();
    }
  } catch (error) {
    failures.push(`postgres: ${(error as Error).message}`);
  }
  return { rows, failures };
}

export function formatSagasTable(results: SagaResults): string {
  const table = formatColumns(
    ["sagas of three steps", "sagas", "sagas/s", "p50", "p99"],
    results.rows.map((row) => [
      `${row.store}, ${row.concurrency} at a time`,
      row.sagas.toLocaleString("en-US"),
      Math.round(row.perSecond).toLocaleString("en-US"),
      `${row.p50Ms.toFixed(2)} ms`,
      `${row.p99Ms.toFixed(2)} ms`,
    ]),
  );
  return [table, ...results.failures.map((failure) => `sagas: not measured on ${failure}`)].join(
    "\n",
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(formatSagasTable(await measureSagas()));
}
