// The SDK's store on a real PostgreSQL (a fresh database for this file): the shared store
// suite, and what only PostgreSQL has: several stores and processes on one database.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { store } from "gatehouse-gateway/sdk";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { storeSuite } from "./sdk-store.case.ts";

let database: TestDatabase;
storeSuite({
  kind: "postgres",
  async setup() {
    database = await createTestDatabase();
  },
  open: (name, options) => store.open(database.url, { name, ...options }),
  teardown: () => database.drop(),
});

describe("sdk store on PostgreSQL, several at once", () => {
  let shared: TestDatabase;
  before(async () => {
    shared = await createTestDatabase();
  });
  after(() => shared.drop());

  it("opens the same fresh schema from two stores at once, migrating it once", async () => {
    const stores = await Promise.all([
      store.open(shared.url, { name: "payments", max: 2 }),
      store.open(shared.url, { name: "payments", max: 2 }),
      store.open(shared.url, { name: "payments", max: 2 }),
    ]);
    try {
      const { rows } = await stores[0]!.query<{ version: number }>(
        "select version from gatehouse_payments.migrations",
      );
      assert.deepEqual(rows, [{ version: 1 }]);
      // Each writes to the one outbox.
      for (const [i, opened] of stores.entries()) {
        await opened.transaction((tx) => tx.publish("payments.taken", { i }, { id: `p-${i}` }));
      }
      const ids = await stores[2]!.query<{ id: string }>(
        "select id from gatehouse_payments.outbox order by seq",
      );
      assert.deepEqual(
        ids.rows.map((row) => row.id),
        ["p-0", "p-1", "p-2"],
      );
    } finally {
      await Promise.all(stores.map((opened) => opened.close()));
    }
  });

  it("keeps separate SDK tables for stores of different names on one database", async () => {
    const orders = await store.open(shared.url, { name: "shop-orders" });
    const stock = await store.open(shared.url, { name: "shop_stock" });
    try {
      assert.equal(orders.schema, "gatehouse_shop_orders");
      assert.equal(stock.schema, "gatehouse_shop_stock");
      await orders.transaction((tx) => tx.publish("orders.created", { n: 1 }, { id: "o-1" }));
      await stock.transaction((tx) => tx.publish("stock.reserved", { n: 1 }, { id: "s-1" }));
      const read = async (schema: string) =>
        (await orders.query<{ id: string }>(`select id from ${schema}.outbox`)).rows;
      assert.deepEqual(await read(orders.schema), [{ id: "o-1" }]);
      assert.deepEqual(await read(stock.schema), [{ id: "s-1" }]);
      const told: string[] = [];
      orders.onOutboxWrite(() => told.push("orders"));
      stock.onOutboxWrite(() => told.push("stock"));
      await stock.transaction((tx) => tx.publish("stock.reserved", { n: 2 }));
      assert.deepEqual(told, ["stock"]);
    } finally {
      await orders.close();
      await stock.close();
    }
  });

  it("refuses with GATEHOUSE_STORE_UNAVAILABLE when PostgreSQL cannot be reached", async () => {
    const missing = shared.url.replace(/\/[^/]+$/, "/gatehouse_no_such_database");
    await assert.rejects(
      store.open(missing, { name: "nowhere" }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "GATEHOUSE_STORE_UNAVAILABLE");
        assert.match(error.message, /gatehouse_no_such_database/);
        return true;
      },
    );
  });
});
