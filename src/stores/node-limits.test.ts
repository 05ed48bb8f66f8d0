import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageChannel } from "node:worker_threads";
import { NodeLimitClient, NodeLimitService } from "./node-limits.ts";

const rules = [{ limit: 10, windowMs: 60_000 }];

describe("node limits", () => {
  it("counts one limit across every client: 10 of 30 admitted, whoever asks", async () => {
    const service = new NodeLimitService();
    const clients = [0, 1, 2].map(() => {
      const { port1, port2 } = new MessageChannel();
      service.serve(port1);
      return { client: new NodeLimitClient(port2), ports: [port1, port2] };
    });
    try {
      const decisions = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          clients[i % 3]!.client.decide("route:r", rules, "sliding-window", "10.0.0.1"),
        ),
      );
      assert.equal(decisions.filter((d) => d.admitted).length, 10);
      // Another key, and the same key under another scope, count afresh.
      const other = await clients[0]!.client.decide("route:r", rules, "sliding-window", "10.0.0.2");
      const scoped = await clients[1]!.client.decide(
        "route:s",
        rules,
        "sliding-window",
        "10.0.0.1",
      );
      assert.deepEqual([other.admitted, other.remaining, scoped.admitted], [true, 9, true]);
      assert.equal(service.size, 2);
    } finally {
      for (const { ports } of clients) for (const port of ports) port.close();
    }
  });
  it("holds N in flight per node, gives slots back, and frees a worker's slots when it ends", async () => {
    const service = new NodeLimitService();
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
