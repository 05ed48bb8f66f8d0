/**
 * @module test/integration/saga-shop.case
 * The order saga over real tables, run on PostgreSQL and on PGlite: a service process
 * killed (SIGKILL) in the middle of a step or of a compensation, then started again, ends
 * the saga completed or compensated, never both and never half (counted in the tables);
 * and 200 sagas at once against a stock of 50 never oversell.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Store } from "gatehouse-gateway/sdk";
import { effectsOf, orderSaga, stockShop } from "../fixtures/sdk/saga-shop.ts";
import { exited } from "../helpers/child-process.ts";
import type { SagaBackend } from "./saga-backends.ts";

const child = fileURLToPath(new URL("../fixtures/sdk/saga-process.ts", import.meta.url));

interface Line {
  event: string;
  point?: string;
  status?: string;
}

/** A service process running the order saga, and a way to wait for what it says. */
function startService(env: Record<string, string>) {
  const process_ = spawn(process.execPath, [child], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  process_.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: process_.stdout! }).on("line", (text) => {
    lines.push(JSON.parse(text) as Line);
    for (const wake of waiters) wake();
  });
  process_.on("exit", () => {
    for (const wake of waiters) wake();
  });
  /** The first line with this event, within `ms`. */
  const said = async (event: string, ms = 30_000): Promise<Line> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = lines.find((line) => line.event === event);
      if (found) return found;
      if (process_.exitCode !== null || process_.signalCode !== null || Date.now() > deadline)
        throw new Error(
          `service did not say "${event}"; it said ${JSON.stringify(lines)}\n${stderr}`,
        );
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 200);
        waiters.add(wake);
      });
    }
  };
  return { process: process_ as ChildProcess, said };
}

export function sagaShopSuite(kind: SagaBackend["kind"], open: () => Promise<SagaBackend>): void {
  let backend: SagaBackend;
  /** PostgreSQL: one store kept open. PGlite: opened between the service processes only. */
  let shared: Store | undefined;
  const withStore = async <T>(fn: (db: Store) => Promise<T>): Promise<T> => {
    if (shared) return fn(shared);
    const db = await backend.open("shop");
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };

  describe("sagas of a shop", () => {
    before(async () => {
      backend = await open();
      if (backend.kind === "postgres") shared = await backend.open("shop");
      await withStore((db) => stockShop(db, {}));
    });

    after(async () => {
      await shared?.close();
      await backend?.teardown();
    });

    /**
     * Starts a service that hangs at `hangAt` and kills it there, then starts `recoverers`
     * services that define the saga again; answers what the saga left.
     */
    async function crashAndRestart(
      sagaId: string,
      hangAt: string,
      options: { failFirst?: string; failAfter?: string; recoverers?: number } = {},
    ) {
      const item = `item-${sagaId}`;
      await withStore((db) => stockShop(db, { [item]: 10 }));
      const env = { ...backend.env(), SAGA_ID: sagaId, ITEM: item, LEASE: "1s" };
      const first = startService({
        ...env,
        MODE: "start",
        HANG_AT: hangAt,
        ...(options.failFirst && { FAIL_AT: options.failFirst }),
      });
      assert.equal((await first.said("hanging")).point, hangAt);
      first.process.kill("SIGKILL");
      await exited(first.process);
      const again = Array.from({ length: options.recoverers ?? 1 }, () =>
        startService({
          ...env,
          MODE: "recover",
          ...(options.failAfter && { FAIL_AT: options.failAfter }),
        }),
      );
      const ended = await Promise.all(again.map((service) => service.said("ended")));
      await Promise.all(again.map((service) => exited(service.process)));
      const statuses = new Set(ended.map((line) => line.status));
      assert.equal(statuses.size, 1, "every process sees the same end");
      return withStore(async (db) => {
        const stock = await db.query<{ qty: number }>("select qty from stock where item = $1", [
          item,
        ]);
        return {
          status: [...statuses][0],
          stock: stock.rows[0]!.qty,
          ...(await effectsOf(db, sagaId)),
        };
      });
    }

    const completed = {
      status: "completed",
      stock: 9,
      reserved: true,
      charged: true,
      refunded: false,
      confirmed: true,
    };
    const compensated = {
      status: "compensated",
      stock: 10,
      reserved: false,
      charged: false,
      confirmed: false,
    };

    for (const step of ["reserve", "charge", "confirm"]) {
      it(`completes a saga whose process was killed in step ${step}, running that step once more`, async () => {
        const { calls, ...end } = await crashAndRestart(`killed-in-${step}`, step);
        assert.deepEqual(end, completed);
        const expected = { reserve: 1, charge: 1, confirm: 1, [step]: 2 };
        assert.deepEqual(calls, expected);
      });
    }

    it("compensates a saga killed in a step that fails when run again, that step too", async () => {
      const { calls, ...end } = await crashAndRestart("killed-then-declined", "charge", {
        failAfter: "charge",
      });
      assert.deepEqual(end, { ...compensated, refunded: true });
      assert.deepEqual(calls, { reserve: 1, charge: 2, "undo:charge": 1, "undo:reserve": 1 });
    });

    it("finishes compensating a saga whose process was killed in a compensation", async () => {
      const { calls, ...end } = await crashAndRestart("killed-in-refund", "undo:charge", {
        failFirst: "confirm",
      });
      assert.deepEqual(end, { ...compensated, refunded: true });
      assert.deepEqual(calls, {
        reserve: 1,
        charge: 1,
        confirm: 1,
        "undo:charge": 2,
        "undo:reserve": 1,
      });
    });

    it("sells 200 concurrent orders against a stock of 50 without overselling", async () => {
      await withStore(async (db) => {
        await stockShop(db, { lamp: 50 });
        const order = orderSaga(db);
        try {
          const results = await Promise.all(
            Array.from({ length: 200 }, (_, i) =>
              order.run(
                { item: "lamp", amount: 10, card: i % 10 === 0 ? "declined" : "ok" },
                { id: `lamp-${i}` },
              ),
            ),
          );
          const count = (status: string, step?: string) =>
            results.filter((r) => r.status === status && (!step || r.error?.step === step)).length;
          const sold = count("completed");
          const stock = (
            await db.query<{ qty: number }>("select qty from stock where item = 'lamp'")
          ).rows[0]!.qty;
          const tally = async (sql: string) =>
            Number((await db.query<{ n: string }>(`${sql} and key like 'lamp-%'`)).rows[0]!.n);
          assert.ok(sold <= 50 && sold > 0, `sold ${sold}`);
          assert.equal(stock + sold, 50, "what is in stock and what was sold add up to 50");
          const declined = results.filter((_, i) => i % 10 === 0);
          assert.ok(
            declined.every((r) => r.status === "compensated"),
            "no declined card buys anything",
          );
          assert.equal(
            count("compensated", "reserve") + count("compensated", "charge") + sold,
            200,
          );
          assert.equal(
            await tally("select count(*)::text as n from reservations where true"),
            sold,
          );
          assert.equal(
            await tally("select count(*)::text as n from charges where not refunded"),
            sold,
          );
          assert.equal(
            await tally("select count(*)::text as n from confirmations where true"),
            sold,
          );
        } finally {
          await order.close();
        }
      });
    });

    // PGlite is one process per directory: there, no two processes can race for a saga.
    if (kind === "postgres")
      it("lets one of two restarted processes resume the saga, not both", async () => {
        const { calls, ...end } = await crashAndRestart("killed-two-restart", "charge", {
          recoverers: 2,
        });
        assert.deepEqual(end, completed);
        assert.deepEqual(calls, { reserve: 1, charge: 2, confirm: 1 });
      });
  });
}
