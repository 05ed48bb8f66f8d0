// Plugins set on a consumer: they replace the route's plugin of the same name for that
// consumer's requests only, and authentication plugins are refused there at FILE:LINE:COL.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { configProblems } from "../helpers/config-problems.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("consumer plugins", () => {
  let up: Upstream;
  let gw: RunningGateway;

  before(async () => {
    up = await startUpstream(echo);
    gw = await startGateway(
      testConfig({
        consumers: [
          {
            name: "partner",
            credentials: { keys: ["partner-key-1"] },
            plugins: [{ name: "security-headers", config: { frameOptions: "SAMEORIGIN" } }],
          },
          { name: "member", credentials: { keys: ["member-key-1"] } },
        ],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "api",
            match: { paths: ["/api/*"] },
            service: "svc",
            plugins: [{ name: "key-auth" }, { name: "security-headers" }],
          },
          {
            name: "open",
            match: { paths: ["/open"] },
            service: "svc",
            plugins: [{ name: "security-headers" }],
          },
        ],
      }),
    );
  });

  after(async () => {
    await gw.stop();
    await up.close();
  });

  const frameOptions = async (path: string, key?: string) => {
    const res = await request(`${gw.url}${path}`, {
      headers: key ? { "x-api-key": key } : {},
    });
    await res.body.dump();
    return [res.statusCode, res.headers["x-frame-options"]];
  };

  it("applies the consumer's own config to that consumer's requests", async () => {
    assert.deepEqual(await frameOptions("/api/x", "partner-key-1"), [200, "SAMEORIGIN"]);
  });

  it("keeps the route's config for other consumers and for answers before authentication", async () => {
    assert.deepEqual(await frameOptions("/api/x", "member-key-1"), [200, "DENY"]);
    assert.deepEqual(await frameOptions("/api/x"), [401, "DENY"]);
    assert.deepEqual(await frameOptions("/open"), [200, "DENY"]);
  });

  it("refuses an authentication plugin on a consumer, at FILE:LINE:COL", () => {
    const text = [
      "gateway: { listen: [{ port: 8080 }] }",
      "consumers:",
      "  - name: c",
      "    plugins: [{ name: key-auth }]",
    ].join("\n");
    assert.deepEqual(configProblems(text), [
      'gw.yaml:4:23 consumers[0].plugins[0].name: "key-auth" runs before the consumer is known, so it cannot be set on a consumer',
    ]);
  });
});
