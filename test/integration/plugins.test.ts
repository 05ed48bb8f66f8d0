// The plugin pipeline on the request path: a built-in plugin (security-headers), a custom
// one registered the way a third party would, precedence by scope, plugin answers for
// requests and upgrades alike, and plugin config errors located in the file.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { z } from "zod";
import { ConfigError, formatProblem } from "../../src/config/load.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { registerPlugin } from "../../src/plugins/index.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type LogFile, tempLogFile } from "../helpers/log-file.ts";
import { rawRequest } from "../helpers/raw.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

registerPlugin(
  definePlugin({
    name: "test-api-key",
    schema: z.strictObject({ key: z.string().min(1) }),
    priority: 1000,
    create: (config) => ({
      async access(ctx) {
        await new Promise((resolve) => setImmediate(resolve)); // as a key lookup would
        if (ctx.req.headers["x-api-key"] !== config.key) {
          ctx.respond(401, { error: "no key" });
          return;
        }
        ctx.consumer = { name: "alice", groups: [] };
        ctx.setUpstreamHeader("x-consumer-name", "alice");
        ctx.setUpstreamHeader("x-api-key", undefined);
      },
    }),
  }),
);

registerPlugin(
  definePlugin({
    name: "test-broken",
    schema: z.strictObject({}),
    priority: 500,
    create: () => ({
      access(ctx) {
        if (ctx.req.headers["x-break"] === "sync") throw new Error("plugin bug (sync)");
        if (ctx.req.headers["x-break"] === "async")
          return Promise.reject(new Error("plugin bug (async)"));
      },
      onResponse(ctx) {
        if (ctx.req.headers["x-break"] === "response") throw new Error("plugin bug (response)");
      },
    }),
  }),
);

describe("plugins on the request path", () => {
  let up: Upstream;
  let gw: RunningGateway;
  let log: LogFile;

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === "/framed") res.setHeader("x-frame-options", "SAMEORIGIN");
      echo(req, res);
    });
    log = await tempLogFile();
    gw = await startGateway(
      testConfig({
        gateway: { log: { level: "error", destination: log.path } },
        plugins: [{ name: "security-headers", config: { hsts: { maxAge: "1d" } } }],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          { name: "open", match: { paths: ["/framed", "/open"] }, service: "svc" },
          {
            name: "strict",
            match: { paths: ["/strict"] },
            service: "svc",
            plugins: [
              { name: "security-headers", config: { frameOptions: "SAMEORIGIN", hsts: false } },
            ],
          },
          {
            name: "broken",
            match: { paths: ["/broken"] },
            service: "svc",
            plugins: [{ name: "test-broken" }],
          },
          {
            name: "keyed",
            match: { paths: ["/keyed", "/keyed/*"] },
            service: "svc",
            plugins: [{ name: "test-api-key", config: { key: "s3cret" } }],
          },
        ],
      }),
    );
  });
  after(async () => {
    await gw.stop();
    await up.close();
    await log.remove();
  });

  it("adds the security headers, keeping an upstream's own value", async () => {
    const res = await request(`${gw.url}/open`);
    await res.body.dump();
    assert.equal(res.headers["strict-transport-security"], "max-age=86400; includeSubDomains");
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.equal(res.headers["x-frame-options"], "DENY");
    assert.equal(res.headers["referrer-policy"], "strict-origin-when-cross-origin");
    const framed = await request(`${gw.url}/framed`);
    await framed.body.dump();
    assert.equal(framed.headers["x-frame-options"], "SAMEORIGIN");
  });

  it("lets a route's plugin replace the global one of the same name", async () => {
    const res = await request(`${gw.url}/strict`);
    await res.body.dump();
    assert.equal(res.headers["x-frame-options"], "SAMEORIGIN");
    assert.equal(res.headers["strict-transport-security"], undefined);
  });

  it("runs an async access hook: answers itself, or changes the upstream request", async () => {
    const refused = await request(`${gw.url}/keyed`);
    assert.equal(refused.statusCode, 401);
    assert.deepEqual(await refused.body.json(), { error: "no key" });
    assert.ok(refused.headers["x-request-id"]);
    const before = up.requests.length;
    const res = await request(`${gw.url}/keyed`, { headers: { "x-api-key": "s3cret" } });
    const seen = (await res.body.json()) as { headers: Record<string, string> };
    assert.equal(res.statusCode, 200);
    assert.equal(seen.headers["x-consumer-name"], "alice");
    assert.equal(seen.headers["x-api-key"], undefined, "the key is not forwarded");
    assert.equal(up.requests.length, before + 1, "only the keyed request reached the upstream");
  });

  it("answers 500 GATEHOUSE_INTERNAL when a plugin throws (sync, async, onResponse), logs it, and keeps serving", async () => {
    const requestIds: string[] = [];
    for (const mode of ["sync", "async", "response"]) {
      const res = await request(`${gw.url}/broken`, { headers: { "x-break": mode } });
      assert.equal(res.statusCode, 500, mode);
      const body = (await res.body.json()) as { error: { code: string; requestId: string } };
      assert.equal(body.error.code, "GATEHOUSE_INTERNAL");
      requestIds.push(body.error.requestId);
    }
    const ok = await request(`${gw.url}/broken`);
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    // One line per failure, with the request id the client was given: a failing onResponse
    // is not retried on another try.
    const errors = (await log.lines()).map((line) => ({
      level: line.level,
      requestId: line.requestId,
      error: (line.err as { message: string }).message,
    }));
    assert.deepEqual(errors, [
      { level: "error", requestId: requestIds[0], error: "plugin bug (sync)" },
      { level: "error", requestId: requestIds[1], error: "plugin bug (async)" },
      { level: "error", requestId: requestIds[2], error: "plugin bug (response)" },
    ]);
  });

  it("judges a WebSocket upgrade with the route's plugins", async () => {
    const raw = await rawRequest(
      gw.port,
      "GET /keyed/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert.equal(raw.status, 401);
    assert.ok(raw.closed);
  });
});

describe("plugin config", () => {
  it("is checked by the plugin's own schema, at FILE:LINE:COL", () => {
    const text = [
      "gateway: { listen: [{ port: 8080 }] }",
      "services: [{ name: s, targets: [{ url: 'http://127.0.0.1:9' }] }]",
      "routes:",
      "  - name: r",
      "    match: { paths: [/a] }",
      "    service: s",
      "    plugins:",
      "      - { name: security-headers, config: { frameOptions: ALLOW } }",
    ].join("\n");
    assert.throws(
      () => parseGatewayConfig(text, "gw.yaml", {}),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems
          .map(formatProblem)
          .some((line) =>
            line.startsWith(
              "gw.yaml:8:59 routes[0].plugins[0].config.frameOptions: must be one of",
            ),
          ),
    );
  });
});
