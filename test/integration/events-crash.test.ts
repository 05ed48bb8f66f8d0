// The SDK's events when things die: NATS killed and restarted mid-stream, consumer processes
// SIGKILLed mid-stream and between commit and ack, a producer SIGKILLed between its commit
// and the outbox relay's publish, and the embedded transport delivering after a restart
// what was committed and not settled. Effects are counted in tables, not deliveries.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect as connectNats } from "@nats-io/transport-node";
import { type EventBus, events, type Store, store } from "gatehouse-gateway/sdk";
import { exited } from "../helpers/child-process.ts";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { type ServiceProcess, startServiceProcess } from "../helpers/sdk-service-process.ts";
import { until } from "../helpers/until.ts";
import { unique } from "./events.case.ts";

const worker = fileURLToPath(new URL("../fixtures/sdk/events-worker.ts", import.meta.url));

/** How many times each event id left an effect in `<schema>.effects`. */
async function effects(db: Store, schema: string): Promise<Map<string, number>> {
  const { rows } = await db.query<{ event_id: string; times: string }>(
    `select event_id, count(*) as times from ${schema}.effects group by event_id`,
  );
  return new Map(rows.map((row) => [row.event_id, Number(row.times)]));
}

/** Asserts that exactly `ids` were applied, each once. */
function appliedOnce(applied: Map<string, number>, ids: string[]): void {
  const twice = [...applied].filter(([, times]) => times > 1);
  assert.deepEqual(twice, [], "no event applied twice");
  assert.deepEqual([...applied.keys()].sort(), [...ids].sort());
}

