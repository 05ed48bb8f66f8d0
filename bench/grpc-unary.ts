/**
 * @module bench/grpc-unary
 * Unary gRPC calls through Gatehouse (an h2c listener, a `protocol: grpc` service, the
 * default observability) against the same calls made straight to the target, both driven by
 * h2load (nghttp2's load generator) with the same framed request. Interleaved rounds, best of
 * each; the ratio is checked against the target (>= 0.5x). `node bench/grpc-unary.ts` alone,
 * or with the rest in `npm run bench`.
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

export interface GrpcUnaryCost {
  target: "direct" | "gatehouse";
  callsPerSecond: number;
  /** h2load's mean time per request. */
  meanMs: number;
  failed: number;
}

/** One h2load run; throws when h2load is missing or its output is not understood. */
async function h2load(
  url: string,
  body: string,
  calls: number,
): Promise<Omit<GrpcUnaryCost, "target">> {
  const { stdout } = await (
    run("h2load", [
      "-n",
      String(calls),
      "-c",
      "10",
      "-m",
      "10",
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
  return { callsPerSecond: Number(rate[1]), meanMs: ms, failed: Number(done[2]) };
}

/** Direct and through Gatehouse, `rounds` interleaved rounds of `calls` each. */
export async function measureGrpcUnary(
  dir: string,
  rounds = 3,
  calls = 20_000,
): Promise<GrpcUnaryCost[]> {
  const [targetPort, gatewayPort] = [await freePort(), await freePort()];
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
    const gatehouse = startChild("gatehouse-grpc", process.execPath, [cli, "start", "-c", config]);
    children.push(gatehouse);
    await waitForListening(gatehouse, gatewayPort, 60_000);
    const urls = {
      direct: `http://127.0.0.1:${targetPort}/test.v1.Echo/Unary`,
      gatehouse: `http://127.0.0.1:${gatewayPort}/test.v1.Echo/Unary`,
    };
    // Warm both paths up (JIT, sessions) before anything is measured.
    for (const url of Object.values(urls)) await h2load(url, body, 2_000);
    const best = new Map<GrpcUnaryCost["target"], GrpcUnaryCost>();
    for (let round = 0; round < rounds; round++) {
      for (const name of ["direct", "gatehouse"] as const) {
        const cost = { target: name, ...(await h2load(urls[name], body, calls)) };
        const kept = best.get(name);
        if (!kept || cost.callsPerSecond > kept.callsPerSecond) best.set(name, cost);
      }
    }
    return [best.get("direct")!, best.get("gatehouse")!];
  } finally {
    for (const child of children.reverse()) await stopChild(child);
  }
}

export function formatGrpcTable(costs: readonly GrpcUnaryCost[]): string {
  return formatColumns(
    ["gRPC unary (h2load -c10 -m10)", "calls/s", "mean", "failed"],
    costs.map((cost) => [
      cost.target === "direct" ? "straight to the grpc-js target" : "through Gatehouse",
      Math.round(cost.callsPerSecond).toLocaleString("en-US"),
      `${cost.meanMs.toFixed(2)} ms`,
      String(cost.failed),
    ]),
  );
}

/** Through Gatehouse at least half the calls per second of the direct calls. */
export function grpcChecks(costs: readonly GrpcUnaryCost[] | undefined): Check[] {
  if (!costs || costs.length < 2) return [];
  const [direct, gatehouse] = [costs[0]!, costs[1]!];
  const ratio = gatehouse.callsPerSecond / direct.callsPerSecond;
  const clean = direct.failed + gatehouse.failed === 0;
  return [
    {
      claim: "gRPC unary through Gatehouse >= 0.5x the same calls straight to the target",
      verdict: clean && ratio >= 0.5 ? "PASS" : "FAIL",
      detail: `${ratio.toFixed(3)}x (${Math.round(gatehouse.callsPerSecond)} vs ${Math.round(direct.callsPerSecond)} calls/s)${clean ? "" : ", with failed calls"}`,
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
