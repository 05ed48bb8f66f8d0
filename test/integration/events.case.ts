/**
 * @module test/integration/events.case
 * What a bus does whichever transport is under it: one suite, run on NATS JetStream
 * (events-jetstream.test.ts) and on the embedded transport (events-embedded.test.ts), with
 * its store cases on PGlite and on PostgreSQL. Each test uses subjects and durables of its
 * own, so the tests share a broker without seeing each other's events.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";
import {
  currentCallContext,
  type DeadLetter,
  type DeliveredEvent,
  type EventBus,
  type EventsOptions,
  events,
  type Store,
  sdkMetrics,
  store,
  withCallContext,
} from "gatehouse-gateway/sdk";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { until } from "../helpers/until.ts";

/** How the suite reaches one transport. */
export interface EventsTransportCase {
  kind: "jetstream" | "embedded";
  /** Starts what the transport needs (a nats-server); resolves with the URL to connect to. */
  setup(): Promise<string | undefined>;
  teardown(): Promise<void>;
}

/** A name no other test uses: lower-case letters and digits. */
export function unique(prefix: string): string {
  return `${prefix}${randomBytes(4).toString("hex")}`;
}

/** The value of an SDK metric for these labels (0 when it has none yet). */
export async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const found = sdkMetrics.getSingleMetric(name);
  assert.ok(found, `metric ${name} exists`);
  const { values } = await found.get();
  const value = values.find((entry) =>
    Object.entries(labels).every(([key, want]) => entry.labels[key] === want),
  );
  return value?.value ?? 0;
}

