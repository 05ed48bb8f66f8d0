// The rate limit counted by a node's supervisor: one count for every worker that asks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageChannel } from "node:worker_threads";
import { NodeLimitClient, NodeLimitService } from "../../stores/node-limits.ts";
import { rateLimitNodeCounter } from "./node-counter.ts";

const definition = {
  rules: [{ limit: 10, windowMs: 60_000 }],
  algorithm: "sliding-window" as const,
};

describe("rate limit counted per node", () => {
  it("admits 10 of 30 whoever asks, and counts another key afresh", async () => {
    const service = new NodeLimitService([rateLimitNodeCounter]);
    const clients = [0, 1, 2].map(() => {
      const { port1, port2 } = new MessageChannel();
      service.serve(port1);
      return { client: new NodeLimitClient(port2), ports: [port1, port2] };
    });
    try {
      const decisions = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          clients[i % 3]!.client.count(rateLimitNodeCounter, "route:r", definition, "10.0.0.1"),
        ),
      );
      assert.equal(decisions.filter((decision) => decision.admitted).length, 10);
      const other = await clients[0]!.client.count(
        rateLimitNodeCounter,
        "route:r",
        definition,
        "10.0.0.2",
      );
      assert.deepEqual([other.admitted, other.remaining], [true, 9]);
    } finally {
      for (const { ports } of clients) for (const port of ports) port.close();
    }
  });
});
