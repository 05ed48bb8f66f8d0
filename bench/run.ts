/**
 * @module bench/run
 * `npm run bench`: starts the nginx JSON upstream, then starts, warms up, measures and
 * stops each target in turn with wrk, prints the table and the PASS/FAIL targets, and
 * writes bench/results/latest.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ConnectionsResults,
  connectionsBenchName,
  connectionsChecks,
  formatConnectionsTable,
  measureConnections,
} from "./connections.ts";
import { type EventsResults, eventsBenchName, formatEventsTable, measureEvents } from "./events.ts";
import { formatGrpcTable, grpcChecks, measureGrpcUnary } from "./grpc-unary.ts";
import {
  formatInstancesTable,
  type InstancesResults,
  instancesBenchName,
  instancesChecks,
  measureInstances,
} from "./instances.ts";
import { runInstructions } from "./instructions.ts";
import { machineInfo } from "./machine.ts";
import { startNginx } from "./nginx.ts";
import { type BenchOptions, parseOptions, selected, usage } from "./options.ts";
import {
  harnessCore,
  measuredCore,
  pinHarness,
  pinningDescription,
  setAffinity,
} from "./pinning.ts";
import { pluginCases } from "./plugin-cases.ts";
import { formatPluginTable, measurePluginCost } from "./plugin-micro.ts";
import { startRedis } from "./plugin-scenarios.ts";
import {
  cpuSeconds,
  freePort,
  installCleanupHandlers,
  stopChild,
  waitForListening,
} from "./processes.ts";
import {
  formatPropagationTable,
  measurePropagation,
  type PropagationResults,
  propagationBenchName,
  propagationChecks,
} from "./propagation.ts";
import {
  formatRegistryTable,
  measureRegistry,
  type RegistryResults,
  registryBenchName,
  registryChecks,
} from "./registry.ts";
import {
  formatReloadTables,
  measureReload,
  type ReloadResults,
  reloadChecks,
  reloadSelected,
} from "./reload-report.ts";
import {
  evaluateChecks,
  formatChecks,
  formatTable,
  type Measurement,
  targetResults,
} from "./report.ts";
import { measureRouterCost } from "./router-micro.ts";
import { formatSagasTable, measureSagas, type SagaResults, sagasBenchName } from "./sagas.ts";
import { formatSelectorTable, measureSelectorCost } from "./selectors.ts";
import { type BenchContext, type Target, targets } from "./targets.ts";
import { formatHandshakeTable, handshakeChecks, measureHandshakeCost } from "./tls-handshakes.ts";
import { formatTlsProtocolTable, measureTlsProtocols, type ProtocolCost } from "./tls-http2.ts";
import { ensureTools } from "./tools.ts";
import { formatTranscodeLine, measureTranscodeCost, transcodeChecks } from "./transcode-micro.ts";
import { verifyTarget } from "./verify.ts";
import { runWrk } from "./wrk.ts";

const resultsFile = fileURLToPath(new URL("./results/latest.json", import.meta.url));

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  if (options === "help") {
    console.log(usage);
    return;
  }
  const chosen = targets.filter((target) => selected(options, target.name));
  const reloadChosen = reloadSelected(options);
  const propagationChosen = selected(options, propagationBenchName);
  // With any Gatehouse target come the in-process tables, TLS, gRPC and the registry.
  const gatehouse =
    !options.loadOnly && chosen.some((target) => target.name.startsWith("gatehouse"));
  // The registry runs with the Gatehouse targets, or alone (`--only registry`).
  const registryChosen = gatehouse || options.only.includes(registryBenchName);
  const sagasChosen = selected(options, sagasBenchName);
  const eventsChosen = selected(options, eventsBenchName);
  const instancesChosen = selected(options, instancesBenchName);
  const connectionsChosen = selected(options, connectionsBenchName);
  if (
    chosen.length === 0 &&
    !reloadChosen &&
    !propagationChosen &&
    !registryChosen &&
    !sagasChosen &&
    !eventsChosen &&
    !instancesChosen &&
    !connectionsChosen
  )
    throw new Error(`--only ${options.only.join(",")} selects no target\n\n${usage}`);

  ensureTools();
  if (options.instructions) {
    if (chosen.length === 0) throw new Error(`--instructions counts load targets only\n\n${usage}`);
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-"));
    installCleanupHandlers(() => rmSync(dir, { recursive: true, force: true }));
    await runInstructions(chosen, dir);
    return;
  }
  // Before any child starts: each one inherits the harness's core.
  if (options.pinned) pinHarness();
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-"));
  installCleanupHandlers(() => rmSync(dir, { recursive: true, force: true }));

  const machine = machineInfo();
  console.log(
    `bench: ${machine.cpuModel}, ${machine.cores} cores (shared by wrk, the target and the upstream), ` +
      `node ${machine.node}, ${machine.wrk}, nginx ${machine.nginx}`,
  );
  if (machine.loadAverageAtStart[0]! > 0.5)
    console.log(
      `bench: warning: load average ${machine.loadAverageAtStart[0]} before starting; other processes ` +
        "are using the CPUs wrk and the targets share, so expect noisy numbers",
    );
  console.log(`bench: mode: ${pinningDescription(options.pinned)}`);
  console.log(
    `bench: wrk -t${options.threads} -c${options.connections}, ${options.warmup}s warm-up + ` +
      `${options.duration}s measured per target, ${options.rounds} interleaved round(s), best round reported\n`,
  );

  const upstreamPort = await freePort();
  const upstream = startNginx("nginx upstream", join(dir, "nginx-upstream"), upstreamPort, {
    kind: "upstream",
  });
  const rounds: Measurement[][] = chosen.map(() => []);
  let reload: ReloadResults | undefined;
  let propagation: PropagationResults | undefined;
  let tlsProtocols: ProtocolCost[] | undefined;
  let connections: ConnectionsResults | undefined;
  try {
    await waitForListening(upstream, upstreamPort, 15_000);
    const context: BenchContext = { dir, upstreamPort, upstream, nodeFlags: profileFlags(options) };
    // Interleaving rounds spreads a passing burst of load from elsewhere over every target.
    for (let round = 1; round <= options.rounds; round++) {
      // Each round starts one target later, so no target always runs first or last.
      for (let step = 0; step < chosen.length; step++) {
        const index = (step + round - 1) % chosen.length;
        const target = chosen[index]!;
        process.stdout.write(
          `[round ${round}/${options.rounds}, ${step + 1}/${chosen.length}] ${target.label}: `,
        );
        const measurement = await measure(target, context, options);
        console.log(
          measurement.result
            ? `${Math.round(measurement.result.requestsPerSecond).toLocaleString("en-US")} req/s` +
                (measurement.cpu ? `, ${measurement.cpu.perRequestUs.toFixed(1)} µs cpu/req` : "") +
                (measurement.helpersCpu ?? [])
                  .map((h) => ` (+ ${h.name} ${h.perRequestUs.toFixed(1)} µs)`)
                  .join("")
            : `FAILED\n${measurement.failure}`,
        );
        rounds[index]!.push(measurement);
      }
    }
    // The reload rows run their own Gatehouse processes against the same upstream.
    if (reloadChosen) reload = await measureReload(context, options);
    // Three nodes and an etcd of their own, behind the same upstream.
    if (propagationChosen) propagation = await measurePropagation(context);
    // Idle keep-alive connections and WebSocket tunnels held open on a Gatehouse of its own.
    if (connectionsChosen) connections = await measureConnections(context);
    // HTTPS with HTTP/1.1 and with HTTP/2, against the same upstream.
    if (gatehouse) tlsProtocols = await measureTlsProtocols(context);
  } finally {
    await stopChild(upstream);
  }
  const measurements = rounds.map(bestRound);

  const router = gatehouse ? measureRouterCost([10, 10_000]) : undefined;
  const selectors = gatehouse ? await measureSelectorCost([10, 1_000]) : undefined;
  const plugins = gatehouse ? await measurePlugins(dir) : undefined;
  const handshakes = gatehouse ? await measureHandshakeCost() : undefined;
  const grpc = gatehouse ? await measureGrpcUnary(dir) : undefined;
  const transcode = gatehouse ? measureTranscodeCost() : undefined;
  // Its own Gatehouse processes, upstreams and etcd, after the rest has finished.
  const registry: RegistryResults | undefined = registryChosen
    ? await measureRegistry(dir)
    : undefined;
  // The SDK's saga log on PGlite and PostgreSQL: no gateway, no upstream.
  const sagas: SagaResults | undefined = sagasChosen ? await measureSagas() : undefined;
  // In this process, with a nats-server and databases of its own; numbers only, no target.
  const eventsResults: EventsResults | undefined = eventsChosen ? await measureEvents() : undefined;
  // 1,000 targets of their own (one nginx) and two gateways, one after the other.
  const instances: InstancesResults | undefined = instancesChosen
    ? await measureInstances(dir, options)
    : undefined;
  const checks = [
    ...evaluateChecks(measurements, router),
    ...reloadChecks(reload),
    ...propagationChecks(propagation),
    ...handshakeChecks(handshakes),
    ...grpcChecks(grpc),
    ...transcodeChecks(transcode),
    ...registryChecks(registry),
    ...instancesChecks(instances),
    ...(connectionsChosen ? connectionsChecks(connections) : []),
  ];
  if (measurements.length > 0) console.log(`\n${formatTable(measurements)}\n`);
  if (reload) console.log(`${formatReloadTables(reload)}\n`);
  if (propagation) console.log(`${formatPropagationTable(propagation)}\n`);
  if (selectors) console.log(`${formatSelectorTable(selectors)}\n`);
  if (plugins) console.log(`${formatPluginTable(plugins)}\n`);
  if (handshakes) console.log(`${formatHandshakeTable(handshakes)}\n`);
  if (tlsProtocols) console.log(`${formatTlsProtocolTable(tlsProtocols)}\n`);
  if (grpc) console.log(`${formatGrpcTable(grpc)}\n`);
  if (transcode) console.log(`${formatTranscodeLine(transcode)}\n`);
  if (registry) console.log(`${formatRegistryTable(registry)}\n`);
  if (sagas) console.log(`${formatSagasTable(sagas)}\n`);
  if (eventsResults) console.log(`${formatEventsTable(eventsResults)}\n`);
  if (instances) console.log(`${formatInstancesTable(instances)}\n`);
  if (connections) console.log(`${formatConnectionsTable(connections)}\n`);
  console.log(`${formatChecks(checks)}\n`);
  mkdirSync(join(resultsFile, ".."), { recursive: true });
  const results = {
    date: new Date().toISOString(),
    machine,
    load: options,
    targets: targetResults(measurements),
    router,
    selectors,
    plugins,
    handshakes,
    tlsProtocols,
    grpc,
    transcode,
    registry,
    sagas,
    events: eventsResults,
    instances,
    connections,
    reload,
    propagation,
    checks,
  };
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`bench: wrote ${resultsFile}`);
}

/** The per-plugin micro-benchmark, with a Redis of its own for the Redis store. */
async function measurePlugins(dir: string) {
  const redis = await startRedis(dir);
  try {
    return await measurePluginCost(await pluginCases(redis.url));
  } finally {
    await redis.stop();
  }
}

