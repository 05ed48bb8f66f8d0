// Consistent hashing over real sockets: a key stays on its target across requests and
// across a reload.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("consistent-hash", () => {
  it("keeps each key on the same target across requests and reloads", async () => {
    const ups: Upstream[] = [];
    for (let i = 0; i < 3; i++) ups.push(await startUpstream((_req, res) => res.end(`up${i}`)));
    const config = (extraRoute: boolean) =>
      testConfig({
        services: [
          {
            name: "svc",
            targets: ups.map((up) => ({ url: up.url })),
            loadBalancer: { algorithm: "consistent-hash", hashOn: { header: "x-user" } },
          },
        ],
        routes: [
          { name: "all", match: { paths: ["/*"] }, service: "svc" },
          ...(extraRoute ? [{ name: "extra", match: { paths: ["/extra"] }, service: "svc" }] : []),
        ],
      });
    const gw = await startGateway(config(false));
    const mapping = async () => {
      const seen: string[] = [];
      for (let user = 0; user < 30; user++) {
        const res = await request(`${gw.url}/cart`, { headers: { "x-user": `user-${user}` } });
        seen.push(await res.body.text());
      }
      return seen;
    };
    try {
      const first = await mapping();
      assert.deepEqual(await mapping(), first, "same key, same target");
      assert.ok(new Set(first).size === 3, `keys spread over all targets: ${first}`);
      await gw.gateway.reload(parseGatewayConfig(JSON.stringify(config(true)), "reload.yaml", {}));
      assert.deepEqual(await mapping(), first, "same mapping after a reload");
    } finally {
      await gw.stop();
      for (const up of ups) await up.close();
    }
  });
});
