/**
 * @module bench/tls-http2
 * HTTP/2 against HTTP/1.1 on one Gatehouse HTTPS listener (`http2: true`), proxying to the
 * bench's upstream: h2load drives both, 50 connections, one request at a time on each
 * (`--h1` for HTTP/1.1, `-m 1` for HTTP/2), so only the protocol differs. Interleaved rounds,
 * best of each, with the gateway's CPU per request.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { makeCertificate } from "../test/helpers/certificates.ts";
import { measuredPath } from "./configs.ts";
import { cpuSeconds, freePort, startChild, stopChild, waitForListening } from "./processes.ts";
import { formatColumns } from "./table.ts";
import type { BenchContext } from "./targets.ts";

const run = promisify(execFile);
const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

export interface ProtocolCost {
  protocol: "HTTP/1.1" | "HTTP/2";
  requestsPerSecond: number;
  meanMs: number;
  /** The gateway's user + system CPU per request, in µs. */
  cpuUs: number;
  failed: number;
}

async function h2load(
  args: string[],
): Promise<{ rate: number; meanMs: number; done: number; failed: number }> {
  const { stdout } = await (run("h2load", args) as Promise<{ stdout: string }>).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT")
        throw new Error("h2load not found: install it with `apt-get install -y nghttp2-client`");
      throw error;
    },
  );
  const rate = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(stdout);
  const done = /requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed/.exec(
    stdout,
  );
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(stdout);
  if (!rate || !done || !mean) throw new Error(`h2load's output was not understood:\n${stdout}`);
  const meanMs = mean[1]!.endsWith("us")
    ? Number.parseFloat(mean[1]!) / 1000
    : Number.parseFloat(mean[1]!);
  return { rate: Number(rate[1]), meanMs, done: Number(done[1]), failed: Number(done[2]) };
}

/** Both protocols through one Gatehouse, `rounds` interleaved rounds of `seconds` each. */
export async function measureTlsProtocols(
  context: BenchContext,
  rounds = 3,
  seconds = 4,
): Promise<ProtocolCost[]> {
  const { dir, upstreamPort } = context;
  const port = await freePort();
  const cert = makeCertificate(dir, "bench-tls", ["bench.test"]);
  const config = join(dir, "gatehouse-tls-http2.yaml");
  writeFileSync(
    config,
    [
      "gateway:",
      `  listen: [{ host: 127.0.0.1, port: ${port}, http2: true, tls: { certificates: [{ cert: ${cert.cert}, key: ${cert.key} }] } }]`,
      "  metrics: { enabled: false }",
      "  accessLog: { enabled: false }",
      "services:",
      `  - { name: upstream, targets: [{ url: "http://127.0.0.1:${upstreamPort}" }] }`,
      "routes:",
      `  - { name: route, service: upstream, match: { paths: ["${measuredPath(10)}"] } }`,
      "",
    ].join("\n"),
  );
  const child = startChild("gatehouse-tls-http2", process.execPath, [cli, "start", "-c", config]);
  const url = `https://127.0.0.1:${port}${measuredPath(10)}`;
  const argsFor = (protocol: ProtocolCost["protocol"], duration: number) => [
    ...(protocol === "HTTP/1.1" ? ["--h1"] : ["-m", "1"]),
    "-c",
    "50",
    "-D",
    String(duration),
    url,
  ];
  try {
    await waitForListening(child, port, 60_000);
    // A second of each first: JIT, connections and sessions warm.
    for (const protocol of ["HTTP/1.1", "HTTP/2"] as const) await h2load(argsFor(protocol, 1));
    const best = new Map<ProtocolCost["protocol"], ProtocolCost>();
    for (let round = 0; round < rounds; round++) {
      for (const protocol of ["HTTP/1.1", "HTTP/2"] as const) {
        const before = cpuSeconds(child.process.pid) ?? 0;
        const result = await h2load(argsFor(protocol, seconds));
        const used = (cpuSeconds(child.process.pid) ?? 0) - before;
        const cost: ProtocolCost = {
          protocol,
          requestsPerSecond: result.rate,
          meanMs: result.meanMs,
          cpuUs: result.done > 0 ? (used * 1e6) / result.done : 0,
          failed: result.failed,
        };
        const kept = best.get(protocol);
        if (!kept || cost.requestsPerSecond > kept.requestsPerSecond) best.set(protocol, cost);
      }
    }
    return [best.get("HTTP/1.1")!, best.get("HTTP/2")!];
  } finally {
    await stopChild(child);
  }
}

export function formatTlsProtocolTable(costs: readonly ProtocolCost[]): string {
  return formatColumns(
    ["HTTPS, Gatehouse (h2load -c50)", "req/s", "mean", "cpu/req", "failed"],
    costs.map((cost) => [
      cost.protocol,
      Math.round(cost.requestsPerSecond).toLocaleString("en-US"),
      `${cost.meanMs.toFixed(2)} ms`,
      `${cost.cpuUs.toFixed(1)} µs`,
      String(cost.failed),
    ]),
  );
}
