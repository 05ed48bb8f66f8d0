// The status listener's /status and /ready over real sockets: version, config revision and
// reload outcome, counts and per-service upstream summary after known traffic and a
// reload; readiness that follows the health of the services named in
// gateway.status.requiredServices; an unknown required service refused at load; a Host
// that does not name the listener refused (DNS rebinding); and target metadata shown at
// /upstreams only with gateway.status.showMetadata, redacted.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { Client, request } from "undici";
import type { GatehouseConfigInput } from "../../src/config/schema/index.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { configProblems } from "../helpers/config-problems.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { rawRequest } from "../helpers/raw.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const packageVersion = (
  JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url);
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

function healthAware(state: { healthy: boolean }): Promise<Upstream> {
  return startUpstream((req, res) => {
    if (req.url === "/health") res.writeHead(state.healthy ? 200 : 503).end();
    else res.end("ok");
  });
}

const active = { interval: "50ms", timeout: "200ms", healthyThreshold: 1, unhealthyThreshold: 1 };

interface StatusBody {
  gatehouse: { version: string; node: string; pid: number };
  startedAt: string;
  uptimeSeconds: number;
  ready: boolean;
  draining: boolean;
  config: { version: number; hash: string; appliedAt: string };
  lastReload: { at: string; result: string; problems?: number } | null;
  counts: Record<string, number>;
  services: {
    name: string;
    targets: number;
    healthy: number;
    available: number;
    breakers: { closed: number; open: number; halfOpen: number };
  }[];
}

