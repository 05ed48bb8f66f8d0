/**
 * @module bench/registry-routed
 * Registration → routed: an instance registers (PUT) and calls are sent until one reaches
 * it; the time from the PUT to that answer, many times. The calls go through the gateway
 * (the registry's discovery feeds its targets) or through an SDK service client that
 * follows the registry itself: the registry API's watch stream, or etcd straight.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { request } from "undici";
import { type ServiceClientOptions, serviceClient } from "../src/sdk/index.ts";
import { dispatcher, put, remove } from "./registry-client.ts";

/** What the calls go through. */
export type RoutedVia = "gateway" | "sdk" | "sdk-etcd";

/** How each is named in the table and the checks. */
export const routedVia: Record<RoutedVia, string> = {
  gateway: "through the gateway",
  sdk: "SDK client watching the registry API",
  "sdk-etcd": "SDK client watching etcd",
};

/** Registration → first call answered by it, in ms, with `others` other instances registered. */
export interface RoutedRow {
  via: RoutedVia;
  others: number;
  samples: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

/** What a trial sends its calls through. */
export interface RoutedCaller {
  via: RoutedVia;
  /** One call to the service `svc`: the body of its answer (the answering upstream's port). */
  call(): Promise<string>;
  close(): Promise<void>;
}

/** Calls `GET /svc/x` on the gateway's proxy listener. */
export function gatewayCaller(proxy: string): RoutedCaller {
  return {
    via: "gateway",
    async call() {
      const res = await request(`${proxy}/svc/x`, { dispatcher });
      return res.body.text();
    },
    close: async () => {},
  };
}

/**
 * Calls `GET /x` with an SDK client of `svc`, once it has the registry's first answer.
 * `options`: where it follows the registry (its API, or etcd).
 */
export async function sdkCaller(
  via: "sdk" | "sdk-etcd",
  options: ServiceClientOptions,
): Promise<RoutedCaller> {
  const client = serviceClient("svc", options);
  await client.ready(10_000);
  return {
    via,
    async call() {
      return (await client.request({ method: "GET", path: "/x" })).text();
    },
    close: () => client.close(),
  };
}

/**
 * Registers `count` instances of another service (`crowd`): a registration must cost the
 * same whatever else the registry holds.
 */
export async function registerCrowd(admin: string, port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++)
    await put(admin, "crowd", `other-${i}`, { address: "127.0.0.1", port, ttl: "5m" });
}

export async function removeCrowd(admin: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await remove(admin, "crowd", `other-${i}`);
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

/** How long a trial may take before the bench gives up on it. */
const trialDeadlineMs = 2_000;

/**
 * `trials` registrations of a fresh instance of `svc` (answering on one of `ports`, never
 * the first: that one is the crowd's); the time from its PUT until a call through `caller`
 * is answered by it. `others`: the instances of `crowd` registered meanwhile.
 */
export async function measureRouted(
  caller: RoutedCaller,
  admin: string,
  ports: number[],
  others: number,
  trials: number,
): Promise<RoutedRow> {
  // The newcomer is alone in its service (each trial's is removed after it), so the first
  // answer from it says its registration reached the caller, whatever the picking.
  const times: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const port = String(ports[1 + (trial % (ports.length - 1))]!);
    const id = `new-${trial}`;
    const started = performance.now();
    const status = await put(admin, "svc", id, {
      address: "127.0.0.1",
      port: Number(port),
      ttl: "5m",
    });
    if (status !== 201 && status !== 200) throw new Error(`registration answered ${status}`);
    let failure: unknown;
    for (;;) {
      try {
        if ((await caller.call()) === port) break;
      } catch (error) {
        // No instance yet (an SDK client fails at once, without I/O): let its watch be read.
        failure = error;
        await nextTurn();
      }
      if (performance.now() > started + trialDeadlineMs)
        throw new Error(
          `instance ${id} not reached ${routedVia[caller.via]} within ${trialDeadlineMs} ms${failure ? ` (last failure: ${(failure as Error).message})` : ""}`,
        );
    }
    times.push(performance.now() - started);
    await remove(admin, "svc", id);
  }
  times.sort((a, b) => a - b);
  return {
    via: caller.via,
    others,
    samples: times.length,
    medianMs: quantile(times, 0.5),
    p99Ms: quantile(times, 0.99),
    maxMs: times.at(-1)!,
  };
}
