// GET /metrics on the status listener: exact upstream gauges and config counters after
// known events, OpenMetrics on request, and Node process metrics.
import assert from "node:assert/strict";
import { mkdtemp, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "undici";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { startGatehouseNode } from "../helpers/gatehouse-node.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

async function scrape(url: string, accept?: string) {
  const res = await request(`${url}/metrics`, { headers: accept ? { accept } : {} });
  return { type: String(res.headers["content-type"]), text: await res.body.text() };
}

/** The sample lines of one metric family, without HELP/TYPE comments. */
function samples(text: string, name: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe("metrics", () => {
  it("exposes upstream state and config reloads, exactly", async () => {
    const up = await startUpstream();
    const down = "http://127.0.0.1:9"; // discard port: nothing listens
    const config = testConfig({
      services: [
        {
          name: "svc",
          targets: [{ url: up.url }, { url: down }],
          healthCheck: {
            active: { type: "tcp", interval: "50ms", unhealthyThreshold: 1, healthyThreshold: 1 },
          },
          circuitBreaker: { failureRatio: 0.5 },
        },
      ],
      routes: [{ name: "r", match: { paths: ["/*"] }, service: "svc" }],
    });
    const gw = await startGateway(config);
    try {
      let text = "";
      for (let i = 0; i < 100; i++) {
        text = (await scrape(gw.statusUrl)).text;
        if (text.includes(`gatehouse_upstream_target_up{service="svc",target="${down}"} 0`)) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(samples(text, "gatehouse_upstream_target_up"), [
        `gatehouse_upstream_target_up{service="svc",target="${up.url}"} 1`,
        `gatehouse_upstream_target_up{service="svc",target="${down}"} 0`,
      ]);
      assert.deepEqual(samples(text, "gatehouse_upstream_target_available"), [
        `gatehouse_upstream_target_available{service="svc",target="${up.url}"} 1`,
        `gatehouse_upstream_target_available{service="svc",target="${down}"} 0`,
      ]);
      assert.deepEqual(
        samples(text, "gatehouse_upstream_breaker_state").filter((line) => line.includes(up.url)),
        [
          `gatehouse_upstream_breaker_state{service="svc",target="${up.url}",state="closed"} 1`,
          `gatehouse_upstream_breaker_state{service="svc",target="${up.url}",state="open"} 0`,
          `gatehouse_upstream_breaker_state{service="svc",target="${up.url}",state="half-open"} 0`,
        ],
      );
      assert.deepEqual(samples(text, "gatehouse_config_version"), ["gatehouse_config_version 1"]);
      assert.deepEqual(samples(text, "gatehouse_config_reloads_total"), [
        'gatehouse_config_reloads_total{result="success"} 0',
        'gatehouse_config_reloads_total{result="failure"} 0',
      ]);
      const [hashLine] = samples(text, "gatehouse_config_info");
      assert.match(hashLine!, /^gatehouse_config_info\{hash="[0-9a-f]{16}"\} 1$/);
      assert.ok(samples(text, "process_cpu_user_seconds_total").length === 1);
      assert.ok(samples(text, "nodejs_eventloop_lag_seconds").length === 1);

      const next = structuredClone(config);
      next.services![0]!.targets = [{ url: up.url }];
      await gw.gateway.reload(parseGatewayConfig(JSON.stringify(next), "next.yaml", {}));
      gw.gateway.reloadRefused();
      text = (await scrape(gw.statusUrl)).text;
      assert.deepEqual(samples(text, "gatehouse_upstream_target_up"), [
        `gatehouse_upstream_target_up{service="svc",target="${up.url}"} 1`,
      ]);
      assert.deepEqual(samples(text, "gatehouse_config_version"), ["gatehouse_config_version 2"]);
      assert.deepEqual(samples(text, "gatehouse_config_reloads_total"), [
        'gatehouse_config_reloads_total{result="success"} 1',
        'gatehouse_config_reloads_total{result="failure"} 1',
      ]);
      const [nextHash] = samples(text, "gatehouse_config_info");
      assert.notEqual(nextHash, hashLine, "a different config has a different hash");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("counts every config applied after start, whatever its source, and every refused file", async () => {
    const up = await startUpstream();
    const file = join(await mkdtemp(join(tmpdir(), "gatehouse-reloads-")), "gatehouse.yaml");
    const config = (paths: string[], extra = "") =>
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  status: { host: 127.0.0.1, port: 0 }",
        "  admin: { host: 127.0.0.1, port: 0 }",
        "  reload: { debounce: 10ms }",
        "  shutdownTimeout: 1s",
        `services: [{ name: s, targets: [{ url: "${up.url}" }] }]`,
        "routes:",
        ...paths.map(
          (path) =>
            `  - { name: r${path.slice(1)}, match: { paths: ["${path}"] }, service: s${extra} }`,
        ),
      ].join("\n");
    // Written whole, as editors do, so the watcher never reads a half-written file.
    const save = async (text: string) => {
      await writeFile(`${file}.tmp`, text);
      await rename(`${file}.tmp`, file);
    };
    await save(config(["/a"]));
    const node = await startGatehouseNode(file);
    const reloads = async () => ({
      success: await node.metric(/^gatehouse_config_reloads_total\{result="success"\} (\d+)$/m),
      failure: await node.metric(/^gatehouse_config_reloads_total\{result="failure"\} (\d+)$/m),
    });
    try {
      assert.deepEqual(
        await reloads(),
        { success: 0, failure: 0 },
        "the config at start is no reload",
      );
      await save(config(["/a", "/b"]));
      await until(async () => (await node.get("/b")) === 200, "the watched edit to serve");
      assert.deepEqual(await reloads(), { success: 1, failure: 0 }, "a watched file edit");
      const added = await node.admin("POST", "/routes", {
        name: "rc",
        match: { paths: ["/c"] },
        service: "s",
      });
      assert.equal(added.status, 201);
      assert.deepEqual(await reloads(), { success: 2, failure: 0 }, "an admin API change");
      const refused = await node.admin("POST", "/routes", { name: "rc", service: "nowhere" });
      assert.equal(refused.status >= 400, true);
      await save(config(["/a", "/b", "/c"], ", priority: high"));
      await until(async () => (await reloads()).failure === 1, "the bad file to be refused");
      assert.deepEqual(await reloads(), { success: 2, failure: 1 }, "a refused file edit");
      await save(config(["/a", "/b", "/c", "/d"]));
      await until(async () => (await node.get("/d")) === 200, "the fixed file to serve");
      node.process.kill("SIGHUP");
      await until(() => /SIGHUP: .* unchanged/.test(node.output()), "SIGHUP to find nothing new");
      assert.deepEqual(
        await reloads(),
        { success: 3, failure: 1 },
        "an unchanged file counts neither",
      );
    } finally {
      await node.stop();
      await up.close();
    }
  });

  it("counts requests by route, service, method and status class, with durations, bytes, retries and error codes", async () => {
    const up = await startUpstream((req, res) => {
      req.resume();
      req.on("end", () => res.end("hello")); // 5 bytes
    });
    const gw = await startGateway(
      testConfig({
        consumers: [{ name: "c", credentials: { keys: ["metrics-key-1"] } }],
        services: [
          { name: "svc", targets: [{ url: up.url }] },
          { name: "dead", targets: [{ url: "http://127.0.0.1:9" }], retries: { attempts: 1 } },
        ],
        routes: [
          { name: "api", match: { paths: ["/api/*"] }, service: "svc" },
          {
            name: "locked",
            match: { paths: ["/locked"] },
            service: "svc",
            plugins: [{ name: "key-auth" }],
          },
          { name: "gone", match: { paths: ["/gone"] }, service: "dead" },
        ],
      }),
    );
    try {
      for (let i = 0; i < 3; i++) await (await request(`${gw.url}/api/a`)).body.text();
      await (await request(`${gw.url}/api/a`, { method: "POST", body: "12345678" })).body.text();
      await (await request(`${gw.url}/nowhere`)).body.text();
      const locked = await request(`${gw.url}/locked`);
      const lockedBody = await locked.body.text();
      const gone = await request(`${gw.url}/gone`);
      assert.equal(gone.statusCode, 502);
      const goneBody = await gone.body.text();
      const text = (await scrape(gw.statusUrl)).text;
      assert.deepEqual(samples(text, "gatehouse_requests_total").sort(), [
        'gatehouse_requests_total{route="",service="",method="GET",status_class="4xx"} 1',
        'gatehouse_requests_total{route="api",service="svc",method="GET",status_class="2xx"} 3',
        'gatehouse_requests_total{route="api",service="svc",method="POST",status_class="2xx"} 1',
        'gatehouse_requests_total{route="gone",service="dead",method="GET",status_class="5xx"} 1',
        'gatehouse_requests_total{route="locked",service="svc",method="GET",status_class="4xx"} 1',
      ]);
      assert.deepEqual(samples(text, "gatehouse_errors_total").sort(), [
        'gatehouse_errors_total{route="",service="",code="GATEHOUSE_ROUTE_NOT_FOUND"} 1',
        'gatehouse_errors_total{route="gone",service="dead",code="GATEHOUSE_UPSTREAM_CONNECT_FAILED"} 1',
        'gatehouse_errors_total{route="locked",service="svc",code="GATEHOUSE_UNAUTHORIZED"} 1',
      ]);
      assert.ok(
        text.includes('gatehouse_request_duration_seconds_count{route="api",service="svc"} 4'),
      );
      assert.ok(
        text.includes('gatehouse_upstream_duration_seconds_count{route="api",service="svc"} 4'),
      );
      assert.ok(
        text.includes('gatehouse_upstream_duration_seconds_count{route="locked",service="svc"} 0'),
        "a request answered by a plugin never went upstream",
      );
      assert.ok(
        text.includes(
          'gatehouse_request_duration_seconds_bucket{route="api",service="svc",le="+Inf"} 4',
        ),
      );
      assert.ok(text.includes('gatehouse_request_bytes_total{route="api",service="svc"} 8'));
      assert.ok(text.includes('gatehouse_response_bytes_total{route="api",service="svc"} 20'));
      assert.ok(
        text.includes(
          `gatehouse_response_bytes_total{route="locked",service="svc"} ${Buffer.byteLength(lockedBody)}`,
        ),
      );
      assert.ok(
        text.includes(
          `gatehouse_response_bytes_total{route="gone",service="dead"} ${Buffer.byteLength(goneBody)}`,
        ),
      );
      assert.ok(text.includes('gatehouse_upstream_retries_total{route="gone",service="dead"} 1'));
      assert.ok(text.includes('gatehouse_upstream_retries_total{route="api",service="svc"} 0'));
      assert.deepEqual(samples(text, "gatehouse_requests_in_flight"), [
        "gatehouse_requests_in_flight 0",
      ]);
      assert.match(
        samples(text, "gatehouse_connections_open")[0]!,
        /^gatehouse_connections_open [1-9]/,
      );
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("is not served when gateway.metrics.enabled is false", async () => {
    const up = await startUpstream();
    const gw = await startGateway(
      testConfig({
        gateway: { metrics: { enabled: false } },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "r", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    try {
      assert.equal((await request(`${gw.url}/x`)).statusCode, 200);
      const res = await request(`${gw.statusUrl}/metrics`);
      assert.equal(res.statusCode, 404);
      await res.body.dump();
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("answers OpenMetrics when the scraper asks for it", async () => {
    const up = await startUpstream();
    const gw = await startGateway(
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "r", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    try {
      const plain = await scrape(gw.statusUrl);
      assert.match(plain.type, /^text\/plain; version=0\.0\.4/);
      const open = await scrape(gw.statusUrl, "application/openmetrics-text; version=1.0.0");
      assert.match(open.type, /^application\/openmetrics-text/);
      assert.ok(open.text.trimEnd().endsWith("# EOF"), "OpenMetrics ends with # EOF");
      assert.ok(open.text.includes('gatehouse_config_reloads_total{result="success"} 0'));
      assert.ok(open.text.includes("# TYPE gatehouse_requests counter"));
      const again = await scrape(gw.statusUrl);
      assert.ok(
        again.text.includes("# TYPE gatehouse_requests_total counter"),
        "an OpenMetrics scrape leaves the Prometheus names as they were",
      );
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});
