import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageChannel } from "node:worker_threads";
import { type NodeCounterKind, NodeLimitClient, NodeLimitService } from "./node-limits.ts";

/** A counter of its own kind: the nth request for a key is answered n, up to `limit`. */
const upTo: NodeCounterKind<{ limit: number }, number | "full"> = {
  kind: "up-to",
  create({ limit }) {
    const counts = new Map<string, number>();
    return {
      idleMs: 60_000,
      decide(key) {
        const count = (counts.get(key) ?? 0) + 1;
        if (count > limit) return "full";
        counts.set(key, count);
        return count;
      },
    };
  },
};

const clientsOf = (service: NodeLimitService, count: number) =>
  Array.from({ length: count }, () => {
    const { port1, port2 } = new MessageChannel();
    service.serve(port1);
    return { client: new NodeLimitClient(port2), ports: [port1, port2] };
  });

describe("node limits", () => {
  it("keeps one count per scope across every client, built by the kind the plugin names", async () => {
    const service = new NodeLimitService([upTo]);
    const clients = clientsOf(service, 3);
    try {
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          clients[i % 3]!.client.count(upTo, "route:r", { limit: 10 }, "10.0.0.1"),
        ),
      );
      assert.equal(answers.filter((answer) => answer !== "full").length, 10);
      assert.deepEqual(new Set(answers.filter((answer) => answer !== "full")).size, 10);
      // Another key, and the same key under another scope, count afresh.
      const other = await clients[0]!.client.count(upTo, "route:r", { limit: 10 }, "10.0.0.2");
      const scoped = await clients[1]!.client.count(upTo, "route:s", { limit: 1 }, "10.0.0.1");
      assert.deepEqual([other, scoped], [1, 1]);
      assert.equal(service.size, 2);
    } finally {
      for (const { ports } of clients) for (const port of ports) port.close();
    }
  });
  it("refuses a kind of count the node was not given, without failing the others", async () => {
    const service = new NodeLimitService([upTo]);
    const [{ client, ports }] = clientsOf(service, 1) as [ReturnType<typeof clientsOf>[0]];
    const unknown: NodeCounterKind<object, number> = {
      kind: "unknown",
      create: upTo.create as never,
    };
    try {
      const [refused, counted] = await Promise.allSettled([
        client.count(unknown, "route:r", {}, "k"),
        client.count(upTo, "route:r", { limit: 1 }, "k"),
      ]);
      assert.equal(refused.status, "rejected");
      assert.match(String((refused as PromiseRejectedResult).reason), /counts no "unknown"/);
      assert.deepEqual(counted, { status: "fulfilled", value: 1 });
    } finally {
      for (const port of ports) port.close();
    }
  });
  it("holds N in flight per node, gives slots back, and frees a worker's slots when it ends", async () => {
    const service = new NodeLimitService([]);
    const channels = [0, 1].map(() => {
      const { port1, port2 } = new MessageChannel();
      service.serve(port1);
      return { client: new NodeLimitClient(port2), port1, port2 };
    });
    const [a, b] = channels as [(typeof channels)[0], (typeof channels)[0]];
    try {
      assert.equal(await a.client.acquire("c", 2, "k"), true);
      assert.equal(await b.client.acquire("c", 2, "k"), true);
      assert.equal(await a.client.acquire("c", 2, "k"), false, "two in flight over both");
      assert.equal(await b.client.acquire("c", 2, "other"), true, "another key has its own");
      b.client.release("c", "other");
      a.client.release("c", "k");
      assert.equal(await a.client.acquire("c", 2, "k"), true, "a slot given back is free");
      assert.equal(await b.client.acquire("c", 2, "k"), false);
      assert.equal(service.inFlight, 2);
      // Worker a ends with a request in flight: its slot is given back, b's stays.
      a.port2.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(service.inFlight, 1);
      assert.equal(await b.client.acquire("c", 2, "k"), true);
    } finally {
      for (const { port1, port2 } of channels) {
        port1.close();
        port2.close();
      }
    }
  });
});
