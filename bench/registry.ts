/**
 * @module bench/registry
 * The service registry, measured on a Gatehouse process with the memory store:
 * - registration → routed: an instance registers (PUT) and requests through the gateway
 *   are sent until one reaches it; the time from the PUT to that answer, many times, with
 *   one and with 1,000 other instances registered (a change must cost O(1));
 * - heartbeats: 1,000 instances of 100 services heartbeating every 5 s, and the gateway's
 *   CPU while they do, as a share of one core;
 * - a storm: 5,000 instances registered at once, and the time until the gateway routes to
 *   all of them (its runtime view counts them available).
 * `node bench/registry.ts` alone, or with the rest in `npm run bench`.
 */

import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import {
  type Child,
  cpuSeconds,
  freePort,
  startChild,
  stopChild,
  waitForListening,
} from "./processes.ts";
import type { Check } from "./report.ts";
import { formatColumns } from "./table.ts";

const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

export interface RegistryResults {
  /** Registration → first request routed to it, in ms, by how many other instances there were. */
  routed: { others: number; samples: number; medianMs: number; p99Ms: number; maxMs: number }[];
  /** The gateway's CPU while 1,000 instances heartbeat every 5 s, as a share of one core. */
  heartbeats: { instances: number; perSecond: number; cpuShare: number; failed: number };
  /** 5,000 instances registered at once: ms until every one is routable. */
  storm: { instances: number; routableMs: number | undefined };
}

const dispatcher = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });

/** Upstreams that answer with their own port, so a test can tell which one served it. */
async function identityServers(count: number): Promise<{ ports: number[]; close(): void }> {
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer((_req, res) =>
      res.end(String((server.address() as { port: number }).port)),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
  }
  return {
    ports: servers.map((server) => (server.address() as { port: number }).port),
    close: () => {
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
    },
  };
}

async function put(admin: string, service: string, id: string, body: object): Promise<number> {
  const res = await request(`${admin}/registry/services/${service}/instances/${id}`, {
    method: "PUT",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
    dispatcher,
  });
  await res.body.dump();
  return res.statusCode;
}

async function remove(admin: string, service: string, id: string): Promise<void> {
  const res = await request(`${admin}/registry/services/${service}/instances/${id}`, {
    method: "DELETE",
    dispatcher,
  });
  await res.body.dump();
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

/** `trials` registrations of a fresh instance; the time from its PUT until it answers a routed request. */
async function measureRouted(
  proxy: string,
  admin: string,
  ports: number[],
  others: number,
  trials: number,
): Promise<RegistryResults["routed"][number]> {
  // The others belong to a service of their own that the gateway also follows: the
  // newcomer is alone in its service (each trial's is removed after it), so the first answer
  // from it says its registration reached the request path, whatever the picking.
  for (let i = 0; i < others; i++) {
    await put(admin, "crowd", `other-${i}`, { address: "127.0.0.1", port: ports[0]!, ttl: "5m" });
  }
  const times: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const port = ports[1 + (trial % (ports.length - 1))]!;
    const id = `new-${trial}`;
    const started = performance.now();
    const status = await put(admin, "svc", id, { address: "127.0.0.1", port, ttl: "5m" });
    if (status !== 201 && status !== 200) throw new Error(`registration answered ${status}`);
    const deadline = started + 2_000;
    for (;;) {
      const res = await request(`${proxy}/svc/x`, { dispatcher });
      const body = await res.body.text();
      if (body === String(port)) break;
      if (performance.now() > deadline) throw new Error(`instance ${id} not routed within 2 s`);
    }
    times.push(performance.now() - started);
    await remove(admin, "svc", id);
  }
  for (let i = 0; i < others; i++) await remove(admin, "crowd", `other-${i}`);
  times.sort((a, b) => a - b);
  return {
    others,
    samples: times.length,
    medianMs: quantile(times, 0.5),
    p99Ms: quantile(times, 0.99),
    maxMs: times.at(-1)!,
  };
}

/** Registers `count` instances over `services` services, `concurrency` PUTs at a time. */
async function registerMany(admin: string, count: number, services: number, ttl: string) {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const status = await put(admin, `s${i % services}`, `i${i}`, {
        address: "127.0.0.1",
        port: 20_000 + (i % 40_000),
        ttl,
      });
      if (status !== 201 && status !== 200) failed++;
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  return failed;
}

/** The targets the gateway can route to in the storm's services, from `/status` (cheap). */
async function availableTargets(status: string): Promise<number> {
  const res = await request(`${status}/status`, { dispatcher });
  const view = (await res.body.json()) as { services: { name: string; available: number }[] };
  return view.services.reduce(
    (sum, service) => sum + (/^s\d+$/.test(service.name) ? service.available : 0),
    0,
  );
}

