/**
 * @module bench/connections-nodes-report
 * The connections bench across nodes, printed: one row per node and one for all of them
 * (memory per connection is the nodes' growth summed, over all the connections held), the
 * wrk lines through the first node, and one claim line per kind held.
 */

import type { MemoryReading } from "./connections.ts";
import type { AcrossNodesResults, HeldAcrossNodes, NodeHeld } from "./connections-nodes.ts";
import type { Check } from "./report.ts";
import { formatColumns } from "./table.ts";
import type { WrkResult } from "./wrk.ts";

const count = (n: number) => n.toLocaleString("en-US");
const kb = (bytes: number | undefined) =>
  bytes === undefined ? "-" : `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number) => `${count(Math.round(bytes / 1024 / 1024))} MB`;

/** Sums of the nodes' numbers: connections, and each reading before and with them. */
function total(nodes: readonly NodeHeld[]) {
  const sum = (pick: (node: NodeHeld) => number | undefined) => {
    const values = nodes.map(pick);
    return values.includes(undefined) ? undefined : values.reduce((a, b) => a! + b!, 0)!;
  };
  const reading = (at: "baseline" | "held"): MemoryReading => ({
    rssBytes: sum((node) => node[at].rssBytes)!,
    heapUsedBytes: sum((node) => node[at].heapUsedBytes),
    heapTotalBytes: sum((node) => node[at].heapTotalBytes),
    externalBytes: sum((node) => node[at].externalBytes),
    mallocArenaBytes: sum((node) => node[at].mallocArenaBytes),
  });
  return {
    wanted: sum((node) => node.wanted)!,
    opened: sum((node) => node.opened)!,
    failed: sum((node) => node.failed)!,
    closedEarly: sum((node) => node.closedEarly)!,
    gatewayCounted: sum((node) => node.gatewayCounted),
    baseline: reading("baseline"),
    held: reading("held"),
  };
}

type Totals = ReturnType<typeof total>;

/** How much one reading grew per connection held (over one node, or summed over all). */
function perConnection(held: NodeHeld | Totals, field: keyof MemoryReading) {
  const before = held.baseline[field];
  const after = held.held[field];
  if (before === undefined || after === undefined) return undefined;
  return (after - before) / Math.max(held.opened, 1);
}

function row(label: string, port: string, held: NodeHeld | Totals): string[] {
  return [
    label,
    port,
    `${count(held.opened)}/${count(held.wanted)}`,
    String(held.failed),
    String(held.closedEarly),
    held.gatewayCounted === undefined ? "-" : count(held.gatewayCounted),
    `${mb(held.baseline.rssBytes)} → ${mb(held.held.rssBytes)}`,
    kb(perConnection(held, "rssBytes")),
    kb(perConnection(held, "heapTotalBytes")),
    kb(perConnection(held, "heapUsedBytes")),
  ];
}

const latency = (w: WrkResult) =>
  `p50 ${w.p50.toFixed(2)} ms, p99 ${w.p99.toFixed(2)} ms, ${count(Math.round(w.requestsPerSecond))} req/s, ${w.non2xx + w.socketErrors} errors`;

function formatKind(label: string, held: HeldAcrossNodes, openFiles: number): string {
  const all = total(held.nodes);
  const lines = [
    `${label} across ${held.nodes.length} nodes on one host (open-file limit ${count(openFiles)} per process, maxClientConnections auto = ${count(held.maxClientConnections)} each), opened in ${held.openSeconds.toFixed(1)} s`,
    formatColumns(
      [
        "node",
        "port",
        "held",
        "failed",
        "closed early",
        "gateway counted",
        "RSS (0 → all)",
        "RSS/conn",
        "V8 heap committed/conn",
        "heap used/conn",
      ],
      [
        ...held.nodes.map((node, i) => row(String(i + 1), String(node.port), node)),
        row(`all ${held.nodes.length}`, "", all),
      ],
    ),
  ];
  if (held.before)
    lines.push(`new requests through node 1 (wrk -c50, 5 s), none held: ${latency(held.before)}`);
  if (held.during)
    lines.push(
      `new requests through node 1 (wrk -c50, 5 s), ${count(all.opened)} held across ${held.nodes.length} nodes: ${latency(held.during)}`,
    );
  return lines.join("\n");
}

/** The tables of the kinds held across nodes. */
export function formatAcrossNodes(results: AcrossNodesResults, openFiles: number): string {
  return [
    results.keepAlive && formatKind("Idle keep-alive connections", results.keepAlive, openFiles),
    results.tunnels && formatKind("WebSocket tunnels", results.tunnels, openFiles),
  ]
    .filter((part) => part !== undefined)
    .join("\n\n");
}

/**
 * One claim per kind: all of the target held at once across the nodes, none failed or
 * closed early. Memory and latency are in the detail, against the one-process targets'
 * bounds, since those targets name one process and are judged by their own lines.
 */
function check(
  what: string,
  unit: string,
  held: HeldAcrossNodes,
  openFiles: number,
  boundKb: number,
): Check {
  const all = total(held.nodes);
  const whole = all.opened === held.target && all.failed === 0 && all.closedEarly === 0;
  const counted = all.gatewayCounted === undefined || all.gatewayCounted >= held.target;
  const rss = perConnection(all, "rssBytes")!;
  const during = held.during;
  const p99 = during
    ? `; new requests through node 1: p99 ${during.p99.toFixed(2)} ms with all held (${held.before!.p99.toFixed(2)} ms with none)`
    : "";
  return {
    claim: `${count(held.target)} ${what} held across ${held.nodes.length} nodes on one host (open-file limit ${count(openFiles)} per process)`,
    verdict: whole && counted ? "PASS" : "FAIL",
    detail:
      `${count(all.opened)}/${count(held.target)} held (per node ${held.nodes.map((node) => count(node.opened)).join(", ")}), ` +
      `${all.failed} failed, ${all.closedEarly} closed early, ${all.gatewayCounted === undefined ? "?" : count(all.gatewayCounted)} counted by the nodes; ` +
      `nodes' RSS growth ${kb(rss)} per ${unit} (${rss <= boundKb * 1024 ? "within" : "over"} ${boundKb} KB), ` +
      `V8 heap ${kb(perConnection(all, "heapTotalBytes"))} committed, ${kb(perConnection(all, "heapUsedBytes"))} used${p99}`,
  };
}

export function acrossNodesChecks(results: AcrossNodesResults | undefined, openFiles: number) {
  if (!results) return [];
  return [
    ...(results.keepAlive
      ? [check("idle keep-alive connections", "connection", results.keepAlive, openFiles, 10)]
      : []),
    ...(results.tunnels
      ? [check("WebSocket tunnels", "tunnel", results.tunnels, openFiles, 20)]
      : []),
  ];
}
