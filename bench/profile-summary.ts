/**
 * @module bench/profile-summary
 * `node bench/profile-summary.ts FILE.cpuprofile [--top N] [--from S]`: the functions a V8 CPU profile
 * spent its time in (self and inclusive), and the time per package, src/ and Node internals.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Row {
  key: string;
  where: string;
  selfUs: number;
  totalUs: number;
}

const idle = new Set(["(idle)", "(program)"]);

/** Where a frame comes from: `src`, a package name, `node internals`, or a V8 pseudo-frame. */
export function origin(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "native";
  if (url.startsWith("node:")) return "node internals";
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(src|bench|examples)\//.exec(url);
  return own ? own[1]! : url;
}

function label(node: ProfileNode): { key: string; where: string } {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || "(anonymous)";
  const own = /\/((?:src|bench|node_modules)\/.*)$/.exec(url)?.[1] ?? url;
  const where = url ? `${own}:${lineNumber + 1}` : "";
  return { key: `${name} ${where}`, where };
}

/** Self and inclusive microseconds per function, busiest first. */
export function summarise(
  profile: CpuProfile,
  fromUs = 0,
): { rows: Row[]; byOrigin: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const rows = new Map<string, Row>();
  const byOrigin = new Map<string, number>();
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    elapsed += profile.timeDeltas[i] ?? 0;
    if (elapsed < fromUs) return;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const leaf = byId.get(id)!;
    const kind = origin(leaf.callFrame.url, leaf.callFrame.functionName);
    byOrigin.set(kind, (byOrigin.get(kind) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { key, where } = label(byId.get(at)!);
      if (seen.has(key)) continue;
      seen.add(key);
      const row = rows.get(key) ?? { key, where, selfUs: 0, totalUs: 0 };
      row.totalUs += dt;
      if (at === id) row.selfUs += dt;
      rows.set(key, row);
    }
  });
  return { rows: [...rows.values()].sort((a, b) => b.selfUs - a.selfUs), byOrigin };
}

function main(): void {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: "string", default: "30" },
      // Skips start-up and warm-up: only samples this many seconds after the profile began count.
      from: { type: "string", default: "0" },
    },
  });
  if (positionals.length !== 1) {
    console.error(
      "usage: node bench/profile-summary.ts FILE.cpuprofile [--top N] [--from SECONDS]",
    );
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as CpuProfile;
  const { rows, byOrigin } = summarise(profile, Number(values.from) * 1e6);
  const busy = [...byOrigin].filter(([kind]) => !idle.has(kind)).reduce((a, [, us]) => a + us, 0);
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  console.log(`busy time ${(busy / 1e3).toFixed(0)} ms (percentages are of busy time)\n`);
  console.log("self    total   function  location");
  for (const row of rows.filter((r) => !idle.has(r.key.trim())).slice(0, Number(values.top)))
    console.log(`${pct(row.selfUs)} ${pct(row.totalUs)}  ${row.key}`);
  console.log("\nself time by origin");
  for (const [kind, us] of [...byOrigin].sort((a, b) => b[1] - a[1]))
    console.log(`${idle.has(kind) ? "   (idle)" : pct(us)}  ${kind}`);
}

if (import.meta.main) main();
