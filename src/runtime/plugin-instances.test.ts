// A runtime does not keep the one it replaced alive: after a few reloads the first
// runtime's plugin instances are garbage (a runtime holding its predecessor would keep
// every runtime since start alive).
import assert from "node:assert/strict";
import { it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Gateway } from "../gateway.ts";
import { parseGatewayConfig } from "./validate.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const config = (limit: number) =>
  parseGatewayConfig(
    [
      "gateway: { listen: [{ host: 127.0.0.1, port: 0 }], log: { level: silent } }",
      'services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]',
      "routes:",
      '  - { name: r, match: { paths: ["/a"] }, service: s, plugins: [{ name: rate-limit, config: { limit: ' +
        `${limit}, window: 1m } }] }`,
    ].join("\n"),
    "gatehouse.yaml",
  );

it("lets the replaced runtimes' plugin instances be collected", async () => {
  const gateway = new Gateway(config(1));
  const first = new WeakRef(gateway.runtime.plugins);
  for (let limit = 2; limit <= 5; limit++) await gateway.reload(config(limit));
  await gateway.stop();
  for (let i = 0; i < 3 && first.deref(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  assert.equal(first.deref(), undefined);
});
