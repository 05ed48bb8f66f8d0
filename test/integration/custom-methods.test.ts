// Methods beyond the standard ones: a route may take PURGE once gateway.customMethods lists
// it, and it is proxied as sent; a mistyped method is refused before anything starts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { ConfigError, createGateway, type Gateway } from "../../src/index.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const gatewayOptions = { listen: [{ host: "127.0.0.1", port: 0 }], shutdownTimeout: "1s" };

describe("gateway.customMethods", () => {
  let upstream: Upstream;
  let gateway: Gateway;
  before(async () => {
    upstream = await startUpstream(echo);
    gateway = await createGateway({
      gateway: { ...gatewayOptions, customMethods: ["PURGE"] },
      services: [{ name: "cache", targets: [{ url: upstream.url }] }],
      routes: [{ name: "purge", match: { paths: ["/*"], methods: ["PURGE"] }, service: "cache" }],
    });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it("routes a listed method to the upstream as sent, and answers 405 to others", async () => {
    const url = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}/page`;
    const purged = await request(url, { method: "PURGE" });
    assert.equal(purged.statusCode, 200);
    assert.equal(((await purged.body.json()) as { method: string }).method, "PURGE");
    const got = await request(url);
    assert.equal(got.statusCode, 405);
    await got.body.dump();
  });

  it("refuses to start with a mistyped method, naming the closest one", async () => {
    await assert.rejects(
      createGateway({
        gateway: gatewayOptions,
        services: [{ name: "cache", targets: [{ url: upstream.url }] }],
        routes: [{ name: "r", match: { paths: ["/*"], methods: ["GTE"] }, service: "cache" }],
      }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(
          error.problems.map((problem) => problem.message),
          ['routes[0].match.methods[0]: "GTE" is not an HTTP method (did you mean "GET"?)'],
        );
        return true;
      },
    );
  });
});
