import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { watchService } from "../../test/helpers/registry.ts";
import { until } from "../../test/helpers/until.ts";
import { MemoryRegistryStore } from "./memory-store.ts";
import { streamWatch } from "./watch-stream.ts";

const store = new MemoryRegistryStore({ removeAfter: 60_000 });
let watching = 0;
const server = createServer((_req, res) => {
  watching++;
  res.on("close", () => watching--);
  streamWatch(store, "orders", res, { keepAliveMs: 50 });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
  await store.close();
});

describe("watch stream", () => {
  it("sends keepalive comments between events, and stops watching when the client leaves", async () => {
    const watch = await watchService(base, "orders");
    await watch.next("snapshot");
    await until(() => watch.comments.filter((c) => c === "keepalive").length >= 2, "keepalives");
    await store.put({
      service: "orders",
      id: "a",
      address: "10.0.0.7",
      port: 9003,
      protocol: "http",
      ttlMs: 10_000,
      weight: 1,
      tags: [],
      metadata: {},
    });
    assert.equal((await watch.next("put")).data.instance.id, "a");
    watch.close();
    await until(() => watching === 0, "the server side closed");
  });
});
