// Failover with the default settings, under load: one of three targets killed (SIGKILL,
// a real process) or hung (accepts, never answers) costs no GET, leaves rotation after its
// first failures, and comes back by itself once it answers again.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, describe, it } from "node:test";
import { request } from "undici";
import type { TargetView } from "../../src/upstream/upstream-view.ts";
import { removeDir, startAdminGateway } from "../helpers/admin.ts";
import { freePort } from "../helpers/child-process.ts";
import { type RunningGateway, startSimpleGateway } from "../helpers/gateway.ts";
import { type LoadResult, type RunningLoad, startLoad } from "../helpers/steady-load.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";
import { startUpstreamProcess, type UpstreamProcess } from "../helpers/upstream-process.ts";

const processes: UpstreamProcess[] = [];
after(async () => {
  for (const upstream of processes) await upstream.kill();
});

async function upstreamProcess(name: string, port = 0): Promise<UpstreamProcess> {
  const upstream = await startUpstreamProcess(name, port);
  processes.push(upstream);
  return upstream;
}

/** Counts the tries the gateway sends to `url` (undici's own diagnostics channel). */
function countTries(url: string) {
  const origin = new URL(url).origin;
  let count = 0;
  const onCreate = (message: unknown) => {
    if (String((message as { request: { origin: unknown } }).request.origin) === origin) count++;
  };
  subscribe("undici:request:create", onCreate);
  return {
    get count() {
      return count;
    },
    stop: () => unsubscribe("undici:request:create", onCreate),
  };
}

/** The target as `GET /upstreams` on the status listener shows it. */
async function targetView(gw: RunningGateway, url: string): Promise<TargetView> {
  const res = await request(`${gw.statusUrl}/upstreams`);
  const body = (await res.body.json()) as { services: { targets: TargetView[] }[] };
  return body.services[0]!.targets.find((target) => target.url === url)!;
}

const results = new WeakMap<RunningLoad, Promise<LoadResult>>();

/** Stops the load once, however often asked. */
function stopped(load: RunningLoad): Promise<LoadResult> {
  let result = results.get(load);
  if (!result) {
    result = load.stop();
    results.set(load, result);
  }
  return result;
}

/** Ten keep-alive clients, bounded in count and time, expecting 200 and recording bodies. */
function tenClients(gw: RunningGateway, seen: Set<string>, maxMs: number): RunningLoad {
  return startLoad({
    url: gw.url,
    path: (worker, n) => `/item/${worker}/${n}`,
    check: (status, body) => {
      seen.add(body);
      return status === 200 ? undefined : `${status} ${body}`;
    },
    workers: 10,
    maxRequests: 200_000,
    maxMs,
  });
}

