/**
 * @module bench/propagation
 * Config propagation across a cluster (`--only propagation`): a real etcd and three
 * Gatehouse nodes started by the CLI on one prefix; 50 routes added one after another
 * through node 1's admin API, each timed from the admin answer until every node serves it
 * (each node polled every 2 ms over keep-alive HTTP).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type EtcdServer, startEtcdServer } from "../test/helpers/etcd-server.ts";
import { type GatehouseNode, startGatehouseNode } from "../test/helpers/gatehouse-node.ts";
import { median } from "./reload.ts";
import type { Check } from "./report.ts";
import { formatColumns } from "./table.ts";
import type { BenchContext } from "./targets.ts";

export const propagationBenchName = "propagation";
const nodeCount = 3;
const changes = 50;
const pollMs = 2;
const limitMs = 5_000;
/** The target: a change through one node's admin API serves on every node within 100 ms. */
const targetMs = 100;

export interface PropagationResults {
  nodes: number;
  changes: number;
  /** Time to the admin API's answer (the change is in etcd and serves on node 1). */
  adminMs: { median: number; max: number };
  /** From the admin answer until each node serves the change, by node. */
  perNodeMs: { median: number; max: number }[];
  /** From the admin answer until all nodes serve the change. */
  allMs: { median: number; max: number };
}

/** Runs the propagation measurement; etcd and the nodes are stopped whatever happens. */
export async function measurePropagation(context: BenchContext): Promise<PropagationResults> {
  let etcd: EtcdServer | undefined;
  const nodes: GatehouseNode[] = [];
  try {
    etcd = await startEtcdServer();
    for (let i = 0; i < nodeCount; i++) {
      const file = join(context.dir, `propagation-${i}.yaml`);
      writeFileSync(file, nodeConfig(etcd.url, context.upstreamPort));
      nodes.push(await startGatehouseNode(file));
    }
    const admin: number[] = [];
    const perNode: number[][] = nodes.map(() => []);
    const all: number[] = [];
    for (let n = 0; n < changes; n++) {
      const started = performance.now();
      const answer = await nodes[0]!.admin("POST", "/routes", {
        name: `p-${n}`,
        match: { paths: [`/p-${n}`] },
        service: "upstream",
      });
      if (answer.status !== 201) throw new Error(`change ${n}: ${JSON.stringify(answer.body)}`);
      const answered = performance.now();
      admin.push(answered - started);
      const times = await Promise.all(nodes.map((node) => servedAfter(node, `/p-${n}`, answered)));
      for (const [i, ms] of times.entries()) perNode[i]!.push(ms);
      all.push(Math.max(...times));
    }
    return {
      nodes: nodeCount,
      changes,
      adminMs: summary(admin),
      perNodeMs: perNode.map(summary),
      allMs: summary(all),
    };
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
    await etcd?.remove();
  }
}

/** Milliseconds from `since` until `node` answers 200 on `path`. */
async function servedAfter(node: GatehouseNode, path: string, since: number): Promise<number> {
  while ((await node.get(path)) !== 200) {
    if (performance.now() - since > limitMs) throw new Error(`${path} not served in ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return performance.now() - since;
}

function summary(values: number[]) {
  return { median: median(values), max: Math.max(...values) };
}

function nodeConfig(etcdUrl: string, upstreamPort: number): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    "  status: { port: 0 }",
    "  admin: { port: 0 }",
    "  shutdownTimeout: 1s",
    "  accessLog: { enabled: false }",
    `  configStore: { etcd: { endpoints: ["${etcdUrl}"], prefix: /bench/ } }`,
    `services: [{ name: upstream, targets: [{ url: "http://127.0.0.1:${upstreamPort}" }] }]`,
    "routes: []",
  ].join("\n");
}

/** The propagation target, judged on the median over the changes (the max is reported beside it). */
export function propagationChecks(results: PropagationResults | undefined): Check[] {
  const claim = `A change through one node's admin API serves on all ${nodeCount} nodes < ${targetMs} ms after the answer, median`;
  if (!results) return [{ claim, verdict: "n/a", detail: "not measured in this run" }];
  const { median, max } = results.allMs;
  const verdict = median < targetMs ? "PASS" : "FAIL";
  return [{ claim, verdict, detail: `median ${median.toFixed(1)} ms, max ${max.toFixed(1)} ms` }];
}

/**
 * The propagation table: median and max per node and for all of them. Node 1 serves a
 * change before it answers, so its row is the cost of one poll.
 */
export function formatPropagationTable(results: PropagationResults): string {
  const ms = (value: number) => value.toFixed(1);
  const rows = [
    [
      "admin API answer (in etcd, serving on node 1)",
      ms(results.adminMs.median),
      ms(results.adminMs.max),
    ],
    ...results.perNodeMs.map((node, i) => [
      `node ${i + 1} serves it, after the answer`,
      ms(node.median),
      ms(node.max),
    ]),
    [
      `all ${results.nodes} nodes serve it, after the answer`,
      ms(results.allMs.median),
      ms(results.allMs.max),
    ],
  ];
  return formatColumns(
    [`config propagation, ${results.changes} changes via etcd`, "median ms", "max ms"],
    rows,
  );
}
