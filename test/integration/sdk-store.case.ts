/**
 * @module test/integration/sdk-store.case
 * What a store does whichever database is behind it: one suite, run against PostgreSQL
 * (sdk-store-postgres.test.ts) and PGlite (sdk-store-pglite.test.ts), as a service sees it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";
import { type Store, StoreError, type StoreOptions, withCallContext } from "gatehouse-gateway/sdk";
import { onStoreClosed, onStoreOpened, openStores } from "../../src/sdk/store/index.ts";

/** How the suite reaches one database. */
export interface StoreBackendCase {
  kind: "postgres" | "pglite";
  /** Prepares a fresh database (or directory) for the suite. */
  setup(): Promise<void>;
  /** Opens the store of service `name` on it. */
  open(name: string, options?: Omit<StoreOptions, "name">): Promise<Store>;
  /** Removes what setup made. */
  teardown(): Promise<void>;
}

/** The suite every backend passes. */
export function storeSuite(backend: StoreBackendCase): void {
  describe(`sdk store on ${backend.kind}`, () => {
    let db: Store;

    before(async () => {
      await backend.setup();
      db = await backend.open("orders");
      await db.query("create table orders (id text primary key, total int8 not null, doc jsonb)");
    });

    after(async () => {
      await db?.close();
      await backend.teardown();
    });

    /** The outbox rows, oldest first. */
    const outbox = async (store = db) =>
      (
        await store.query<{ id: string; subject: string; data: unknown; headers: object }>(
          `select id, subject, data, headers from ${store.schema}.outbox order by seq`,
        )
      ).rows;

    it("names itself and its schema", () => {
      assert.equal(db.name, "orders");
      assert.equal(db.kind, backend.kind);
      assert.equal(db.schema, "gatehouse_orders");
    });

    it("runs queries with parameters and gives rows as node-postgres does", async () => {
      const inserted = await db.query(
        "insert into orders (id, total, doc) values ($1, $2, $3), ($4, $5, $6)",
        ["o-1", 12, JSON.stringify({ items: ["a"] }), "o-2", "9007199254740993", null],
      );
      assert.equal(inserted.rowCount, 2);
      const { rows, rowCount } = await db.query<{ id: string; total: string; doc: unknown }>(
        "select id, total, doc from orders where id = any($1) order by id",
        [["o-1", "o-2"]],
      );
      assert.equal(rowCount, 2);
      // int8 as an exact string, jsonb parsed: the same on both databases.
      assert.deepEqual(rows, [
        { id: "o-1", total: "12", doc: { items: ["a"] } },
        { id: "o-2", total: "9007199254740993", doc: null },
      ]);
      const updated = await db.query("update orders set total = total + 1 where id = $1", ["o-1"]);
      assert.equal(updated.rowCount, 1);
      await assert.rejects(db.query("select * from no_such_table"), { code: "42P01" });
    });

    it("commits a transaction and resolves with what its function returned", async () => {
      const result = await db.transaction(async (tx) => {
        await tx.query("insert into orders (id, total) values ($1, $2)", ["t-1", 5]);
        const { rows } = await tx.query<{ n: string }>(
          "select count(*) as n from orders where id = $1",
          ["t-1"],
        );
        return rows[0]!.n;
      });
      assert.equal(result, "1");
      const { rows } = await db.query("select total from orders where id = 't-1'");
      assert.deepEqual(rows, [{ total: "5" }]);
    });

    it("rolls back a transaction whose function throws, and rethrows that error", async () => {
      const failure = new Error("payment declined");
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("insert into orders (id, total) values ($1, $2)", ["t-2", 5]);
          throw failure;
        }),
        (error) => error === failure,
      );
      const failedSql = db.transaction(async (tx) => {
        await tx.query("insert into orders (id, total) values ($1, $2)", ["t-3", 5]);
        await tx.query("insert into orders (id, total) values ($1, $2)", ["t-3", 6]);
      });
      await assert.rejects(failedSql, { code: "23505" });
      const { rows } = await db.query("select id from orders where id in ('t-2', 't-3')");
      assert.deepEqual(rows, []);
      // The store is usable after both.
      assert.equal((await db.query("select 1 as one")).rows[0]!.one, 1);
    });

    it("writes tx.publish to the outbox only when the transaction commits, and tells listeners only then", async () => {
      const before = (await outbox()).length;
      let told = 0;
      const stop = db.onOutboxWrite(() => told++);
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.publish("orders.created", { orderId: "r-1" }, { id: "r-1" });
          throw new Error("rolled back");
        }),
        /rolled back/,
      );
      assert.equal((await outbox()).length, before);
      assert.equal(told, 0, "no listener call for a rolled-back publish");

      await db.transaction(async (tx) => {
        await tx.query("insert into orders (id, total) values ($1, $2)", ["c-1", 3]);
        await tx.publish("orders.created", { orderId: "c-1" }, { id: "c-1" });
        await tx.publish("orders.priced", { orderId: "c-1", total: 3 });
        assert.equal(told, 0, "listeners are told after the commit, not before");
      });
      assert.equal(told, 1, "one call for the commit");
      const rows = (await outbox()).slice(before);
      assert.equal(rows.length, 2);
      assert.deepEqual(rows[0], {
        id: "c-1",
        subject: "orders.created",
        data: { orderId: "c-1" },
        headers: {},
      });
      assert.equal(rows[1]!.subject, "orders.priced");
      assert.match(
        rows[1]!.id,
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );

      // A transaction that wrote no outbox row tells nobody; an unsubscribed listener hears nothing.
      await db.transaction(async (tx) => {
        await tx.query("select 1");
      });
      assert.equal(told, 1);
      stop();
      await db.transaction((tx) => tx.publish("orders.created", { orderId: "c-2" }));
      assert.equal(told, 1);
    });

    it("gives published events the trace and request id of the call being handled", async () => {
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const spanId = "00f067aa0ba902b7";
      const context = trace.setSpanContext(ROOT_CONTEXT, {
        traceId,
        spanId,
        traceFlags: TraceFlags.SAMPLED,
      });
      await withCallContext({ requestId: "req-42", trace: context }, () =>
        db.transaction(async (tx) => {
          await tx.publish("orders.traced", { n: 1 }, { id: "traced-1" });
          await tx.publish(
            "orders.traced",
            { n: 2 },
            { id: "traced-2", headers: { "x-request-id": "mine", tenant: "t1" } },
          );
        }),
      );
      const rows = (await outbox()).filter((row) => row.subject === "orders.traced");
      assert.deepEqual(
        rows.map((row) => row.headers),
        [
          { traceparent: `00-${traceId}-${spanId}-01`, "x-request-id": "req-42" },
          { traceparent: `00-${traceId}-${spanId}-01`, "x-request-id": "mine", tenant: "t1" },
        ],
      );
    });

    it("refuses to publish what a bus could not send, writing nothing", async () => {
      const before = (await outbox()).length;
      await db.transaction(async (tx) => {
        await assert.rejects(tx.publish("orders.*", {}), TypeError);
        await assert.rejects(tx.publish("orders created", {}), TypeError);
        await assert.rejects(tx.publish("orders.created", undefined), /data must be JSON/);
        await assert.rejects(tx.publish("orders.created", { big: 1n }), /data must be JSON/);
      });
      assert.equal((await outbox()).length, before);
    });

    it("refuses a transaction's queries once it has ended, and everything once closed", async () => {
      let kept: Parameters<Parameters<Store["transaction"]>[0]>[0] | undefined;
      await db.transaction(async (tx) => {
        kept = tx;
      });
      await assert.rejects(kept!.query("select 1"), (error) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, "GATEHOUSE_STORE_TRANSACTION_ENDED");
        return true;
      });
      await assert.rejects(kept!.publish("orders.late", {}), {
        code: "GATEHOUSE_STORE_TRANSACTION_ENDED",
      });

      const other = await backend.open("closing");
      await other.close();
      await other.close(); // twice is fine
      await assert.rejects(other.query("select 1"), { code: "GATEHOUSE_STORE_CLOSED" });
      await assert.rejects(
        other.transaction(async () => {}),
        { code: "GATEHOUSE_STORE_CLOSED" },
      );
    });

    it("keeps the SDK tables and the data across close and reopen, migrating once", async () => {
      const first = await backend.open("reopened");
      await first.query("create table notes (value text)");
      await first.query("insert into notes values ($1)", ["kept"]);
      await first.transaction((tx) => tx.publish("notes.added", { value: "kept" }, { id: "n-1" }));
      await first.close();
      const again = await backend.open("reopened");
      try {
        assert.deepEqual((await again.query("select value from notes")).rows, [{ value: "kept" }]);
        assert.deepEqual((await again.query(`select id from ${again.schema}.outbox`)).rows, [
          { id: "n-1" },
        ]);
        const versions = await again.query<{ version: number }>(
          `select version from ${again.schema}.migrations order by version`,
        );
        assert.deepEqual(
          versions.rows.map((row) => row.version),
          [1],
        );
        const tables = await again.query<{ table_name: string }>(
          "select table_name from information_schema.tables where table_schema = $1 order by table_name",
          [again.schema],
        );
        assert.deepEqual(
          tables.rows.map((row) => row.table_name),
          ["inbox", "migrations", "outbox", "saga_steps", "sagas"],
        );
      } finally {
        await again.close();
      }
    });

    it("lists the open stores of the process and tells who asks when one opens or closes", async () => {
      assert.ok(openStores().includes(db));
      const opened: string[] = [];
      const closed: string[] = [];
      const stopOpened = onStoreOpened((store) => opened.push(store.name));
      const stopClosed = onStoreClosed((store) => closed.push(store.name));
      try {
        const listed = await backend.open("listed");
        assert.deepEqual(opened, ["listed"]);
        assert.ok(openStores().includes(listed));
        await listed.close();
        assert.deepEqual(closed, ["listed"]);
        assert.ok(!openStores().includes(listed));
      } finally {
        stopOpened();
        stopClosed();
      }
    });
  });
}
