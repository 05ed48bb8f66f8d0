// gateway.workers: 2 worker threads share the proxy port, and the node still behaves as
// one gateway: a limit of N (per window or in flight) admits N per node, probes run once and every worker follows
// them, a breaker one worker opens is open in all, /metrics and /status add the workers
// up, and a config change serves in every worker before the change is answered.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { freePort } from "../helpers/child-process.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { tempLogFile } from "../helpers/log-file.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

interface WorkerStatus {
  worker: number;
  connectionsAccepted: number;
  restarts: number;
}

/** One request on a connection of its own: the kernel picks the worker that accepts it. */
async function fresh(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { reset: true, headers });
  return { status: res.statusCode, body: await res.body.text() };
}

const probes = (up: Upstream) => up.requests.filter((req) => req.url === "/health").length;

describe("worker threads", () => {
  it("shares the port, admits a limit once per node, and sums /metrics and /status", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startGateway(
      testConfig({
        gateway: { workers: 2, admin: { port: 0 } },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "limited",
            match: { paths: ["/limited"] },
            service: "svc",
            plugins: [{ name: "rate-limit", config: { limit: 100, window: "1m" } }],
          },
        ],
      }),
    );
    try {
      const answers = await Promise.all(
        Array.from({ length: 150 }, () => fresh(`${gw.url}/limited`)),
      );
      const admitted = answers.filter((answer) => answer.status === 200).length;
      const limited = answers.filter((answer) => answer.status === 429).length;
      assert.deepEqual({ admitted, limited }, { admitted: 100, limited: 50 });

      const status = (await (await request(`${gw.statusUrl}/status`)).body.json()) as {
        workers: WorkerStatus[];
      };
      assert.deepEqual(
        status.workers.map((w) => w.worker),
        [1, 2],
      );
      for (const worker of status.workers)
        assert.ok(worker.connectionsAccepted > 0, `worker ${worker.worker} accepted none`);
      const accepted = status.workers.reduce((sum, w) => sum + w.connectionsAccepted, 0);
      assert.equal(accepted, 150);

      const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
      const count = (statusClass: string) =>
        Number(
          metrics.match(
            new RegExp(
              `gatehouse_requests_total\\{route="limited".*status_class="${statusClass}"\\} (\\d+)`,
            ),
          )?.[1],
        );
      assert.equal(count("2xx"), 100);
      assert.equal(count("4xx"), 50);
      assert.equal(metrics.match(/^gatehouse_config_version (\d+)/m)?.[1], "1", "counted once");

      const admin = `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;
      const runtime = (await (await request(`${admin}/runtime/routes/limited`)).body.json()) as {
        traffic: { requests: number; errors: Record<string, number> };
      };
      assert.equal(runtime.traffic.requests, 150);
      assert.equal(runtime.traffic.errors.GATEHOUSE_RATE_LIMITED, 50);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("holds a concurrency limit once per node, and gives the slots back", async () => {
    const slow = await startUpstream((_req, res) => {
      setTimeout(() => res.end("done"), 300);
    });
    const gw = await startGateway(
      testConfig({
        gateway: { workers: 2 },
        services: [{ name: "svc", targets: [{ url: slow.url }] }],
        routes: [
          {
            name: "all",
            match: { paths: ["/*"] },
            service: "svc",
            plugins: [{ name: "concurrency-limit", config: { limit: 3, by: "route" } }],
          },
        ],
      }),
    );
    try {
      for (const round of [1, 2]) {
        const answers = await Promise.all(Array.from({ length: 10 }, () => fresh(`${gw.url}/x`)));
        const statuses = answers.map((answer) => answer.status).sort();
        assert.deepEqual(
          statuses,
          [200, 200, 200, 429, 429, 429, 429, 429, 429, 429],
          `round ${round}`,
        );
      }
      const status = (await (await request(`${gw.statusUrl}/status`)).body.json()) as {
        workers: WorkerStatus[];
      };
      for (const worker of status.workers)
        assert.ok(worker.connectionsAccepted > 0, `worker ${worker.worker} accepted none`);
    } finally {
      await gw.stop();
      await slow.close();
    }
  });

  it("probes each target once per node, and every worker follows the probes", async () => {
    const state = { healthy: true };
    const up = await startUpstream((req, res) => {
      if (req.url === "/health") res.writeHead(state.healthy ? 200 : 503).end();
      else res.end("ok");
    });
    const active = {
      interval: "100ms",
      timeout: "200ms",
      healthyThreshold: 1,
      unhealthyThreshold: 1,
    };
    const gw = await startGateway(
      testConfig({
        gateway: { workers: 2 },
        services: [{ name: "svc", targets: [{ url: up.url }], healthCheck: { active } }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    try {
      const before = probes(up);
      const started = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const perSecond = ((probes(up) - before) * 1000) / (Date.now() - started);
      // One prober makes ~10 a second; one per thread would make 20 or 30.
      assert.ok(perSecond >= 5 && perSecond <= 13, `${perSecond.toFixed(1)} probes a second`);

      state.healthy = false;
      await until(
        async () =>
          (
            (await (await request(`${gw.statusUrl}/upstreams`)).body.json()) as {
              services: { targets: { health: string }[] }[];
            }
          ).services[0]!.targets[0]!.health === "unhealthy",
        "the probe to fail",
      );
      const answers = await Promise.all(Array.from({ length: 20 }, () => fresh(`${gw.url}/x`)));
      assert.deepEqual(
        new Set(answers.map((answer) => answer.status)),
        new Set([503]),
        "no worker sends to a target the probes failed",
      );
      state.healthy = true;
      await until(async () => (await fresh(`${gw.url}/x`)).status === 200, "recovery");
      const recovered = await Promise.all(Array.from({ length: 20 }, () => fresh(`${gw.url}/x`)));
      assert.deepEqual(new Set(recovered.map((answer) => answer.status)), new Set([200]));
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("opens a breaker in every worker once one worker's traffic opens it", async () => {
    const bad = await startUpstream((_req, res) => res.writeHead(500).end("bad"));
    const gw = await startGateway(
      testConfig({
        gateway: { workers: 2 },
        services: [
          {
            name: "svc",
            targets: [{ url: bad.url }],
            circuitBreaker: { minRequests: 3, failureRatio: 0.5, openDuration: "1m" },
          },
        ],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    try {
      // Sequential, fresh connections: whichever worker first sees three failures opens it.
      let sent = 0;
      while (sent < 20 && (await fresh(`${gw.url}/x`)).status === 500) sent++;
      assert.ok(sent >= 3 && sent < 20, `the breaker opened after ${sent} failures`);
      const reached = bad.requests.length;
      const answers = await Promise.all(Array.from({ length: 20 }, () => fresh(`${gw.url}/x`)));
      assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set([503]));
      assert.equal(bad.requests.length, reached, "no worker sent to the open target");
      const view = (await (await request(`${gw.statusUrl}/upstreams`)).body.json()) as {
        services: { targets: { breaker: string }[] }[];
      };
      assert.equal(view.services[0]!.targets[0]!.breaker, "open", "the node's one view");
    } finally {
      await gw.stop();
      await bad.close();
    }
  });

  it("serves a config change in every worker by the time the change is answered", async () => {
    const up = await startUpstream((req, res) => res.end(`up ${req.url}`));
    const gw = await startGateway(
      testConfig({
        gateway: { workers: 2, configStore: { file: false } },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "old", match: { paths: ["/old"] }, service: "svc" }],
      }),
    );
    try {
      await gw.gateway.control.submit({
        kind: "change",
        request: {
          action: "route.create",
          source: "admin",
          actor: "test",
          edit: (document) => ({
            ...document,
            routes: [
              ...(document.routes as object[]),
              { name: "new", match: { paths: ["/new"] }, service: "svc" },
            ],
          }),
        },
      });
      const answers = await Promise.all(Array.from({ length: 20 }, () => fresh(`${gw.url}/new`)));
      assert.deepEqual(new Set(answers.map((answer) => answer.body)), new Set(["up /new"]));
    } finally {
      await gw.stop();
      await up.close();
    }
  });
  it("drains every worker on stop: requests in flight finish, then the port closes", async () => {
    const slow = await startUpstream((_req, res) => {
      setTimeout(() => res.end("finished"), 400);
    });
    const gw = await startGateway(
      testConfig({
        gateway: { workers: 2 },
        services: [{ name: "svc", targets: [{ url: slow.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    try {
      // Enough connections that both workers hold one in flight.
      const inFlight = Array.from({ length: 8 }, () => fresh(`${gw.url}/x`));
      await until(() => slow.requests.length === 8, "every request to reach the upstream");
      await gw.stop();
      const answers = await Promise.all(inFlight);
      assert.deepEqual(new Set(answers.map((answer) => answer.body)), new Set(["finished"]));
      await assert.rejects(fresh(`${gw.url}/x`), /ECONNREFUSED/);
    } finally {
      await gw.stop();
      await slow.close();
    }
  });
  it("never takes a connection it cannot answer while its workers start", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const port = await freePort();
    const starting = startGateway(
      testConfig({
        gateway: { workers: 2, listen: [{ host: "127.0.0.1", port }] },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    let started = false;
    void starting.then(() => {
      started = true;
    });
    const outcomes = new Set<string>();
    try {
      // Refused until a worker listens (or reset, if it met the supervisor's brief probe of
      // the port), then answered: never accepted and left unanswered, which times out here.
      while (!started) {
        const outcome = await request(`http://127.0.0.1:${port}/x`, {
          reset: true,
          headersTimeout: 1000,
        }).then(
          async (res) => `${res.statusCode} ${await res.body.text()}`,
          (error: NodeJS.ErrnoException) => error.code ?? error.message,
        );
        outcomes.add(outcome);
        if (outcome !== "200 ok") await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.deepEqual(
        [...outcomes].filter(
          (outcome) => !["ECONNREFUSED", "ECONNRESET", "200 ok"].includes(outcome),
        ),
        [],
      );
      assert.equal((await fresh(`http://127.0.0.1:${port}/x`)).body, "ok");
    } finally {
      await (await starting).stop();
      await up.close();
    }
  });

  it("logs what the config warns about once for the node, not once per thread", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const log = await tempLogFile();
    const gw = await startGateway(
      testConfig({
        gateway: { workers: 2, log: { level: "warn", destination: log.path } },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "r",
            match: { paths: ["/*"] },
            service: "svc",
            plugins: [
              {
                name: "oauth2-introspection",
                config: {
                  introspectionUrl: "https://auth.example/introspect?api_key=k3y-in-the-url",
                  authorization: "Basic Z2F0ZWhvdXNlOnRlc3Q=",
                },
              },
            ],
          },
        ],
      }),
    );
    try {
      assert.equal((await fresh(`${gw.url}/x`)).status, 401, "both workers serve the route");
    } finally {
      await gw.stop();
      await up.close();
    }
    try {
      const warnings = (await log.lines()).filter((line) => line.msg.includes("api_key="));
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.equal(warnings[0]!.worker, undefined, "the supervisor's line");
    } finally {
      await log.remove();
    }
  });
});
