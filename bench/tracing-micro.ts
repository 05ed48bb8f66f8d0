/**
 * @module bench/tracing-micro
 * CPU per traced request inside one process, without HTTP load: the tracing observer's
 * `started`, one upstream try's span (context written into its headers) and `finished`,
 * with spans exported to `bench/otlp-sink.ts` on loopback. What the request path pays
 * for tracing, measured where machine load moves it least.
 *
 *   node bench/tracing-micro.ts [checkout ...]
 *
 * Each checkout (default: this one) is measured at `sampleRatio` 1, 0.1 and 0, each in a
 * child process of its own, checkouts alternating, two runs each; a run is 20,000
 * requests of warm-up then three rounds of 30,000, and prints its median round.
 */
import { execFileSync } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { resolve } from "node:path";
import { setImmediate as turn } from "node:timers/promises";
import { freePort, startChild, stopChild, waitForListening } from "./processes.ts";

const ratios = [1, 0.1, 0];

async function measureOne(root: string, ratio: number): Promise<number> {
  const { Tracing, endTry } = await import(`${root}/src/observability/tracing.ts`);
  const { tracingSchema } = await import(`${root}/src/config/schema/observability.ts`);
  const port = await freePort();
  const sink = startChild("otlp-sink", process.execPath, [
    `${root}/bench/otlp-sink.ts`,
    String(port),
  ]);
  await waitForListening(sink, port, 30_000);
  const config = tracingSchema.parse({
    enabled: true,
    sampleRatio: ratio,
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
  });
  const tracing = new Tracing(config, { clientAddress: (_req: IncomingMessage) => "127.0.0.1" });
  const target = { hostname: "127.0.0.1", port: 9000, origin: "http://127.0.0.1:9000" };
  const request = (i: number) => {
    // The fields of a gateway response the observer reads, as the bench's measured route has them.
    const res = {
      req: {
        headers: { host: "127.0.0.1:8080", "user-agent": "wrk/4.1", accept: "*/*" },
        method: "GET",
        url: "/svc7/items/42",
        httpVersion: "1.1",
        httpVersionMajor: 1,
      },
      requestId: `req-${i}`,
      routePath: "/svc7/items/:id",
      route: "route-7",
      service: "upstream",
      consumer: "",
      headersSent: true,
      statusCode: 200,
      errorCode: "",
      trace: undefined as { startTry: (...args: unknown[]) => unknown } | undefined,
    };
    tracing.started(res);
    const headers = ["host", "127.0.0.1:9000", "accept", "*/*"];
    const span = res.trace!.startTry(target, "GET", "/items/42", headers, 0);
    if (span) endTry(span, 200, "");
    tracing.finished(res);
  };
  const run = async (count: number) => {
    for (let i = 0; i < count; i += 500) {
      for (let j = 0; j < 500; j++) request(i + j);
      await turn(); // lets exports go out, as the event loop would between requests
    }
    await tracing.flush();
  };
  await run(20_000);
  const rounds: number[] = [];
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    await run(30_000);
    const used = process.cpuUsage(before);
    rounds.push((used.user + used.system) / 30_000);
  }
  await tracing.close();
  await stopChild(sink);
  return rounds.sort((a, b) => a - b)[1]!;
}

if (process.env.TRACING_MICRO_ONE) {
  const [root, ratio] = process.env.TRACING_MICRO_ONE.split("|");
  console.log((await measureOne(root!, Number(ratio))).toFixed(2));
} else {
  const roots =
    process.argv.length > 2
      ? process.argv.slice(2).map((p) => resolve(p))
      : [resolve(import.meta.dirname, "..")];
  console.log("checkout | sampleRatio | µs CPU / traced request (two runs)");
  for (const ratio of ratios) {
    const runs = new Map<string, string[]>(roots.map((root) => [root, []]));
    for (let i = 0; i < 2; i++) {
      for (const root of roots) {
        const out = execFileSync(process.execPath, [import.meta.filename], {
          env: { ...process.env, TRACING_MICRO_ONE: `${root}|${ratio}` },
          encoding: "utf8",
        });
        runs.get(root)!.push(out.trim());
      }
    }
    for (const [root, values] of runs) console.log(`${root} | ${ratio} | ${values.join(", ")}`);
  }
}
