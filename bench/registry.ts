/**
 * @module bench/registry
 * The service registry, measured on a Gatehouse process, with the memory store and with
 * the etcd store (a real etcd of its own, on the same machine):
 * - registration → routed (bench/registry-routed): an instance registers (PUT) and calls
 *   are sent until one reaches it, through the gateway, through an SDK service client
 *   watching the registry API, and (etcd store) through one watching etcd; the time from
 *   the PUT to that answer, many times, with one and with 1,000 other instances registered
 *   (a change must cost O(1));
 * - heartbeats (memory): 1,000 instances of 100 services heartbeating every 5 s, and the
 *   gateway's CPU while they do, as a share of one core, beside its CPU while they are
 *   registered and quiet (the registry's share is the difference);
 * - a storm: 5,000 instances registered at once, and the time until the gateway routes to
 *   all of them (its runtime view counts them available).
 * `node bench/registry.ts` alone, `npm run bench -- --only registry`, or with the Gatehouse
 * targets in `npm run bench`.
 */

import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { type EtcdServer, startEtcdServer } from "../test/helpers/etcd-server.ts";
import {
  type Child,
  cpuSeconds,
  freePort,
  startChild,
  stopChild,
  waitForListening,
} from "./processes.ts";
import { dispatcher, put, remove } from "./registry-client.ts";
import {
  gatewayCaller,
  measureRouted,
  type RoutedCaller,
  type RoutedRow,
  registerCrowd,
  removeCrowd,
  routedVia,
  sdkCaller,
} from "./registry-routed.ts";
import type { Check } from "./report.ts";
import { formatColumns } from "./table.ts";

const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

/** Its `--only` name (it also runs whenever a Gatehouse target does). */
export const registryBenchName = "registry";

/** Where the registry keeps its instances. */
export type RegistryStoreKind = "memory" | "etcd";

export type { RoutedRow } from "./registry-routed.ts";

/** One store's numbers. */
export interface StoreResults {
  store: RegistryStoreKind;
  routed: RoutedRow[];
  /**
   * The gateway's CPU while 1,000 instances heartbeat every 5 s, and while the same
   * instances are registered and quiet (`idleShare`), as shares of one core. Memory only:
   * an etcd store's heartbeats are keep-alives between the SDK and etcd's lease.
   */
  heartbeats?: {
    instances: number;
    perSecond: number;
    cpuShare: number;
    idleShare: number;
    failed: number;
  };
  /** `instances` registered at once: ms until every one is routable. */
  storm: { instances: number; routableMs: number | undefined; limitMs: number };
}

export interface RegistryResults {
  stores: StoreResults[];
}

/** What each store is asked to do (the issue's targets). */
const limits = {
  memory: { stormMs: 2_000, stormDeadlineMs: 30_000 },
  etcd: { stormMs: 15_000, stormDeadlineMs: 60_000 },
} as const satisfies Record<RegistryStoreKind, { stormMs: number; stormDeadlineMs: number }>;

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

/**
 * 1,000 instances registered, quiet for `seconds`, then heartbeating every 5 s for
 * `seconds`; the gateway's CPU in each.
 */
async function measureHeartbeats(admin: string, pid: number, seconds: number) {
  const instances = 1_000;
  const services = 100;
  // Long enough to stay up through the quiet part.
  let failed = await registerMany(admin, instances, services, "30s");
  const idleShare = await cpuShareOver(pid, () => sleep(seconds * 1000));
  const perSecond = instances / 5;
  const cpuShare = await cpuShareOver(pid, async () => {
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
  });
  for (let i = 0; i < instances; i++) await remove(admin, `s${i % services}`, `i${i}`);
  return { instances, perSecond, cpuShare, idleShare, failed };
}

