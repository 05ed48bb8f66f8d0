/**
 * @module bench/grpc-unary
 * Unary gRPC calls through Gatehouse (an h2c listener, a `protocol: grpc` service, the
 * default observability) against the same calls made straight to the target, and through
 * the least a Node HTTP/2 proxy does (baselines/grpc-relay) for the floor node:http2 sets.
 * Two callers: @grpc/grpc-js clients (baselines/grpc-client), as Node services call each
 * other, whose ratio is checked against the target (>= 0.5x), and h2load, nghttp2's load
 * generator in C, whose calls cost so little that what it shows is the proxies' own cost.
 * Interleaved rounds, best of each. `node bench/grpc-unary.ts` alone, or with the rest in
 * `npm run bench`.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Child, freePort, startChild, stopChild, waitForListening } from "./processes.ts";
import type { Check } from "./report.ts";
import { formatColumns } from "./table.ts";

const run = promisify(execFile);
const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const echo = fileURLToPath(new URL("./baselines/grpc-echo.ts", import.meta.url));
const relay = fileURLToPath(new URL("./baselines/grpc-relay.ts", import.meta.url));
const grpcClient = fileURLToPath(new URL("./baselines/grpc-client.ts", import.meta.url));

/** Connections and calls in flight on each, for both callers. */
const connections = 10;
const streamsEach = 10;

type GrpcPath = "direct" | "relay" | "gatehouse";
type GrpcCaller = "grpc-js" | "h2load";

export interface GrpcUnaryCost {
  target: GrpcPath;
  caller: GrpcCaller;
  callsPerSecond: number;
  /** grpc-js: the 99th percentile; h2load: its mean time per request (it has no p99). */
  latencyMs: number;
  failed: number;
}

/** One h2load run; throws when h2load is missing or its output is not understood. */
async function h2load(
  url: string,
  body: string,
  calls: number,
): Promise<Omit<GrpcUnaryCost, "target" | "caller">> {
  const { stdout } = await (
    run("h2load", [
      "-n",
      String(calls),
      "-c",
      String(connections),
      "-m",
      String(streamsEach),
      "-d",
      body,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      url,
    ]) as Promise<{ stdout: string }>
  ).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT")
      throw new Error("h2load not found: install it with `apt-get install -y nghttp2-client`");
    throw error;
  });
  const rate = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout);
  const done = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(
    stdout,
  );
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(stdout);
  if (!rate || !done || !mean) throw new Error(`h2load's output was not understood:\n${stdout}`);
  const ms = mean[1]!.endsWith("us")
    ? Number.parseFloat(mean[1]!) / 1000
    : Number.parseFloat(mean[1]!);
  return { callsPerSecond: Number(rate[1]), latencyMs: ms, failed: Number(done[2]) };
}

/** One run of the grpc-js clients against `address` (host:port). */
async function grpcJs(
  address: string,
  calls: number,
): Promise<Omit<GrpcUnaryCost, "target" | "caller">> {
  const { stdout } = (await run(process.execPath, [
    grpcClient,
    address,
    String(calls),
    String(connections),
    String(streamsEach),
  ])) as { stdout: string };
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
    callsPerSecond: number;
    p99Ms: number;
    failed: number;
  };
  return { callsPerSecond: result.callsPerSecond, latencyMs: result.p99Ms, failed: result.failed };
}