/** The events suite every transport passes. */
export function eventsSuite(transport: EventsTransportCase): void {
  describe(`sdk events on ${transport.kind}`, () => {
    let url: string | undefined;
    let database: TestDatabase;
    let pgliteRoot: string;
    const buses: EventBus[] = [];
    const stores: Store[] = [];

    before(async () => {
      url = await transport.setup();
      database = await createTestDatabase();
      pgliteRoot = await mkdtemp(join(tmpdir(), "gatehouse-events-pglite-"));
    });

    after(async () => {
      for (const bus of buses) await bus.close();
      for (const db of stores) await db.close();
      await database?.drop();
      await rm(pgliteRoot, { recursive: true, force: true });
      await transport.teardown();
    });

    /** A bus on the transport with short retries, closed after the suite. */
    const connect = async (options: EventsOptions = {}): Promise<EventBus> => {
      const bus = await events.connect(url, { backoff: ["20ms"], stores: [], ...options });
      buses.push(bus);
      return bus;
    };

    /** A store with an `effects` table of its own (in a schema named after it), on PGlite or PostgreSQL. */
    const openStore = async (kind: "pglite" | "postgres"): Promise<Store> => {
      const name = unique("svc");
      const db =
        kind === "pglite"
          ? await store.open(undefined, { name, dataDir: join(pgliteRoot, name) })
          : await store.open(database.url, { name });
      stores.push(db);
      await db.query(`create schema ${name}`);
      await db.query(
        `create table ${name}.effects (event_id text not null, subject text not null)`,
      );
      return db;
    };

    it("delivers a published event with its id, data and headers, once per durable", async () => {
      const bus = await connect();
      const subject = `${unique("orders")}.created`;
      const seen: DeliveredEvent[] = [];
      const other: string[] = [];
      const first = bus.subscribe({ durable: unique("a"), subject }, async (event) => {
        seen.push(event);
      });
      const second = bus.subscribe(
        { durable: unique("b"), subject: `${subject.split(".")[0]}.*` },
        async (event) => {
          other.push(event.id);
        },
      );
      await Promise.all([first.ready, second.ready]);
      const result = await bus.publish(subject, { orderId: "o-1", total: 12 }, { id: "o-1" });
      assert.deepEqual(result, { id: "o-1", duplicate: false });
      await until(() => seen.length === 1 && other.length === 1, "both durables got it");
      assert.equal(seen[0]!.id, "o-1");
      assert.equal(seen[0]!.subject, subject);
      assert.deepEqual(seen[0]!.data, { orderId: "o-1", total: 12 });
      assert.equal(seen[0]!.deliveryCount, 1);
      assert.equal(seen[0]!.headers["Nats-Msg-Id"], "o-1");
      assert.deepEqual(other, ["o-1"]);
      const generated = await bus.publish(subject, [1, 2]);
      assert.match(generated.id, /^[0-9a-f-]{36}$/);
      await until(() => seen.length === 2, "the event with a generated id");
      assert.equal(seen[1]!.id, generated.id);
    });

    it("carries the publisher's trace and request id into the handler's call context", async () => {
      const bus = await connect();
      const subject = `${unique("traced")}.done`;
      const traceId = randomBytes(16).toString("hex");
      const parent = trace.setSpanContext(ROOT_CONTEXT, {
        traceId,
        spanId: randomBytes(8).toString("hex"),
        traceFlags: TraceFlags.SAMPLED,
      });
      let seen:
        | { headers: Record<string, string>; requestId?: string; traceId?: string }
        | undefined;
      const subscription = bus.subscribe({ durable: unique("t"), subject }, async (event) => {
        const context = currentCallContext();
        seen = {
          headers: event.headers,
          requestId: context?.requestId,
          traceId: context?.trace && trace.getSpanContext(context.trace)?.traceId,
        };
      });
      await subscription.ready;
      await withCallContext({ requestId: "req-42", trace: parent }, () =>
        bus.publish(subject, { ok: true }),
      );
      await until(() => seen !== undefined, "the traced event");
      assert.equal(seen!.headers["x-request-id"], "req-42");
      assert.match(seen!.headers.traceparent!, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      assert.equal(seen!.requestId, "req-42");
      assert.equal(seen!.traceId, traceId);
    });

    it("drops a second publish of the same id within the duplicate window", async () => {
      const bus = await connect();
      const subject = `${unique("dedup")}.paid`;
      const ids: string[] = [];
      const subscription = bus.subscribe({ durable: unique("d"), subject }, async (event) => {
        ids.push(event.id);
      });
      await subscription.ready;
      const published = await metric("gatehouse_events_published_total", { subject });
      assert.equal((await bus.publish(subject, { n: 1 }, { id: "pay-1" })).duplicate, false);
      assert.equal((await bus.publish(subject, { n: 2 }, { id: "pay-1" })).duplicate, true);
      await bus.publish(subject, { marker: true }, { id: "marker" });
      // In order: once the marker is in, a second pay-1 would have been delivered before it.
      await until(() => ids.includes("marker"), "the marker");
      assert.deepEqual(ids, ["pay-1", "marker"]);
      assert.equal(await metric("gatehouse_events_published_total", { subject }), published + 2);
    });

    it("redelivers a failing handler with backoff until it succeeds (delivered 3 times, applied once)", async () => {
      const bus = await connect({ backoff: ["30ms", "60ms"] });
      const subject = `${unique("retry")}.made`;
      const durable = unique("r");
      const deliveries: { count: number; at: number }[] = [];
      let applied = 0;
      const subscription = bus.subscribe({ durable, subject }, async (event) => {
        deliveries.push({ count: event.deliveryCount, at: Date.now() });
        if (event.deliveryCount < 3) throw new Error(`attempt ${event.deliveryCount} fails`);
        applied++;
      });
      await subscription.ready;
      await bus.publish(subject, { n: 1 });
      await until(() => applied === 1, "the third delivery to succeed");
      assert.deepEqual(
        deliveries.map((delivery) => delivery.count),
        [1, 2, 3],
      );
      assert.ok(deliveries[1]!.at - deliveries[0]!.at >= 25, "the first backoff (30ms) was kept");
      assert.ok(deliveries[2]!.at - deliveries[1]!.at >= 55, "the second backoff (60ms) was kept");
      assert.equal(await metric("gatehouse_events_delivered_total", { durable }), 3);
      assert.equal(await metric("gatehouse_events_redelivered_total", { durable }), 2);
      await until(
        async () => (await metric("gatehouse_events_acked_total", { durable })) === 1,
        "the ack",
      );
      assert.equal(applied, 1);
    });

    it("dead-letters an event that fails maxDeliver times, with the handler's error", async () => {
      const bus = await connect();
      const subject = `${unique("poison")}.sent`;
      const durable = unique("p");
      let attempts = 0;
      const letters: DeadLetter[] = [];
      const dead = bus.subscribe(
        { durable: unique("dl"), subject: `deadletter.${durable}` },
        async (event: DeliveredEvent<DeadLetter>) => {
          letters.push(event.data);
        },
      );
      const handled: string[] = [];
      const subscription = bus.subscribe({ durable, subject, maxDeliver: 3 }, async (event) => {
        if (event.id !== "poison-1") {
          handled.push(event.id);
          return;
        }
        attempts++;
        throw Object.assign(new Error("no such customer"), { code: "E_CUSTOMER" });
      });
      await Promise.all([dead.ready, subscription.ready]);
      await bus.publish(
        subject,
        { customer: "c-9" },
        { id: "poison-1", headers: { tenant: "t1" } },
      );
      await until(() => letters.length === 1, "the dead letter");
      assert.equal(attempts, 3);
      const letter = letters[0]!;
      assert.deepEqual(letter.error, { message: "no such customer", code: "E_CUSTOMER" });
      assert.equal(letter.event.id, "poison-1");
      assert.equal(letter.event.subject, subject);
      assert.deepEqual(letter.event.data, { customer: "c-9" });
      assert.equal(letter.event.deliveryCount, 3);
      assert.equal(letter.event.headers.tenant, "t1");
      assert.equal(await metric("gatehouse_events_dead_lettered_total", { durable }), 1);
      // Given up on: not delivered again.
      await bus.publish(subject, { marker: true }, { id: "after-poison" });
      await until(() => handled.includes("after-poison"), "the next event");
      assert.equal(attempts, 3);
      assert.equal(letters.length, 1);
    });

    it("counts toward maxDeliver only deliveries that reached the handler, across restarts with a backlog", async () => {
      const bus = await connect();
      const subject = `${unique("backlog")}.sent`;
      const durable = unique("r");
      const letters: DeadLetter[] = [];
      const dead = bus.subscribe(
        { durable: unique("dl"), subject: `deadletter.${durable}` },
        async (event: DeliveredEvent<DeadLetter>) => {
          letters.push(event.data);
        },
      );
      await dead.ready;
      const ids = Array.from({ length: 24 }, (_, n) => `b-${n}`);
      for (const id of ids) await bus.publish(subject, { id }, { id });
      const counts = new Map<string, number>();
      const subscribe = () =>
        bus.subscribe({ durable, subject, maxDeliver: 2 }, async (event) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          counts.set(event.id, Math.max(counts.get(event.id) ?? 0, event.deliveryCount));
        });
      // Stopped and started again five times while a handler runs and the backlog waits.
      for (let restart = 0; restart < 5; restart++) {
        const before = counts.size;
        const subscription = subscribe();
        await subscription.ready;
        await until(() => counts.size > before, `handling after restart ${restart}`);
        await subscription.close();
      }
      const last = subscribe();
      await until(() => counts.size === ids.length || letters.length > 0, "the backlog handled");
      await last.close();
      assert.deepEqual(
        letters.map((letter) => `${letter.event.id}: ${letter.error.code}`),
        [],
        "nothing dead-lettered",
      );
      assert.deepEqual(
        [...counts].filter(([, count]) => count > 1),
        [],
        "each event reached its handler on its first delivery",
      );
    });

    it("terminates an event the handler calls term() on: never redelivered, dead-lettered with the reason", async () => {
      const bus = await connect();
      const subject = `${unique("termed")}.sent`;
      const durable = unique("x");
      const seen: string[] = [];
      const letters: DeadLetter[] = [];
      const dead = bus.subscribe(
        { durable: unique("dl"), subject: `deadletter.${durable}` },
        async (event: DeliveredEvent<DeadLetter>) => {
          letters.push(event.data);
        },
      );
      const subscription = bus.subscribe({ durable, subject }, async (event) => {
        seen.push(event.id);
        if (event.id === "bad") event.term("unknown schema version");
      });
      await Promise.all([dead.ready, subscription.ready]);
      await bus.publish(subject, { v: 99 }, { id: "bad" });
      await bus.publish(subject, { v: 1 }, { id: "good" });
      await until(() => letters.length === 1 && seen.includes("good"), "the dead letter");
      assert.deepEqual(seen, ["bad", "good"]);
      assert.deepEqual(letters[0]!.error, {
        message: "unknown schema version",
        code: "GATEHOUSE_EVENTS_TERMINATED",
      });
      assert.equal(letters[0]!.event.deliveryCount, 1);
    });

    it("reports a durable's lag while its handler is busy, and none once all is acked", async () => {
      const bus = await connect();
      const subject = `${unique("lagging")}.item`;
      const durable = unique("l");
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let entered = 0;
      const subscription = bus.subscribe({ durable, subject }, async () => {
        entered++;
        await gate;
      });
      await subscription.ready;
      for (let n = 0; n < 3; n++) await bus.publish(subject, { n });
      await until(() => entered === 1, "the first handler to start");
      await until(
        async () => (await metric("gatehouse_events_consumer_lag", { durable })) === 3,
        "a lag of 3",
      );
      release();
      await until(
        async () => (await metric("gatehouse_events_acked_total", { durable })) === 3,
        "3 acks",
      );
      await until(
        async () => (await metric("gatehouse_events_consumer_lag", { durable })) === 0,
        "no lag",
      );
    });

    it("refuses a subject, durable or data it cannot carry with GATEHOUSE_EVENTS_INVALID", async () => {
      const bus = await connect();
      await assert.rejects(bus.publish("orders.*", {}), { code: "GATEHOUSE_EVENTS_INVALID" });
      await assert.rejects(bus.publish("orders..x", {}), { code: "GATEHOUSE_EVENTS_INVALID" });
      await assert.rejects(bus.publish("orders.x", undefined), {
        code: "GATEHOUSE_EVENTS_INVALID",
      });
      await assert.rejects(bus.publish("orders.x", { n: 1n }), {
        code: "GATEHOUSE_EVENTS_INVALID",
      });
      assert.throws(() => bus.subscribe({ durable: "a.b", subject: "orders.*" }, async () => {}), {
        code: "GATEHOUSE_EVENTS_INVALID",
      });
      await assert.rejects(events.connect(url, { backoff: ["soon"] }), {
        code: "GATEHOUSE_EVENTS_INVALID",
      });
    });

    for (const kind of ["pglite", "postgres"] as const) {
      describe(`with a store on ${kind}`, () => {
        it("applies redelivered and re-published events exactly once (effects counted, not deliveries)", async () => {
          const db = await openStore(kind);
          const bus = await connect({ duplicateWindow: "100ms" });
          const subject = `${unique("inbox")}.event`;
          const durable = unique("i");
          let deliveries = 0;
          const subscription = bus.subscribe({ durable, subject, db }, async (event, tx) => {
            deliveries++;
            await tx!.query(`insert into ${db.name}.effects (event_id, subject) values ($1, $2)`, [
              event.id,
              event.subject,
            ]);
            // The first delivery of every third event fails after writing: rolled back.
            const n = (event.data as { n: number }).n;
            if (n % 3 === 0 && event.deliveryCount === 1) throw new Error("fails once");
          });
          await subscription.ready;
          const total = 9;
          for (let n = 0; n < total; n++) await bus.publish(subject, { n }, { id: `e-${n}` });
          const count = async () =>
            Number(
              (await db.query<{ n: string }>(`select count(*) as n from ${db.name}.effects`))
                .rows[0]!.n,
            );
          await until(async () => (await count()) === total, "every event applied");
          // Past the duplicate window the broker stores the same ids again: the inbox drops them.
          await new Promise((resolve) => setTimeout(resolve, 150));
          for (let n = 0; n < total; n++) await bus.publish(subject, { n }, { id: `e-${n}` });
          await bus.publish(subject, { n: 100 }, { id: "marker" });
          await until(async () => (await count()) === total + 1, "the marker applied");
          const { rows } = await db.query<{ event_id: string; times: string }>(
            `select event_id, count(*) as times from ${db.name}.effects group by event_id having count(*) > 1`,
          );
          assert.deepEqual(rows, [], "no event applied twice");
          // The handler ran for each first delivery, each retry and the marker; the
          // re-published events stopped at the inbox.
          assert.equal(deliveries, total + 3 + 1);
          assert.equal(
            await metric("gatehouse_events_delivered_total", { durable }),
            2 * total + 3 + 1,
          );
          const inbox = await db.query(
            `select event_id from ${db.schema}.inbox where consumer = $1`,
            [durable],
          );
          assert.equal(inbox.rowCount, total + 1);
          await until(
            async () =>
              (await metric("gatehouse_events_acked_total", { durable })) === 2 * total + 1,
            "every delivery acked (applied, or already applied)",
          );
        });

        it("forgets an applied id after inboxRetention: its inbox row is deleted and a duplicate then is applied again", async () => {
          const db = await openStore(kind);
          const bus = await connect({ duplicateWindow: "100ms" });
          const subject = `${unique("keep")}.event`;
          const [short, long] = [unique("s"), unique("l")];
          const apply = (durable: string) =>
            bus.subscribe(
              { durable, subject, db, inboxRetention: durable === short ? "1s" : undefined },
              async (event, tx) => {
                await tx!.query(
                  `insert into ${db.name}.effects (event_id, subject) values ($1, $2)`,
                  [event.id, durable],
                );
              },
            );
          const subscriptions = [apply(short), apply(long)];
          await Promise.all(subscriptions.map((subscription) => subscription.ready));
          const inboxRows = async (durable: string) =>
            (await db.query(`select 1 from ${db.schema}.inbox where consumer = $1`, [durable]))
              .rowCount;
          const applied = async (durable: string) =>
            (await db.query(`select 1 from ${db.name}.effects where subject = $1`, [durable]))
              .rowCount;
          await bus.publish(subject, { n: 1 }, { id: "k-1" });
          await until(
            async () => (await applied(short)) === 1 && (await applied(long)) === 1,
            "applied by both durables",
          );
          assert.equal(await inboxRows(short), 1, "kept until its retention has passed");
          await until(
            async () => (await inboxRows(short)) === 0,
            "the short-lived inbox row pruned",
          );
          assert.equal(await inboxRows(long), 1, "the default retention keeps it");
          // The same id again, past the broker's duplicate window and the inbox's retention.
          await bus.publish(subject, { n: 1 }, { id: "k-1" });
          await until(
            async () => (await applied(short)) === 2,
            "applied again by the forgetful durable",
          );
          await bus.publish(subject, { n: 2 }, { id: "marker" });
          await until(async () => (await applied(long)) === 2, "the marker applied");
          assert.equal(await applied(long), 2, "the default retention still drops the duplicate");
        });

        it("deletes outbox rows published more than outboxRetention ago, not before", async () => {
          const db = await openStore(kind);
          const bus = await connect({ stores: [db], outboxRetention: "1s" });
          const subject = `${unique("trim")}.placed`;
          await db.transaction(async (tx) => {
            for (let n = 0; n < 3; n++) await tx.publish(subject, { n }, { id: `t-${n}` });
          });
          const rows = async (where: string) =>
            (await db.query(`select 1 from ${db.schema}.outbox where ${where}`)).rowCount;
          await until(async () => (await rows("published_at is not null")) === 3, "published");
          assert.equal(await rows("true"), 3, "kept while younger than the retention");
          await until(async () => (await rows("true")) === 0, "deleted past the retention", 10_000);
          await bus.close();
        });

        it("relays what a committed transaction published, and nothing of a rolled-back one", async () => {
          const db = await openStore(kind);
          const bus = await connect({ stores: [db] });
          const subject = `${unique("outbox")}.placed`;
          const seen: DeliveredEvent[] = [];
          const subscription = bus.subscribe({ durable: unique("o"), subject }, async (event) => {
            seen.push(event);
          });
          await subscription.ready;
          await db.transaction(async (tx) => {
            await tx.query(
              `insert into ${db.name}.effects (event_id, subject) values ('o-1', 'local')`,
            );
            await tx.publish(subject, { orderId: "o-1" }, { id: "o-1" });
          });
          await assert.rejects(
            db.transaction(async (tx) => {
              await tx.publish(subject, { orderId: "o-2" }, { id: "o-2" });
              throw new Error("payment refused");
            }),
            /payment refused/,
          );
          await withCallContext({ requestId: "req-outbox" }, () =>
            db.transaction(async (tx) => {
              await tx.publish(subject, { orderId: "o-3" }, { id: "o-3" });
            }),
          );
          await until(() => seen.length === 2, "the committed events");
          assert.deepEqual(
            seen.map((event) => [event.id, event.data]),
            [
              ["o-1", { orderId: "o-1" }],
              ["o-3", { orderId: "o-3" }],
            ],
          );
          assert.equal(seen[1]!.headers["x-request-id"], "req-outbox");
          await until(
            async () =>
              (await db.query(`select 1 from ${db.schema}.outbox where published_at is null`))
                .rowCount === 0,
            "the rows marked published",
          );
          assert.equal(await metric("gatehouse_events_outbox_pending", { store: db.name }), 0);
          assert.equal(seen.length, 2);
        });

        it("publishes an outbox row once when it was published before the crash but not marked", async () => {
          const db = await openStore(kind);
          const subject = `${unique("remark")}.placed`;
          // As if a relay had published it and died before marking the row.
          const first = await connect({ stores: [] });
          await first.publish(subject, { orderId: "o-9" }, { id: "o-9" });
          await db.transaction((tx) => tx.publish(subject, { orderId: "o-9" }, { id: "o-9" }));
          const seen: string[] = [];
          const subscription = first.subscribe({ durable: unique("m"), subject }, async (event) => {
            seen.push(event.id);
          });
          await subscription.ready;
          await connect({ stores: [db] });
          await until(
            async () =>
              (await db.query(`select 1 from ${db.schema}.outbox where published_at is null`))
                .rowCount === 0,
            "the row marked published",
          );
          await first.publish(subject, { marker: true }, { id: "marker" });
          await until(() => seen.includes("marker"), "the marker");
          assert.deepEqual(seen, ["o-9", "marker"]);
        });
      });
    }
  });
}