/** The process's CPU while `work` runs, as a share of one core. */
async function cpuShareOver(pid: number, work: () => Promise<void>): Promise<number> {
  const before = cpuSeconds(pid)!;
  const started = performance.now();
  await work();
  return (cpuSeconds(pid)! - before) / ((performance.now() - started) / 1000);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function measureStorm(
  admin: string,
  status: string,
  store: RegistryStoreKind,
): Promise<StoreResults["storm"]> {
  const instances = 5_000;
  const { stormMs, stormDeadlineMs } = limits[store];
  const started = performance.now();
  const registering = registerMany(admin, instances, 50, "5m");
  let routableMs: number | undefined;
  const deadline = started + stormDeadlineMs;
  while (performance.now() < deadline) {
    if ((await availableTargets(status)) >= instances) {
      routableMs = performance.now() - started;
      break;
    }
    await sleep(50);
  }
  await registering;
  return { instances, routableMs, limitMs: stormMs };
}

/** Runs every measurement against each store; the etcd store gets an etcd of its own. */
export async function measureRegistry(dir: string): Promise<RegistryResults> {
  const stores: StoreResults[] = [await measureStore(dir, "memory")];
  let etcd: EtcdServer | undefined;
  try {
    etcd = await startEtcdServer();
    stores.push(await measureStore(dir, "etcd", etcd.url));
  } finally {
    await etcd?.remove();
  }
  return { stores };
}

/** Where the etcd store keeps the registry (and where an SDK client watching etcd looks). */
const etcdPrefix = "/bench-registry/";

/**
 * Registration → routed through each caller, 200 times with one other instance registered
 * and 200 times with 1,000, after a warm-up (JIT, connections) of each.
 */
async function measureRoutedRows(
  admin: string,
  ports: number[],
  starting: (RoutedCaller | Promise<RoutedCaller>)[],
): Promise<RoutedRow[]> {
  const callers = await Promise.allSettled(starting);
  try {
    const ready = callers.map((caller) => {
      if (caller.status === "rejected") throw caller.reason;
      return caller.value;
    });
    for (const caller of ready) await measureRouted(caller, admin, ports, 0, 20);
    const rows: RoutedRow[] = [];
    for (const others of [1, 1_000]) {
      await registerCrowd(admin, ports[0]!, others);
      for (const caller of ready) rows.push(await measureRouted(caller, admin, ports, others, 200));
      await removeCrowd(admin, others);
    }
    return rows;
  } finally {
    for (const caller of callers) if (caller.status === "fulfilled") await caller.value.close();
  }
}

async function measureStore(
  dir: string,
  store: RegistryStoreKind,
  etcdUrl?: string,
): Promise<StoreResults> {
  const [proxyPort, adminPort, statusPort] = [await freePort(), await freePort(), await freePort()];
  const services = [
    "  - { name: svc, discovery: { registry: { service: svc } } }",
    "  - { name: crowd, discovery: { registry: { service: crowd } } }",
    ...Array.from(
      { length: 100 },
      (_, i) => `  - { name: s${i}, discovery: { registry: { service: s${i} } } }`,
    ),
  ];
  const config = join(dir, `registry-${store}-gatehouse.yaml`);
  writeFileSync(
    config,
    [
      "gateway:",
      `  listen: [{ host: 127.0.0.1, port: ${proxyPort} }]`,
      `  admin: { host: 127.0.0.1, port: ${adminPort} }`,
      `  status: { host: 127.0.0.1, port: ${statusPort} }`,
      store === "etcd"
        ? `  registry: { store: etcd, etcd: { endpoints: ["${etcdUrl}"], prefix: ${etcdPrefix} } }`
        : "  registry: {}",
      `  accessLog: { destination: ${join(dir, `registry-${store}-access.log`)} }`,
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
    gatehouse = startChild(`gatehouse-registry-${store}`, process.execPath, [
      cli,
      "start",
      "-c",
      config,
    ]);
    await waitForListening(gatehouse, adminPort, 60_000);
    await waitForListening(gatehouse, proxyPort, 60_000);
    const proxy = `http://127.0.0.1:${proxyPort}`;
    const admin = `http://127.0.0.1:${adminPort}`;
    const routed = await measureRoutedRows(admin, upstreams.ports, [
      gatewayCaller(proxy),
      sdkCaller("sdk", { registry: admin }),
      ...(etcdUrl
        ? [sdkCaller("sdk-etcd", { etcd: { endpoints: [etcdUrl], prefix: etcdPrefix } })]
        : []),
    ]);
    const heartbeats =
      store === "memory" ? await measureHeartbeats(admin, gatehouse.process.pid!, 20) : undefined;
    const storm = await measureStorm(admin, `http://127.0.0.1:${statusPort}`, store);
    return { store, routed, ...(heartbeats && { heartbeats }), storm };
  } finally {
    if (gatehouse) await stopChild(gatehouse);
    upstreams.close();
  }
}

export function formatRegistryTable(results: RegistryResults): string {
  const routed = formatColumns(
    ["registration → routed", "samples", "median", "p99", "max"],
    results.stores.flatMap(({ store, routed }) =>
      routed.map((row) => [
        `${store}, ${routedVia[row.via]}, with ${row.others.toLocaleString("en-US")} other instance${row.others === 1 ? "" : "s"}`,
        String(row.samples),
        `${row.medianMs.toFixed(2)} ms`,
        `${row.p99Ms.toFixed(2)} ms`,
        `${row.maxMs.toFixed(2)} ms`,
      ]),
    ),
  );
  const lines = [routed, ""];
  for (const { store, heartbeats, storm } of results.stores) {
    if (heartbeats)
      lines.push(
        `heartbeats (${store}): ${heartbeats.instances.toLocaleString("en-US")} instances every 5 s (${heartbeats.perSecond}/s): gateway CPU ${percent(heartbeats.cpuShare)} of a core, ${percent(heartbeats.idleShare)} with the same instances quiet, ${heartbeats.failed} failed`,
      );
    lines.push(
      `storm (${store}): ${storm.instances.toLocaleString("en-US")} instances registered at once: ${storm.routableMs === undefined ? "not all routable in time" : `all routable after ${Math.round(storm.routableMs)} ms`}`,
    );
  }
  return lines.join("\n");
}

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

export function registryChecks(results: RegistryResults | undefined): Check[] {
  if (!results) return [];
  const checks: Check[] = [];
  for (const { store, routed } of results.stores)
    for (const row of routed) {
      const ok = row.medianMs < 10 && row.p99Ms < 50;
      checks.push({
        claim: `Registration -> routed (${store}, ${routedVia[row.via]}, ${row.others} other instances): median < 10 ms, p99 < 50 ms`,
        verdict: ok ? "PASS" : "FAIL",
        detail: `median ${row.medianMs.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms over ${row.samples}`,
      });
    }
  for (const { store, heartbeats } of results.stores) {
    if (!heartbeats) continue;
    // The registry's share: what heartbeating adds to the gateway with the instances quiet.
    const share = heartbeats.cpuShare - heartbeats.idleShare;
    checks.push({
      claim: `1,000 instances heartbeating every 5 s cost the gateway < 5% of a core (${store})`,
      verdict: heartbeats.failed === 0 && share < 0.05 ? "PASS" : "FAIL",
      detail: `${(share * 100).toFixed(2)}% (${percent(heartbeats.cpuShare)} heartbeating, ${percent(heartbeats.idleShare)} quiet)${heartbeats.failed ? `, ${heartbeats.failed} failed heartbeats` : ""}`,
    });
  }
  for (const { store, storm } of results.stores) {
    checks.push({
      claim: `5,000 instances registered at once are all routable within ${storm.limitMs / 1000} s (${store})`,
      verdict: storm.routableMs !== undefined && storm.routableMs < storm.limitMs ? "PASS" : "FAIL",
      detail: storm.routableMs === undefined ? "not in time" : `${Math.round(storm.routableMs)} ms`,
    });
  }
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