/** 1,000 instances heartbeating every 5 s for `seconds`; the gateway's CPU meanwhile. */
async function measureHeartbeats(admin: string, pid: number, seconds: number) {
  const instances = 1_000;
  const services = 100;
  let failed = await registerMany(admin, instances, services, "15s");
  const perSecond = instances / 5;
  const before = cpuSeconds(pid)!;
  const started = performance.now();
  let sent = 0;
  // Spread evenly: one every 1000/perSecond ms, each instance once per 5 s.
  await new Promise<void>((resolve) => {
    const total = perSecond * seconds;
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * perSecond));
      for (; sent < due; sent++) {
        const i = sent % instances;
        request(`${admin}/registry/services/s${i % services}/instances/i${i}/heartbeat`, {
          method: "PUT",
          dispatcher,
        })
          .then(async (res) => {
            await res.body.dump();
            if (res.statusCode !== 200) failed++;
          })
          .catch(() => failed++);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpuShare = (cpuSeconds(pid)! - before) / elapsed;
  for (let i = 0; i < instances; i++) await remove(admin, `s${i % services}`, `i${i}`);
  return { instances, perSecond, cpuShare, failed };
}

async function measureStorm(admin: string, status: string): Promise<RegistryResults["storm"]> {
  const instances = 5_000;
  const started = performance.now();
  const registering = registerMany(admin, instances, 50, "5m");
  let routableMs: number | undefined;
  const deadline = started + 30_000;
  while (performance.now() < deadline) {
    if ((await availableTargets(status)) >= instances) {
      routableMs = performance.now() - started;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await registering;
  return { instances, routableMs };
}

export async function measureRegistry(dir: string): Promise<RegistryResults> {
  const [proxyPort, adminPort, statusPort] = [await freePort(), await freePort(), await freePort()];
  const services = [
    "  - { name: svc, discovery: { registry: { service: svc } } }",
    "  - { name: crowd, discovery: { registry: { service: crowd } } }",
    ...Array.from(
      { length: 100 },
      (_, i) => `  - { name: s${i}, discovery: { registry: { service: s${i} } } }`,
    ),
  ];
  const config = join(dir, "registry-gatehouse.yaml");
  writeFileSync(
    config,
    [
      "gateway:",
      `  listen: [{ host: 127.0.0.1, port: ${proxyPort} }]`,
      `  admin: { host: 127.0.0.1, port: ${adminPort} }`,
      `  status: { host: 127.0.0.1, port: ${statusPort} }`,
      "  registry: {}",
      `  accessLog: { destination: ${join(dir, "registry-access.log")} }`,
      "services:",
      ...services,
      "routes:",
      '  - { name: svc, match: { paths: ["/svc/*"] }, service: svc }',
      "",
    ].join("\n"),
  );
  const upstreams = await identityServers(9);
  let gatehouse: Child | undefined;
  try {
    gatehouse = startChild("gatehouse-registry", process.execPath, [cli, "start", "-c", config]);
    await waitForListening(gatehouse, adminPort, 60_000);
    await waitForListening(gatehouse, proxyPort, 60_000);
    const proxy = `http://127.0.0.1:${proxyPort}`;
    const admin = `http://127.0.0.1:${adminPort}`;
    // Warm up (JIT) before anything is measured.
    await measureRouted(proxy, admin, upstreams.ports, 0, 20);
    const routed = [
      await measureRouted(proxy, admin, upstreams.ports, 1, 200),
      await measureRouted(proxy, admin, upstreams.ports, 1_000, 200),
    ];
    const heartbeats = await measureHeartbeats(admin, gatehouse.process.pid!, 20);
    const storm = await measureStorm(admin, `http://127.0.0.1:${statusPort}`);
    return { routed, heartbeats, storm };
  } finally {
    if (gatehouse) await stopChild(gatehouse);
    upstreams.close();
  }
}

export function formatRegistryTable(results: RegistryResults): string {
  const routed = formatColumns(
    ["registration → routed (memory store)", "samples", "median", "p99", "max"],
    results.routed.map((row) => [
      `with ${row.others.toLocaleString("en-US")} other instance${row.others === 1 ? "" : "s"}`,
      String(row.samples),
      `${row.medianMs.toFixed(2)} ms`,
      `${row.p99Ms.toFixed(2)} ms`,
      `${row.maxMs.toFixed(2)} ms`,
    ]),
  );
  const { heartbeats, storm } = results;
  return [
    routed,
    "",
    `heartbeats: ${heartbeats.instances.toLocaleString("en-US")} instances every 5 s (${heartbeats.perSecond}/s): gateway CPU ${(heartbeats.cpuShare * 100).toFixed(1)}% of a core, ${heartbeats.failed} failed`,
    `storm: ${storm.instances.toLocaleString("en-US")} instances registered at once: ${storm.routableMs === undefined ? "not all routable within 30 s" : `all routable after ${Math.round(storm.routableMs)} ms`}`,
  ].join("\n");
}

export function registryChecks(results: RegistryResults | undefined): Check[] {
  if (!results) return [];
  const checks: Check[] = [];
  for (const row of results.routed) {
    const ok = row.medianMs < 10 && row.p99Ms < 50;
    checks.push({
      claim: `Registration -> routed (memory, ${row.others} other instances): median < 10 ms, p99 < 50 ms`,
      verdict: ok ? "PASS" : "FAIL",
      detail: `median ${row.medianMs.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms over ${row.samples}`,
    });
  }
  const { heartbeats, storm } = results;
  checks.push({
    claim: "1,000 instances heartbeating every 5 s cost the gateway < 5% of a core",
    verdict: heartbeats.failed === 0 && heartbeats.cpuShare < 0.05 ? "PASS" : "FAIL",
    detail: `${(heartbeats.cpuShare * 100).toFixed(2)}% of a core${heartbeats.failed ? `, ${heartbeats.failed} failed heartbeats` : ""}`,
  });
  checks.push({
    claim: "5,000 instances registered at once are all routable within 2 s (memory)",
    verdict: storm.routableMs !== undefined && storm.routableMs < 2_000 ? "PASS" : "FAIL",
    detail:
      storm.routableMs === undefined ? "not within 30 s" : `${Math.round(storm.routableMs)} ms`,
  });
  return checks;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-registry-"));
  try {
    const results = await measureRegistry(dir);
    console.log(formatRegistryTable(results));
    console.log(
      registryChecks(results)
        .map((c) => `${c.verdict}  ${c.claim}: ${c.detail}`)
        .join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dispatcher.close();
  }
}