describe("GET /status", () => {
  it("reports version, config revision, counts and upstreams, before and after a reload", async () => {
    const up = await startUpstream();
    const config = (extraRoute: boolean): GatehouseConfigInput =>
      testConfig({
        gateway: { metrics: { enabled: false } }, // /status needs no metrics
        consumers: [{ name: "alice", credentials: { keys: ["sha256:00"] } }],
        plugins: [{ name: "security-headers" }],
        services: [
          {
            name: "api",
            targets: [{ url: up.url }, { url: "http://127.0.0.1:9" }],
            circuitBreaker: { minRequests: 1, failureRatio: 0.5, openDuration: "1m" },
          },
          { name: "spare", targets: [{ url: up.url }] },
        ],
        routes: [
          { name: "all", match: { paths: ["/*"] }, service: "api" },
          ...(extraRoute
            ? [{ name: "spare", match: { paths: ["/spare/*"] }, service: "spare" }]
            : []),
        ],
      });
    const gw = await startGateway(config(false));
    const clients: Client[] = [];
    try {
      const before = (await getJson(`${gw.statusUrl}/status`)).body as unknown as StatusBody;
      assert.equal(before.gatehouse.version, packageVersion);
      assert.equal(before.gatehouse.node, process.version);
      assert.equal(before.gatehouse.pid, process.pid);
      assert.ok(before.uptimeSeconds >= 0 && before.uptimeSeconds < 60);
      assert.ok(Date.now() - Date.parse(before.startedAt) < 60_000);
      assert.equal(before.ready, true);
      assert.equal(before.draining, false);
      assert.equal(before.config.version, 1);
      assert.match(before.config.hash, /^[0-9a-f]{16}$/);
      assert.equal(before.config.appliedAt, before.startedAt);
      assert.equal(before.lastReload, null);

      // Known traffic: round-robin sends one of two requests to the dead target, whose
      // breaker opens after that one failure and which the default passive rule ejects
      // (the retry lands on the live one).
      // One keep-alive connection, left open for the count.
      const client = new Client(gw.url, { pipelining: 1 });
      clients.push(client);
      for (let i = 0; i < 4; i++)
        await (await client.request({ path: "/x", method: "GET" })).body.dump();

      const after = (await getJson(`${gw.statusUrl}/status`)).body as unknown as StatusBody;
      assert.deepEqual(after.counts, {
        routes: 1,
        services: 2,
        consumers: 1,
        plugins: 1,
        // The same URL in two services is one target each: state is per service.
        targets: 3,
        openConnections: 1,
        webSocketTunnels: 0,
        upstreamRequestsInFlight: 0,
      });
      assert.deepEqual(after.services, [
        {
          name: "api",
          targets: 2,
          // The dead target is ejected: not counted healthy.
          healthy: 1,
          available: 1,
          breakers: { closed: 1, open: 1, halfOpen: 0 },
        },
        {
          name: "spare",
          targets: 1,
          healthy: 1,
          available: 1,
          breakers: { closed: 0, open: 0, halfOpen: 0 },
        },
      ]);

      await gw.gateway.reload(parseGatewayConfig(JSON.stringify(config(true)), "gw.yaml", {}));
      const reloaded = (await getJson(`${gw.statusUrl}/status`)).body as unknown as StatusBody;
      assert.equal(reloaded.config.version, 2);
      assert.notEqual(reloaded.config.hash, before.config.hash);
      assert.equal(reloaded.lastReload?.result, "success");
      assert.equal(reloaded.lastReload?.at, reloaded.config.appliedAt);
      assert.equal(reloaded.counts.routes, 2);
      assert.equal(reloaded.startedAt, before.startedAt);
      // The open breaker is the target's state: it survives the reload.
      assert.deepEqual(reloaded.services[0]!.breakers, { closed: 1, open: 1, halfOpen: 0 });

      gw.gateway.reloadRefused(["gw.yaml:3:5 routes[0].service: unknown service"]);
      const refused = (await getJson(`${gw.statusUrl}/status`)).body as unknown as StatusBody;
      assert.deepEqual(
        { result: refused.lastReload?.result, problems: refused.lastReload?.problems },
        { result: "failure", problems: 1 },
      );
      assert.equal(refused.config.version, 2, "the last good config keeps serving");
    } finally {
      for (const client of clients) await client.close();
      await gw.stop();
      await up.close();
    }
  });

  it("shares the config version and hash with the metrics", async () => {
    const up = await startUpstream();
    const gw = await startGateway(
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    try {
      const status = (await getJson(`${gw.statusUrl}/status`)).body as unknown as StatusBody;
      const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
      assert.match(
        metrics,
        new RegExp(`gatehouse_config_info\\{hash="${status.config.hash}"\\} 1`),
      );
      assert.match(metrics, /gatehouse_config_version 1\n/);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

describe("GET /ready with gateway.status.requiredServices", () => {
  it("is 503 naming the service while its only target is down, 200 once it is back", async () => {
    const state = { healthy: true };
    const up = await healthAware(state);
    const other = await startUpstream();
    const config = (services: string[]) =>
      testConfig({
        gateway: {
          // Validated against the file's own services; static, so a reload does not change it.
          status: { host: "127.0.0.1", port: 0, requiredServices: services.slice(0, 1) },
        },
        services: services.map((name) => ({
          name,
          targets: [{ url: name === "users" ? up.url : other.url }],
          healthCheck: { active },
        })),
        routes: [{ name: "all", match: { paths: ["/*"] }, service: services[0]! }],
      });
    const gw = await startGateway(config(["users", "orders"]));
    const ready = () => getJson(`${gw.statusUrl}/ready`);
    try {
      assert.deepEqual(await ready(), {
        status: 200,
        body: { status: "ready", services: [{ name: "users", ready: true }] },
      });

      state.healthy = false;
      await until(async () => (await ready()).status === 503, "/ready to turn 503");
      assert.deepEqual((await ready()).body, {
        status: "not ready",
        reasons: ["service users: no healthy available target (0 of 1)"],
        services: [{ name: "users", ready: false, reason: "no healthy available target (0 of 1)" }],
      });
      const status = (await getJson(`${gw.statusUrl}/status`)).body as unknown as StatusBody;
      assert.equal(status.services[0]!.healthy, 0);

      state.healthy = true;
      await until(async () => (await ready()).status === 200, "/ready to turn 200 again");

      // A reload that drops the required service (the file no longer requires it, but that
      // part of the config needs a restart): not ready, and the body says why.
      await gw.gateway.reload(parseGatewayConfig(JSON.stringify(config(["orders"])), "gw", {}));
      assert.deepEqual(await ready(), {
        status: 503,
        body: {
          status: "not ready",
          reasons: ["service users: not in the served config"],
          services: [{ name: "users", ready: false, reason: "not in the served config" }],
        },
      });
    } finally {
      await gw.stop();
      await up.close();
      await other.close();
    }
  });

  it("refuses an unknown required service at FILE:LINE:COL", () => {
    const text = [
      "gateway:",
      "  listen: [{ port: 8080 }]",
      "  status: { port: 9901, requiredServices: [users, ordrs] }",
      "services:",
      "  - { name: users, targets: [{ url: http://127.0.0.1:9001 }] }",
      "  - { name: orders, targets: [{ url: http://127.0.0.1:9002 }] }",
      "routes: []",
    ].join("\n");
    assert.deepEqual(configProblems(text), [
      'gw.yaml:3:51 gateway.status.requiredServices[1]: unknown service "ordrs" (did you mean "orders"?)',
    ]);
  });
});

describe("the status listener and web pages", () => {
  const withMetadata = (status: Record<string, unknown>) =>
    testConfig({
      gateway: { status: { host: "127.0.0.1", port: 0, ...status } },
      services: [
        {
          name: "svc",
          targets: [
            {
              url: "http://127.0.0.1:9",
              metadata: { zone: "eu-1", apiToken: "status-metadata-token-1" },
            },
          ],
        },
      ],
      routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
    });

  it("answers only a Host that names it: loopback names, IP literals, allowedHosts", async () => {
    const gw = await startGateway(withMetadata({ allowedHosts: ["status.internal.example"] }));
    const port = Number(new URL(gw.statusUrl).port);
    const get = (path: string, host: string) =>
      rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    try {
      for (const path of ["/health", "/upstreams", "/metrics"]) {
        const refused = await get(path, `evil.example:${port}`);
        assert.equal(refused.status, 403, `${path}: ${refused.text}`);
        assert.equal(JSON.parse(refused.body).error.code, "GATEHOUSE_HOST_NOT_ALLOWED");
      }
      // Kubernetes probes and Prometheus come by pod IP.
      for (const host of ["10.244.1.7:9901", `127.0.0.1:${port}`, "localhost", "[::1]"])
        assert.equal((await get("/health", host)).status, 200, host);
      assert.equal((await get("/ready", "status.internal.example:9901")).status, 200);
    } finally {
      await gw.stop();
    }
  });

  it("leaves target metadata out of /upstreams unless showMetadata, and then redacts it", async () => {
    const targets = async (gw: Awaited<ReturnType<typeof startGateway>>) => {
      const { body } = await getJson(`${gw.statusUrl}/upstreams`);
      return (body as { services: { targets: Record<string, unknown>[] }[] }).services[0]!.targets;
    };
    const hidden = await startGateway(withMetadata({}));
    try {
      const [target] = await targets(hidden);
      assert.equal(target!.url, "http://127.0.0.1:9");
      assert.equal("metadata" in target!, false);
    } finally {
      await hidden.stop();
    }
    const shown = await startGateway(withMetadata({ showMetadata: true }));
    try {
      const [target] = await targets(shown);
      assert.deepEqual(target!.metadata, { zone: "eu-1", apiToken: "[redacted]" });
    } finally {
      await shown.stop();
    }
  });
});
