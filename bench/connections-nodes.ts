/**
 * @module bench/connections-nodes
 * The connections bench across nodes: where one process's open-file limit keeps it short
 * of 50,000 idle keep-alive connections (or 10,000 tunnels), N separate `gatehouse start`
 * processes on one host, each with the same default config on its own port, as a user
 * scales out; the clients are spread over them. `BENCH_CONNECTIONS_NODES` chooses: unset
 * or `auto` runs it only for a kind one process could not hold, `1` always, `0` never.
 */
import {
  capMargin,
  closedSoFar,
  gatewayCounts,
  type MemoryReading,
  openMore,
  type RunningGateway,
  settledMemory,
  startGateway,
  stopAll,
} from "./connections.ts";
import { type Child, stopChild } from "./processes.ts";
import type { BenchContext } from "./targets.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** When the mode runs: only where one process falls short, always, or never. */
export type NodesMode = "auto" | "always" | "never";

/** `BENCH_CONNECTIONS_NODES`: unset or `auto`, `1`, `0`. */
export function nodesMode(value = process.env.BENCH_CONNECTIONS_NODES): NodesMode {
  if (value === undefined || value === "" || value === "auto") return "auto";
  if (value === "1") return "always";
  if (value === "0") return "never";
  throw new Error(`BENCH_CONNECTIONS_NODES=${value}: expected auto, 1 or 0`);
}

/** What one node held, and its memory before and with them. */
export interface NodeHeld {
  port: number;
  wanted: number;
  opened: number;
  failed: number;
  closedEarly: number;
  /** What the node's `/status` counted open. */
  gatewayCounted: number | undefined;
  baseline: MemoryReading;
  held: MemoryReading;
}

/** One kind of connection held across nodes. */
export interface HeldAcrossNodes {
  /** What the claim names (50,000, 10,000). */
  target: number;
  /** `maxClientConnections: auto` as one node resolved it. */
  maxClientConnections: number;
  nodes: NodeHeld[];
  /** Wall time until every client had tried all of its connections. */
  openSeconds: number;
  /** wrk -c50 through the first node, before any is held and with all of them held. */
  before?: WrkResult;
  during?: WrkResult;
}

export interface AcrossNodesResults {
  keepAlive?: HeldAcrossNodes;
  tunnels?: HeldAcrossNodes;
}

type Role = "hold" | "tunnels";
const load = { threads: 1, connections: 50 };

/**
 * Holds `target` connections of `role` across as many fresh gateway processes as their
 * `auto` cap needs. Each node gets one client process: a node's share is below half the
 * open-file limit (`auto` keeps two descriptors per connection), so it fits a client too.
 */
export async function holdAcrossNodes(
  context: BenchContext,
  echoPort: number,
  role: Role,
  target: number,
): Promise<HeldAcrossNodes> {
  const name = (i: number) => `${role === "hold" ? "keep-alive" : "websocket"}-node-${i + 1}`;
  const gateways: RunningGateway[] = [];
  const clients: Child[] = [];
  try {
    gateways.push(await startGateway(context, echoPort, name(0)));
    const cap = gateways[0]!.maxClientConnections || target + capMargin;
    const count = Math.ceil(target / (cap - capMargin));
    const rest = Array.from({ length: count - 1 }, (_, i) =>
      startGateway(context, echoPort, name(i + 1)),
    );
    // Every start is awaited, so none is left running unseen if one of them fails.
    const starts = await Promise.allSettled(rest);
    for (const one of starts) if (one.status === "fulfilled") gateways.push(one.value);
    const failure = starts.find((one) => one.status === "rejected");
    if (failure) throw failure.reason;

    for (const gateway of gateways) await warm(gateway, role);
    const before =
      role === "hold" ? await runWrk(gateways[0]!.url, { ...load, seconds: 5 }) : undefined;
    const baselines = await Promise.all(gateways.map((gateway) => settledMemory(gateway)));

    const openedAt = Date.now();
    const shares = gateways.map((_, i) => Math.floor((target + i) / gateways.length));
    const opening = await Promise.allSettled(
      gateways.map((gateway, i) => openMore(gateway, role, shares[i]!)),
    );
    for (const one of opening) if (one.status === "fulfilled") clients.push(one.value.client);
    const refused = opening.find((one) => one.status === "rejected");
    if (refused) throw refused.reason;
    const openSeconds = (Date.now() - openedAt) / 1000;
    const opened = opening.map((one) => (one as PromiseFulfilledResult<Opened>).value);

    const held = await Promise.all(gateways.map((gateway) => settledMemory(gateway)));
    const counted = await Promise.all(gateways.map((gateway) => gatewayCounts(gateway)));
    const during =
      role === "hold" ? await runWrk(gateways[0]!.url, { ...load, seconds: 5 }) : undefined;
    const nodes = gateways.map((gateway, i) => ({
      port: Number(new URL(gateway.url).port),
      wanted: shares[i]!,
      opened: opened[i]!.opened,
      failed: opened[i]!.failed,
      closedEarly: closedSoFar([clients[i]!]),
      gatewayCounted: role === "hold" ? counted[i]?.openConnections : counted[i]?.webSocketTunnels,
      baseline: baselines[i]!,
      held: held[i]!,
    }));
    return { target, maxClientConnections: cap, nodes, openSeconds, before, during };
  } finally {
    await stopAll(clients);
    await Promise.all(gateways.map((gateway) => stopChild(gateway.child)));
  }
}

type Opened = Awaited<ReturnType<typeof openMore>>;

/**
 * Each node warmed up as the one-process bench warms its gateway: requests through it, and
 * for tunnels a few hundred opened and closed, so the baseline holds the compiled code.
 */
async function warm(gateway: RunningGateway, role: Role): Promise<void> {
  await runWrk(gateway.url, { ...load, seconds: 2 });
  if (role === "tunnels") await stopAll([(await openMore(gateway, role, 300)).client]);
}

/**
 * The kinds to hold across nodes: under `auto`, those one process could not hold (`short`),
 * the one-process measurement having tried them first; undefined when there are none.
 */
export async function measureAcrossNodes(
  context: BenchContext,
  echoPort: number,
  targets: { keepAlive: number; tunnels: number },
  short: { keepAlive: boolean; tunnels: boolean },
  mode: NodesMode = nodesMode(),
): Promise<AcrossNodesResults | undefined> {
  if (mode === "never" || (mode === "auto" && !short.keepAlive && !short.tunnels)) return undefined;
  const wanted = (kind: keyof typeof short) => mode === "always" || short[kind];
  return {
    keepAlive: wanted("keepAlive")
      ? await holdAcrossNodes(context, echoPort, "hold", targets.keepAlive)
      : undefined,
    tunnels: wanted("tunnels")
      ? await holdAcrossNodes(context, echoPort, "tunnels", targets.tunnels)
      : undefined,
  };
}
