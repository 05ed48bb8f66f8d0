// gRPC active health checks through a running gateway, against real @grpc/grpc-js health
// servers: a target turning NOT_SERVING leaves rotation and comes back when SERVING; a
// service name the server does not know, or a server that is down, reads unhealthy.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type GrpcHealthServer, startGrpcHealthServer } from "../helpers/grpc-health-server.ts";
import { until } from "../helpers/until.ts";

interface TargetView {
  url: string;
  available: boolean;
  health: string;
  breaker: string;
}

/** The targets of service `books` as `GET /upstreams` on the status listener shows them. */
async function targetsView(gw: RunningGateway): Promise<TargetView[]> {
  const res = await request(`${gw.statusUrl}/upstreams`);
  const body = (await res.body.json()) as { services: { name: string; targets: TargetView[] }[] };
  return body.services.find((service) => service.name === "books")!.targets;
}

const active = {
  type: "grpc" as const,
  service: "library.v1.Library",
  interval: "50ms",
  timeout: "500ms",
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

function booksGateway(servers: GrpcHealthServer[], service: Record<string, unknown> = {}) {
  return startGateway(
    testConfig({
      services: [
        {
          name: "books",
          protocol: "grpc",
          targets: servers.map((server) => ({ url: server.url })),
          healthCheck: { active },
          ...service,
        },
      ],
      routes: [{ name: "books", match: { paths: ["/library.v1.Library/*"] }, service: "books" }],
    }),
  );
}

describe("grpc active health checks", () => {
  it("takes a target out when it turns NOT_SERVING and back when SERVING again", async () => {
    const a = await startGrpcHealthServer({ "library.v1.Library": "SERVING" });
    const b = await startGrpcHealthServer({ "library.v1.Library": "SERVING" });
    const gw = await booksGateway([a, b]);
    const service = gw.gateway.runtime.services.get("books")!;
    const [targetA, targetB] = service.targets;
    try {
      await until(() => a.calls.length >= 2 && b.calls.length >= 2, "both targets probed");
      assert.deepEqual(
        (await targetsView(gw)).map((t) => [t.url, t.health, t.available]),
        [
          [a.url, "healthy", true],
          [b.url, "healthy", true],
        ],
      );

      a.statuses.set("library.v1.Library", "NOT_SERVING");
      await until(() => targetA!.health === "unhealthy", "a to be marked unhealthy");
      const [viewA, viewB] = await targetsView(gw);
      assert.deepEqual([viewA!.health, viewA!.available], ["unhealthy", false]);
      assert.deepEqual([viewB!.health, viewB!.available], ["healthy", true]);
      const picked = new Set(
        Array.from({ length: 6 }, () =>
          service.select({ clientAddress: "127.0.0.1", headers: {}, path: "/", query: "" }),
        ),
      );
      assert.deepEqual([...picked], [targetB], "only b is in rotation");

      a.statuses.set("library.v1.Library", "SERVING");
      await until(() => targetA!.health === "healthy", "a to come back");
      assert.equal((await targetsView(gw))[0]!.available, true);
    } finally {
      await gw.stop();
      a.close();
      b.close();
    }
  });

  it("marks a target unhealthy when its server does not know the service name", async () => {
    const server = await startGrpcHealthServer({ "": "SERVING", "other.v1.Other": "SERVING" });
    const gw = await booksGateway([server]);
    const [target] = gw.gateway.runtime.services.get("books")!.targets;
    try {
      await until(() => target!.health === "unhealthy", "the unknown service to fail its probes");
      assert.deepEqual(server.calls.map((call) => call.service).slice(0, 2), [
        "library.v1.Library",
        "library.v1.Library",
      ]);
    } finally {
      await gw.stop();
      server.close();
    }
  });

  it("marks a target unhealthy when its server is down, and feeds its breaker", async () => {
    const server = await startGrpcHealthServer({ "library.v1.Library": "SERVING" });
    const gw = await booksGateway([server], {
      circuitBreaker: { minRequests: 2, failureRatio: 0.5, openDuration: "1m" },
    });
    const [target] = gw.gateway.runtime.services.get("books")!.targets;
    try {
      await until(() => server.calls.length >= 1, "a first probe");
      server.close();
      await until(() => target!.health === "unhealthy", "the down server to fail its probes");
      const [view] = await targetsView(gw);
      assert.deepEqual(
        [view!.health, view!.breaker, view!.available],
        ["unhealthy", "open", false],
      );
    } finally {
      await gw.stop();
    }
  });
});
