// SIGTERM to a service in the middle of an event handler and of a saga step: the handler
// and the step end with the store still open (the event applied and acked, the step logged
// done), no new step starts, and the saga is released for another process to resume at
// once, not after its lease. A real child process, real NATS, real PostgreSQL.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect as connectNats } from "@nats-io/transport-node";
import { events, type Store, saga, store } from "gatehouse-gateway/sdk";
import { exited } from "../helpers/child-process.ts";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { type ServiceProcess, startServiceProcess } from "../helpers/sdk-service-process.ts";
import { unique } from "./events.case.ts";

const worker = fileURLToPath(new URL("../fixtures/sdk/shutdown-worker.ts", import.meta.url));

describe("sdk events and sagas on SIGTERM", () => {
  let nats: NatsServer;
  let database: TestDatabase;
  let child: ServiceProcess | undefined;
  let db: Store | undefined;

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
  });

  after(async () => {
    await child?.kill();
    await db?.close();
    await database?.drop();
    await nats?.remove();
  });

  it("lets the running handler and saga step end before the store closes, and releases the saga", async () => {
    const name = unique("term");
    const subject = `${name}.placed`;
    child = startServiceProcess(
      {
        DATABASE_URL: database.url,
        NATS_URL: nats.url,
        NAME: name,
        SUBJECT: subject,
        WORK_MS: "1000",
      },
      worker,
    );
    await child.waitFor("ready", 20_000);
    const bus = await events.connect(nats.url, { stores: [] });
    try {
      await bus.publish(subject, { order: "o-1" }, { id: "e-1" });
    } finally {
      await bus.close();
    }
    await Promise.all([child.waitFor("handling"), child.waitFor("packing")]);
    child.process.kill("SIGTERM");
    await Promise.race([
      exited(child.process),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("the service did not exit within 15s")), 15_000),
      ),
    ]);
    const said = child.events.map((event) => event.event);
    assert.ok(said.includes("handled"), `the handler ended: ${said.join(", ")}`);
    assert.ok(said.includes("packed"), `the step ended: ${said.join(", ")}`);
    assert.deepEqual(
      child.events.filter((event) => event.event === "saga-stopped").map((event) => event.code),
      ["GATEHOUSE_SAGA_CLOSED"],
    );
    assert.doesNotMatch(
      child.stderr(),
      /closed|GATEHOUSE_STORE/i,
      "nothing failed on a closed store",
    );

    db = await store.open(database.url, { name });
    const effects = await db.query(`select event_id from ${name}.effects`);
    assert.deepEqual(effects.rows, [{ event_id: "e-1" }], "the event applied");
    const nc = await connectNats({ servers: nats.url });
    try {
      const info = await (await jetstreamManager(nc)).consumers.info(name.split(".")[0]!, name);
      assert.equal(info.num_ack_pending + info.num_pending, 0, "the event acked");
    } finally {
      await nc.close();
    }
    const steps = await db.query(`select step from ${name}.steps`);
    assert.deepEqual(steps.rows, [{ step: "pack" }], "no step started after the signal");
    const { rows } = await db.query<{ status: string; lease_until: Date | null }>(
      `select status, lease_until from ${db.schema}.sagas where id = $1`,
      [`${name}-o-1`],
    );
    assert.deepEqual(rows, [{ status: "running", lease_until: null }], "released, not held");

    // Another process's definition takes it over now, not after the 30s lease.
    const shipment = saga<{ order: string }>("shipment", { db, lease: "30s" })
      .step("pack", async () => ({ packed: true }))
      .step("send", async () => {
        await db!.query(`insert into ${name}.steps (step) values ('send')`);
        return { sent: true };
      });
    try {
      assert.equal(await shipment.resume(), 1);
      const result = await shipment.run({ order: "o-1" }, { id: `${name}-o-1` });
      assert.equal(result.status, "completed");
      const after = await db.query(`select step from ${name}.steps order by step`);
      assert.deepEqual(after.rows, [{ step: "pack" }, { step: "send" }], "pack not run again");
    } finally {
      await shipment.close();
    }
  });
});