/** Straight, through the relay and through Gatehouse, `rounds` interleaved rounds of `calls` each. */
export async function measureGrpcUnary(
  dir: string,
  rounds = 3,
  calls = 20_000,
): Promise<GrpcUnaryCost[]> {
  const [targetPort, relayPort, gatewayPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const body = join(dir, "grpc-request.bin");
  // One framed message: no compression, 16 bytes.
  writeFileSync(body, Buffer.concat([Buffer.from([0, 0, 0, 0, 16]), Buffer.alloc(16, 7)]));
  const config = join(dir, "grpc-gatehouse.yaml");
  writeFileSync(
    config,
    [
      "gateway:",
      `  listen: [{ host: 127.0.0.1, port: ${gatewayPort}, http2: true }]`,
      `  accessLog: { destination: ${join(dir, "grpc-access.log")} }`,
      "services:",
      `  - { name: echo, protocol: grpc, targets: [{ url: "http://127.0.0.1:${targetPort}" }] }`,
      "routes:",
      '  - { name: echo, match: { paths: ["/test.v1.Echo/*"] }, service: echo }',
      "",
    ].join("\n"),
  );
  const children: Child[] = [];
  try {
    const target = startChild("grpc-echo", process.execPath, [echo, String(targetPort)]);
    children.push(target);
    await waitForListening(target, targetPort, 30_000);
    const relayed = startChild("grpc-relay", process.execPath, [
      relay,
      String(relayPort),
      String(targetPort),
    ]);
    children.push(relayed);
    const gatehouse = startChild("gatehouse-grpc", process.execPath, [cli, "start", "-c", config]);
    children.push(gatehouse);
    await waitForListening(relayed, relayPort, 30_000);
    await waitForListening(gatehouse, gatewayPort, 60_000);
    const ports: Record<GrpcPath, number> = {
      direct: targetPort,
      relay: relayPort,
      gatehouse: gatewayPort,
    };
    const callers: Record<GrpcCaller, (port: number, n: number) => ReturnType<typeof h2load>> = {
      "grpc-js": (port, n) => grpcJs(`127.0.0.1:${port}`, n),
      h2load: (port, n) => h2load(`http://127.0.0.1:${port}/test.v1.Echo/Unary`, body, n),
    };
    // Warm every path up (JIT, sessions) before anything is measured.
    for (const port of Object.values(ports)) {
      for (const call of Object.values(callers)) await call(port, 2_000);
    }
    const best = new Map<string, GrpcUnaryCost>();
    for (let round = 0; round < rounds; round++) {
      for (const caller of ["grpc-js", "h2load"] as const) {
        for (const path of ["direct", "relay", "gatehouse"] as const) {
          const cost = { target: path, caller, ...(await callers[caller](ports[path], calls)) };
          const kept = best.get(`${caller} ${path}`);
          if (!kept || cost.callsPerSecond > kept.callsPerSecond)
            best.set(`${caller} ${path}`, cost);
        }
      }
    }
    return [...best.values()];
  } finally {
    for (const child of children.reverse()) await stopChild(child);
  }
}

const pathNames: Record<GrpcPath, string> = {
  direct: "straight to the grpc-js target",
  relay: "through a bare node:http2 relay",
  gatehouse: "through Gatehouse",
};

export function formatGrpcTable(costs: readonly GrpcUnaryCost[]): string {
  const direct = (caller: GrpcCaller) =>
    costs.find((cost) => cost.caller === caller && cost.target === "direct")?.callsPerSecond;
  return formatColumns(
    [
      `gRPC unary (${connections}x${streamsEach} in flight)`,
      "caller",
      "calls/s",
      "ratio",
      "latency",
      "failed",
    ],
    costs.map((cost) => [
      pathNames[cost.target],
      cost.caller,
      Math.round(cost.callsPerSecond).toLocaleString("en-US"),
      `${(cost.callsPerSecond / (direct(cost.caller) ?? Number.NaN)).toFixed(2)}x`,
      `${cost.latencyMs.toFixed(2)} ms ${cost.caller === "h2load" ? "mean" : "p99"}`,
      String(cost.failed),
    ]),
  );
}

/** Called by grpc-js clients, through Gatehouse at least half the calls/s of straight calls. */
export function grpcChecks(costs: readonly GrpcUnaryCost[] | undefined): Check[] {
  const of = (target: GrpcPath) =>
    costs?.find((cost) => cost.caller === "grpc-js" && cost.target === target);
  const [direct, gatehouse] = [of("direct"), of("gatehouse")];
  if (!direct || !gatehouse) return [];
  const ratio = gatehouse.callsPerSecond / direct.callsPerSecond;
  const clean = direct.failed + gatehouse.failed === 0;
  return [
    {
      claim:
        "gRPC unary from grpc-js clients through Gatehouse >= 0.5x the same calls straight to the target",
      verdict: clean && ratio >= 0.5 ? "PASS" : "FAIL",
      detail: `${ratio.toFixed(3)}x (${Math.round(gatehouse.callsPerSecond)} vs ${Math.round(direct.callsPerSecond)} calls/s, p99 ${gatehouse.latencyMs.toFixed(1)} vs ${direct.latencyMs.toFixed(1)} ms)${clean ? "" : ", with failed calls"}`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-grpc-"));
  try {
    const costs = await measureGrpcUnary(dir);
    console.log(formatGrpcTable(costs));
    console.log(
      grpcChecks(costs)
        .map((c) => `${c.verdict}  ${c.claim}: ${c.detail}`)
        .join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