/**
 * The round with the highest req/s. Load from elsewhere on a shared machine only ever slows
 * a target down, so its least disturbed round is the best estimate of what it can do; every
 * target is judged the same way. A target that failed in any round is reported as failed.
 */
function bestRound(runs: Measurement[]): Measurement {
  const failed = runs.find((run) => !run.result);
  if (failed) return failed;
  return runs.reduce((best, run) =>
    run.result!.requestsPerSecond > best.result!.requestsPerSecond ? run : best,
  );
}

/** `--cpu-prof` flags for a Node target, each target into its own directory. */
function profileFlags(options: BenchOptions): (target: string) => string[] {
  const root = options.cpuProf;
  if (root === undefined) return () => [];
  return (target) => ["--cpu-prof", "--cpu-prof-dir", resolve(root, target)];
}

/** Start → check the answer → warm up → measure → stop, for one target. */
async function measure(
  target: Target,
  context: BenchContext,
  options: BenchOptions,
): Promise<Measurement> {
  let url = "";
  try {
    const running = await target.start(context);
    url = running.url;
    // Pinned: the measured process gets core 0 to itself; the workers row needs both cores.
    if (options.pinned)
      setAffinity(running.pid, target.name === "gatehouse-workers" ? "0,1" : measuredCore);
    const load = {
      threads: options.threads,
      connections: options.connections,
      headers: running.headers,
    };
    try {
      await verifyTarget(url, running.headers, running.expected);
      if (options.warmup > 0) await runWrk(url, { ...load, seconds: options.warmup });
      const helpers = running.helpers ?? [];
      const helpersBefore = helpers.map((h) => cpuSeconds(h.pid));
      const cpuBefore = cpuSeconds(running.pid);
      const result = await runWrk(url, { ...load, seconds: options.duration });
      const cpu = cpuUsed(cpuBefore, cpuSeconds(running.pid), result.requests);
      const helpersCpu = helpers.flatMap((h, i) => {
        const used = cpuUsed(helpersBefore[i], cpuSeconds(h.pid), result.requests);
        return used ? [{ name: h.name, perRequestUs: used.perRequestUs }] : [];
      });
      return { name: target.name, label: target.label, url, result, cpu, helpersCpu };
    } finally {
      await running.stop();
      // A process that outlives its row (the shared nginx upstream) goes back with the rest.
      if (options.pinned) setAffinity(running.pid, harnessCore);
    }
  } catch (error) {
    return { name: target.name, label: target.label, url, failure: (error as Error).message };
  }
}

/** The target's CPU seconds over the measured run, and per request. */
function cpuUsed(before: number | undefined, after: number | undefined, requests: number) {
  if (before === undefined || after === undefined || requests === 0) return undefined;
  return { seconds: after - before, perRequestUs: ((after - before) * 1e6) / requests };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
