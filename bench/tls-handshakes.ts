/**
 * @module bench/tls-handshakes
 * TLS handshakes on a Gatehouse HTTPS listener with 1 configured certificate and with
 * 1,000 (each its own names, the client asking for one in the middle): full handshakes per
 * second, one client at a time, and how long loading the certificates takes. SNI is two map
 * lookups and contexts are built at load, so the count should not slow a handshake.
 * `node bench/tls-handshakes.ts` prints the table; `npm run bench` runs it with the rest.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { promisify } from "node:util";
import { defaultCiphers } from "../src/config/schema/tls.ts";
import { ListenerCertificates } from "../src/tls/listener-certificates.ts";
import type { Check } from "./report.ts";
import { formatColumns } from "./table.ts";

const run = promisify(execFile);

export interface HandshakeCost {
  certificates: number;
  /** Milliseconds to load and check every certificate and build their contexts. */
  loadMs: number;
  handshakesPerSecond: number;
  /** Median microseconds of one handshake (connect to secureConnect). */
  medianUs: number;
}

/** Makes `count` self-signed certificates (`host-N.bench.test`), 8 openssl processes at a time. */
async function makeCertificates(dir: string, count: number) {
  const made: { cert: string; key: string }[] = [];
  for (let start = 0; start < count; start += 8) {
    const batch = Array.from({ length: Math.min(8, count - start) }, (_, i) => start + i);
    await Promise.all(
      batch.map(async (n) => {
        const cert = join(dir, `${n}.pem`);
        const key = join(dir, `${n}-key.pem`);
        const name = `host-${n}.bench.test`;
        await run("openssl", [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          key,
          "-out",
          cert,
          "-days",
          "2",
          "-subj",
          `/CN=${name}`,
          "-addext",
          `subjectAltName=DNS:${name}`,
        ]);
        made[n] = { cert, key };
      }),
    );
  }
  return made;
}

async function measure(dir: string, sources: { cert: string; key: string }[], handshakes: number) {
  const loading = performance.now();
  const certificates = new ListenerCertificates(
    "127.0.0.1:0",
    {
      certificates: sources,
      minVersion: "TLSv1.2",
      ciphers: defaultCiphers,
    },
    dir,
  );
  const loadMs = performance.now() - loading;
  const server = createServer(certificates.serverOptions(), (_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const servername = `host-${Math.floor(sources.length / 2)}.bench.test`;
  const times: number[] = [];
  const started = performance.now();
  try {
    for (let i = 0; i < handshakes; i++) {
      const at = performance.now();
      await new Promise<void>((resolve, reject) => {
        const socket = connect({
          port,
          host: "127.0.0.1",
          servername,
          rejectUnauthorized: false,
          session: undefined,
        });
        socket.once("secureConnect", () => {
          times.push(performance.now() - at);
          socket.destroy();
          resolve();
        });
        socket.once("error", reject);
      });
    }
  } finally {
    server.close();
  }
  const elapsed = performance.now() - started;
  times.sort((a, b) => a - b);
  return {
    certificates: sources.length,
    loadMs,
    handshakesPerSecond: (handshakes / elapsed) * 1000,
    medianUs: times[Math.floor(times.length / 2)]! * 1000,
  };
}

/** Handshakes with 1 and with `many` certificates, interleaved rounds, best of each. */
export async function measureHandshakeCost(
  many = 1_000,
  handshakes = 1_000,
): Promise<HandshakeCost[]> {
  const dir = await mkdtemp(join(tmpdir(), "gatehouse-bench-tls-"));
  try {
    const all = await makeCertificates(dir, many);
    const best = new Map<number, HandshakeCost>();
    for (let round = 0; round < 3; round++) {
      for (const sources of [all.slice(0, 1), all]) {
        const cost = await measure(dir, sources, handshakes);
        const kept = best.get(cost.certificates);
        if (!kept || cost.handshakesPerSecond > kept.handshakesPerSecond)
          best.set(cost.certificates, cost);
      }
    }
    return [...best.values()];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatHandshakeTable(costs: readonly HandshakeCost[]): string {
  return formatColumns(
    ["certificates", "load", "handshakes/s", "median"],
    costs.map((cost) => [
      cost.certificates.toLocaleString("en-US"),
      `${cost.loadMs.toFixed(0)} ms`,
      Math.round(cost.handshakesPerSecond).toLocaleString("en-US"),
      `${cost.medianUs.toFixed(0)} µs`,
    ]),
  );
}

/** 1,000 certificates cost a handshake no more than 1 does (10% allowed for noise). */
export function handshakeChecks(costs: readonly HandshakeCost[] | undefined): Check[] {
  if (!costs || costs.length < 2) return [];
  const [one, many] = [costs[0]!, costs.at(-1)!];
  const ratio = many.handshakesPerSecond / one.handshakesPerSecond;
  return [
    {
      claim: `TLS handshakes with ${many.certificates.toLocaleString("en-US")} certificates >= 0.9x with 1`,
      verdict: ratio >= 0.9 ? "PASS" : "FAIL",
      detail: `${ratio.toFixed(3)}x (${Math.round(many.handshakesPerSecond)} vs ${Math.round(one.handshakesPerSecond)} handshakes/s)`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const costs = await measureHandshakeCost();
  console.log(formatHandshakeTable(costs));
  console.log(
    handshakeChecks(costs)
      .map((c) => `${c.verdict}  ${c.claim}: ${c.detail}`)
      .join("\n"),
  );
}
