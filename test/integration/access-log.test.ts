// The access log as an operator reads it: one JSON line per finished request with the
// documented fields, and never a secret the client sent (headers, cookies, query keys).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "undici";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { rawRequest } from "../helpers/raw.ts";
import { startUpstream } from "../helpers/upstream.ts";

const secrets = {
  bearer: "bearer-secret-7f3a9c",
  key: "apikey-secret-51be0d",
  cookie: "cookie-secret-c0ffee",
  password: "basic-secret-9d2e11",
  queryKey: "query-secret-a1b2c3",
};

function logFile(): string {
  return join(mkdtempSync(join(tmpdir(), "gatehouse-access-")), "access.log");
}

function readLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("access log", () => {
  it("writes one line per request with the documented fields, and no secret", async () => {
    const up = await startUpstream((req, res) => {
      req.resume();
      req.on("end", () => res.end("hello"));
    });
    const file = logFile();
    const gw = await startGateway(
      testConfig({
        gateway: { accessLog: { destination: file } },
        consumers: [{ name: "alice", credentials: { keys: [secrets.key, secrets.queryKey] } }],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "api",
            match: { paths: ["/api/*"] },
            service: "svc",
            plugins: [{ name: "key-auth", config: { query: "apikey" } }],
          },
        ],
      }),
    );
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    try {
      const res = await request(`${gw.url}/api/items?x=1`, {
        method: "POST",
        body: "12345678",
        headers: {
          "x-api-key": secrets.key,
          authorization: `Bearer ${secrets.bearer}`,
          cookie: `session=${secrets.cookie}`,
          "user-agent": "access-log-test/1",
          "x-request-id": "req-access-1",
          traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        },
      });
      assert.equal(await res.body.text(), "hello");
      const refused = await request(`${gw.url}/api/items?apikey=wrong&x=2`, {
        headers: {
          authorization: `Basic ${Buffer.from(`u:${secrets.password}`).toString("base64")}`,
        },
      });
      await refused.body.text();
      await (await request(`${gw.url}/api/q?apikey=${secrets.queryKey}`)).body.text();
      await (await request(`${gw.url}/nowhere`)).body.text();
    } finally {
      await gw.stop();
      await up.close();
    }
    const text = readFileSync(file, "utf8");
    for (const secret of Object.values(secrets)) {
      assert.ok(!text.includes(secret), `the log must not contain ${secret}`);
    }
    const lines = readLines(file);
    assert.equal(lines.length, 4, "one line per request");
    const [first, refused, byQuery, unrouted] = lines;
    assert.deepEqual(Object.keys(first!), [
      "time",
      "requestId",
      "clientIp",
      "method",
      "host",
      "path",
      "route",
      "service",
      "target",
      "status",
      "bytesIn",
      "bytesOut",
      "durationMs",
      "upstreamMs",
      "gatewayMs",
      "retries",
      "consumer",
      "errorCode",
      "userAgent",
      "traceId",
    ]);
    assert.ok(!Number.isNaN(Date.parse(first!.time as string)));
    const timings = [first!.durationMs, first!.upstreamMs, first!.gatewayMs] as number[];
    assert.ok(timings.every((ms) => ms >= 0) && timings[1]! <= timings[0]!);
    assert.ok(Math.abs(timings[0]! - timings[1]! - timings[2]!) < 0.01);
    assert.deepEqual(
      { ...first, time: 0, durationMs: 0, upstreamMs: 0, gatewayMs: 0 },
      {
        time: 0,
        requestId: "req-access-1",
        clientIp: "127.0.0.1",
        method: "POST",
        host: `127.0.0.1:${gw.port}`,
        path: "/api/items",
        route: "api",
        service: "svc",
        target: up.url,
        status: 200,
        bytesIn: 8,
        bytesOut: 5,
        durationMs: 0,
        upstreamMs: 0,
        gatewayMs: 0,
        retries: 0,
        consumer: "alice",
        errorCode: "",
        userAgent: "access-log-test/1",
        traceId,
      },
    );
    assert.equal(refused!.status, 401);
    assert.equal(refused!.errorCode, "GATEHOUSE_UNAUTHORIZED");
    assert.equal(refused!.upstreamMs, null, "a refused request never went upstream");
    assert.equal(refused!.target, "");
    assert.equal(byQuery!.consumer, "alice");
    assert.equal(unrouted!.status, 404);
    assert.equal(unrouted!.route, "");
    assert.equal(unrouted!.errorCode, "GATEHOUSE_ROUTE_NOT_FOUND");
  });

  it("counts a chunked request body as it streams, in the line and in the metrics", async () => {
    const up = await startUpstream((req, res) => {
      req.resume();
      req.on("end", () => res.end("ok"));
    });
    const file = logFile();
    const gw = await startGateway(
      testConfig({
        gateway: { accessLog: { destination: file, fields: ["path", "bytesIn"] } },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "api", match: { paths: ["/api/*"] }, service: "svc" }],
      }),
    );
    try {
      // Ten chunks of 1000 bytes, no Content-Length.
      const chunk = `3e8\r\n${"x".repeat(1000)}\r\n`;
      const raw = await rawRequest(
        gw.port,
        "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
          `${chunk.repeat(10)}0\r\n\r\n`,
      );
      assert.equal(raw.status, 200);
      await (await request(`${gw.url}/api/small`, { method: "POST", body: "12345" })).body.text();
      const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
      assert.match(metrics, /^gatehouse_request_bytes_total\{route="api",service="svc"\} 10005$/m);
    } finally {
      await gw.stop();
      await up.close();
    }
    assert.deepEqual(readLines(file), [
      { path: "/api/upload", bytesIn: 10000 },
      { path: "/api/small", bytesIn: 5 },
    ]);
  });

  it("writes only the chosen fields, redacts credential query arguments, and samples successes", async () => {
    const up = await startUpstream();
    const file = logFile();
    const gw = await startGateway(
      testConfig({
        gateway: {
          accessLog: { destination: file, fields: ["status", "path", "query"], sampleRatio: 0 },
        },
        consumers: [{ name: "alice", credentials: { keys: [secrets.queryKey] } }],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "api",
            match: { paths: ["/api/*"] },
            service: "svc",
            plugins: [{ name: "key-auth", config: { query: "apikey" } }],
          },
        ],
      }),
    );
    try {
      for (let i = 0; i < 5; i++) {
        await (await request(`${gw.url}/api/ok?apikey=${secrets.queryKey}&page=${i}`)).body.text();
      }
      await (await request(`${gw.url}/api/nope?apikey=not-a-key-at-all&page=9`)).body.text();
    } finally {
      await gw.stop();
      await up.close();
    }
    assert.ok(!readFileSync(file, "utf8").includes(secrets.queryKey));
    assert.deepEqual(readLines(file), [
      // Successes are sampled away at 0; the refusal is always written.
      { status: 401, path: "/api/nope", query: "?apikey=REDACTED&page=9" },
    ]);
  });
});