describe("failover with the defaults", () => {
  it("a target killed with SIGKILL under load costs no GET and leaves rotation at its first failures", async () => {
    const ups = [
      await upstreamProcess("a"),
      await upstreamProcess("b"),
      await upstreamProcess("c"),
    ];
    const dead = ups[1]!;
    const gw = await startSimpleGateway(ups.map((up) => up.url));
    const tries = countTries(dead.url);
    const load = tenClients(gw, new Set(), 15_000);
    try {
      await until(() => load.requests >= 300, "traffic before the kill", 10_000);
      await dead.kill();
      const triesAtKill = tries.count;
      const requestsAtKill = load.requests;
      await until(async () => (await targetView(gw, dead.url)).ejected, "the ejection", 5_000);
      const triesAtEjection = tries.count;
      await until(() => load.requests >= requestsAtKill + 1_500, "traffic after the kill", 10_000);
      const result = await stopped(load);
      assert.equal(result.failures, 0, `failed GETs:\n${result.examples.join("\n")}`);
      assert.ok(
        triesAtEjection - triesAtKill <= 10,
        `tries sent to the dead target before it left rotation: ${triesAtEjection - triesAtKill}`,
      );
      assert.equal(tries.count, triesAtEjection, "no try sent to the dead target once ejected");
      const view = await targetView(gw, dead.url);
      assert.equal(view.ejected, true);
      assert.equal(view.available, false);
      assert.equal(view.ejections, 1);
    } finally {
      await stopped(load);
      tries.stop();
      await gw.stop();
    }
  });

  it("a killed target comes back into rotation by itself once it listens again", async () => {
    const ups = [
      await upstreamProcess("a"),
      await upstreamProcess("b"),
      await upstreamProcess("c"),
    ];
    const dead = ups[1]!;
    const gw = await startSimpleGateway(
      ups.map((up) => up.url),
      {},
      {},
      // Short ejections, so that the test does not wait 10s for the first one to end.
      { healthCheck: { passive: { baseEjection: "300ms" } } },
    );
    const seen = new Set<string>();
    const load = tenClients(gw, seen, 15_000);
    try {
      await until(() => load.requests >= 300, "traffic before the kill", 10_000);
      await dead.kill();
      await until(async () => (await targetView(gw, dead.url)).ejected, "the ejection", 5_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await upstreamProcess("b-again", dead.port);
      await until(() => seen.has("b-again"), "the restarted target to take traffic", 10_000);
      const result = await stopped(load);
      assert.equal(result.failures, 0, `failed GETs:\n${result.examples.join("\n")}`);
      assert.ok(seen.has("a") && seen.has("c"));
    } finally {
      await stopped(load);
      await gw.stop();
    }
  });
});

describe("a hung target with the defaults (timeouts.response 1s)", () => {
  const hungUpstream = async (answering: () => boolean): Promise<Upstream> =>
    startUpstream((_req, res) => {
      if (answering()) res.end("b");
      // Otherwise accepted and never answered.
    });

  it("answers every GET 200 and sends the hung target nothing once its first tries timed out", async () => {
    const a = await upstreamProcess("a");
    const c = await upstreamProcess("c");
    const hung = await hungUpstream(() => false);
    const gw = await startSimpleGateway(
      [a.url, hung.url, c.url],
      {},
      {},
      {
        timeouts: { response: "1s" },
      },
    );
    const load = tenClients(gw, new Set(), 15_000);
    try {
      await until(async () => (await targetView(gw, hung.url)).ejected, "the ejection", 5_000);
      const reachedAtEjection = hung.requests.length;
      const requestsAtEjection = load.requests;
      await until(() => load.requests >= requestsAtEjection + 1_500, "traffic after", 10_000);
      const result = await stopped(load);
      assert.equal(result.failures, 0, `failed GETs:\n${result.examples.join("\n")}`);
      assert.ok(result.requests >= 1_500);
      assert.ok(reachedAtEjection <= 10, `requests the hung target took: ${reachedAtEjection}`);
      assert.equal(hung.requests.length, reachedAtEjection, "nothing sent to it once ejected");
      const view = await targetView(gw, hung.url);
      assert.equal(view.ejected, true);
      assert.equal(view.available, false);
    } finally {
      await stopped(load);
      await gw.stop();
      await hung.close();
    }
  });

  it("takes the target back once it answers, trying it one request at a time meanwhile", async () => {
    let answering = false;
    const a = await upstreamProcess("a");
    const c = await upstreamProcess("c");
    const hung = await hungUpstream(() => answering);
    const gw = await startSimpleGateway(
      [a.url, hung.url, c.url],
      {},
      {},
      {
        timeouts: { response: "1s" },
        healthCheck: { passive: { baseEjection: "300ms" } },
      },
    );
    const seen = new Set<string>();
    const load = tenClients(gw, seen, 15_000);
    try {
      await until(async () => (await targetView(gw, hung.url)).ejected, "the ejection", 5_000);
      const reachedAtEjection = hung.requests.length;
      // Out for 300ms, then one trial (1s timeout), out for 600ms, one trial...
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const trials = hung.requests.length - reachedAtEjection;
      assert.ok(trials >= 1 && trials <= 2, `trial requests while hung: ${trials}`);
      answering = true;
      await until(() => seen.has("b"), "the target to answer again", 10_000);
      const result = await stopped(load);
      assert.equal(result.failures, 0, `failed GETs:\n${result.examples.join("\n")}`);
    } finally {
      await stopped(load);
      await gw.stop();
      await hung.close();
    }
  });
});

describe("an ejected target in the admin API's runtime view", () => {
  it("is shown ejected, and a service with nothing else says so", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const gw = await startAdminGateway(
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  admin: { port: 0 }",
        "  reload: { watch: false }",
        "  log: { level: silent }",
        "  accessLog: { enabled: false }",
        "services:",
        `  - { name: svc, targets: [{ url: "${dead}" }], healthCheck: { passive: { maxEjectionPercent: 100 } } }`,
        'routes: [{ name: all, match: { paths: ["/*"] }, service: svc }]',
        "",
      ].join("\n"),
    );
    try {
      assert.equal((await gw.proxy("/x")).status, 502);
      const service = (await gw.admin("GET", "/runtime/services/svc")).body;
      assert.equal(service.status, "unavailable");
      assert.deepEqual(service.errors, [
        "no available target: 0 unhealthy, 1 ejected, 0 with an open breaker, of 1",
      ]);
      assert.equal(service.targets[0].ejected, true);
      assert.equal(service.targets[0].available, false);
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
    }
  });
});