describe("sdk events when processes die", () => {
  let nats: NatsServer;
  let database: TestDatabase;
  let db: Store;
  const children: ServiceProcess[] = [];
  const buses: EventBus[] = [];

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
    db = await store.open(database.url, { name: "observer" });
  });

  after(async () => {
    for (const child of children) await child.kill();
    for (const bus of buses) await bus.close();
    await db?.close();
    await database?.drop();
    await nats?.remove();
  });

  const spawnWorker = (env: Record<string, string>): ServiceProcess => {
    const child = startServiceProcess(
      { DATABASE_URL: database.url, NATS_URL: nats.url, ...env },
      worker,
    );
    children.push(child);
    return child;
  };

  /** The durable consumer as JetStream reports it. */
  const consumerInfo = async (stream: string, durable: string) => {
    const nc = await connectNats({ servers: nats.url });
    try {
      return await (await jetstreamManager(nc)).consumers.info(stream, durable);
    } finally {
      await nc.close();
    }
  };

  const connect = async (): Promise<EventBus> => {
    const bus = await events.connect(nats.url, { stores: [] });
    buses.push(bus);
    return bus;
  };

  it("applies every event exactly once when NATS is killed and restarted mid-stream", async () => {
    const name = unique("natskill");
    const subject = `${name}.happened`;
    const consumerStore = await store.open(database.url, { name });
    try {
      await consumerStore.query(`create schema ${name}`);
      await consumerStore.query(`create table ${name}.effects (event_id text not null)`);
      const consumerBus = await events.connect(nats.url, {
        stores: [],
        ackWait: "1s",
        backoff: ["50ms"],
      });
      buses.push(consumerBus);
      const subscription = consumerBus.subscribe(
        { durable: name, subject, db: consumerStore },
        async (event, tx) => {
          await tx!.query(`insert into ${name}.effects (event_id) values ($1)`, [event.id]);
        },
      );
      await subscription.ready;
      const publisher = await connect();
      const ids = Array.from({ length: 150 }, (_, n) => `ev-${n}`);
      // A publisher that keeps trying an event until JetStream acknowledges it (same id).
      const publishUntilStored = async (id: string) => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          try {
            await publisher.publish(subject, { id }, { id });
            return;
          } catch (error) {
            if (Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      };
      for (const [n, id] of ids.entries()) {
        if (n === 50) {
          await nats.kill();
          setTimeout(() => void nats.restart(), 300);
        }
        if (n === 100)
          await until(
            async () => (await effects(consumerStore, name)).size >= 60,
            "consuming after the restart",
            30_000,
          );
        await publishUntilStored(id);
      }
      await until(
        async () => (await effects(consumerStore, name)).size === ids.length,
        "every event applied",
        60_000,
      );
      appliedOnce(await effects(consumerStore, name), ids);
    } finally {
      await consumerStore.close();
    }
  });

  it("publishes and delivers again, creating stream and consumer anew, once NATS comes back without its data", async () => {
    const fresh = await startNatsServer();
    try {
      const name = unique("wiped");
      const subject = `${name}.happened`;
      const bus = await events.connect(fresh.url, { stores: [] });
      buses.push(bus);
      const earlier: string[] = [];
      const made = bus.subscribe({ durable: `${name}e`, subject }, async (event) => {
        earlier.push(event.id);
      });
      await made.ready;
      await bus.publish(subject, { n: 1 }, { id: "before" });
      await until(() => earlier.includes("before"), "the first event delivered");
      await fresh.restartEmpty();
      // The bus reconnects on its own; then the publish must find its way to a new stream.
      const deadline = Date.now() + 15_000;
      let lastError: unknown;
      for (;;) {
        try {
          await bus.publish(subject, { n: 2 }, { id: "after" });
          break;
        } catch (error) {
          lastError = error;
          if (Date.now() > deadline) throw lastError;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      const seen: string[] = [];
      const subscription = bus.subscribe({ durable: name, subject }, async (event) => {
        seen.push(event.id);
      });
      await subscription.ready;
      await until(() => seen.includes("after"), "the event published after the loss delivered");
      assert.deepEqual(seen, ["after"], "the new stream holds only what was published after");
      await subscription.close();
      await until(
        () => earlier.includes("after"),
        "the subscription made before the loss delivering again",
        15_000,
      );
      assert.deepEqual(earlier, ["before", "after"]);
      await made.close();
    } finally {
      await fresh.remove();
    }
  });

  it("keeps a PGlite store answering while NATS is down, and relays its outbox once NATS is back", async () => {
    const name = unique("natsdown");
    const subject = `${name}.placed`;
    const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-events-natsdown-"));
    const pglite = await store.open(undefined, { name, dataDir });
    try {
      const bus = await events.connect(nats.url, { stores: [pglite] });
      buses.push(bus);
      const seen: string[] = [];
      const subscription = bus.subscribe({ durable: name, subject }, async (event) => {
        seen.push(event.id);
      });
      await subscription.ready;
      await nats.kill();
      try {
        await pglite.transaction((tx) => tx.publish(subject, { orderId: "o-1" }, { id: "o-1" }));
        // Queries across a few relay rounds (one a second), each of which cannot publish.
        const slowest = { ms: 0 };
        const end = Date.now() + 2_500;
        while (Date.now() < end) {
          const started = Date.now();
          await pglite.query("select 1");
          slowest.ms = Math.max(slowest.ms, Date.now() - started);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.ok(slowest.ms < 1_500, `a query waited ${slowest.ms} ms for the outbox relay`);
      } finally {
        await nats.restart();
      }
      await until(() => seen.includes("o-1"), "the outbox event relayed after the restart", 30_000);
    } finally {
      await pglite.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("applies every event exactly once when consumer processes are SIGKILLed mid-stream and between commit and ack", async () => {
    const name = unique("consumerkill");
    const subject = `${name}.happened`;
    const env = { NAME: name, DURABLE: name, SUBJECT: subject, HANDLER_MS: "5" };
    const publisher = await connect();
    const ids = Array.from({ length: 120 }, (_, n) => `ev-${n}`);
    // The first consumer dies right after committing ev-20, before its ack.
    const first = spawnWorker({ ...env, KILL_AFTER_COMMIT_OF: "ev-20" });
    await first.waitFor("ready", 30_000);
    for (const id of ids) await publisher.publish(subject, { id }, { id });
    await exited(first.process);
    assert.equal(first.process.signalCode, "SIGKILL", first.stderr());
    await db.query(`create schema if not exists ${name}`);
    const applied = () => effects(db, name);
    assert.equal((await applied()).get("ev-20"), 1, "ev-20 was committed before the kill");
    // ev-20 is the stream's 21st message: the broker never got its ack (acks follow commits).
    const ackFloor = async () => (await consumerInfo(name, name)).ack_floor.stream_seq;
    assert.ok((await ackFloor()) < 21, `acked up to ${await ackFloor()} before the kill`);
    // The second is killed by the test wherever it is.
    const second = spawnWorker(env);
    await second.waitFor("ready", 30_000);
    await until(async () => (await applied()).size >= 60, "the second consumer at work", 30_000);
    await second.kill();
    const third = spawnWorker(env);
    await until(async () => (await applied()).size === ids.length, "every event applied", 60_000);
    appliedOnce(await applied(), ids);
    // ev-20 came back (it was never acked), was found in the inbox and acked without its
    // handler running again.
    const redelivered = [...second.events, ...third.events].filter(
      (event) => event.event === "applied" && event.id === "ev-20",
    );
    assert.deepEqual(redelivered, [], "the inbox kept ev-20 from being applied again");
    await until(async () => (await ackFloor()) === ids.length, "every event acked", 30_000);
    await third.kill();
  });

  it("publishes, once, an outbox event whose producer was SIGKILLed between commit and publish", async () => {
    const name = unique("outboxkill");
    const subject = `${name}.placed`;
    const bus = await connect();
    const seen: string[] = [];
    const subscription = bus.subscribe({ durable: name, subject }, async (event) => {
      seen.push(event.id);
    });
    await subscription.ready;
    const producer = spawnWorker({
      NAME: name,
      SUBJECT: subject,
      COUNT: "1",
      KILL_AFTER_COMMIT: "1",
    });
    await exited(producer.process);
    assert.equal(producer.process.signalCode, "SIGKILL", producer.stderr());
    const outbox = `gatehouse_${name}.outbox`;
    const rows = await db.query<{ id: string; published_at: Date | null }>(
      `select id, published_at from ${outbox}`,
    );
    assert.deepEqual(
      rows.rows,
      [{ id: "order-1", published_at: null }],
      "committed, not published",
    );
    assert.equal(seen.length, 0, "nothing published before the restart");
    // On restart (committing nothing new), its relay publishes the row.
    const restarted = spawnWorker({ NAME: name, SUBJECT: subject });
    await restarted.waitFor("ready", 30_000);
    await until(() => seen.length === 1, "the event published after the restart", 10_000);
    await until(
      async () =>
        (await db.query(`select 1 from ${outbox} where published_at is null`)).rowCount === 0,
      "the row marked published",
    );
    await bus.publish(subject, { marker: true }, { id: "marker" });
    await until(() => seen.includes("marker"), "the marker");
    assert.deepEqual(seen, ["order-1", "marker"]);
    await restarted.kill();
  });

  describe("on the embedded transport", () => {
    let dataDir: string;
    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "gatehouse-events-embedded-"));
    });
    after(() => rm(dataDir, { recursive: true, force: true }));

    it("delivers after a restart of the process what was committed to the outbox and not settled", async () => {
      const name = unique("embedded");
      const env = {
        NAME: name,
        SUBJECT: `${name}.placed`,
        DURABLE: name,
        DATABASE_URL: "",
        NATS_URL: "",
        DATA_DIR: join(dataDir, name),
      };
      // Commits 5 events; its handler hangs on the first: nothing is settled.
      const first = spawnWorker({ ...env, COUNT: "5", HANG: "1" });
      await first.waitFor("entered", 60_000);
      await first.waitFor("ready", 30_000);
      await first.kill();
      const second = spawnWorker(env);
      await second.waitFor("ready", 60_000);
      await until(
        () => second.events.some((event) => event.event === "effects" && event.count === 5),
        "the 5 events applied (committed) after the restart",
        30_000,
      );
      await second.kill();
      const pglite = await store.open(undefined, { name, dataDir: env.DATA_DIR });
      try {
        appliedOnce(await effects(pglite, name), [
          "order-1",
          "order-2",
          "order-3",
          "order-4",
          "order-5",
        ]);
      } finally {
        await pglite.close();
      }
    });
  });
});
