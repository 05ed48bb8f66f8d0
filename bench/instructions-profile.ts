/**
 * @module bench/instructions-profile
 * Where a target's counted instructions went, by function: callgrind names the native
 * ones (V8's builtins and runtime, llhttp, libc) itself, and the JavaScript V8 compiled is
 * named from the perf map `node --perf-basic-prof` writes (/tmp/perf-PID.map), which
 * callgrind cannot read. The same function compiled more than once (tiers, re-optimisation)
 * is added up under its one name.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

/** A function's share of the counted instructions, per request. */
export interface FunctionCost {
  name: string;
  perRequest: number;
}

/** The node flag that makes V8 write the perf map this module reads. */
export const perfMapFlag = "--perf-basic-prof";

/**
 * The `top` most expensive functions (self cost) in callgrind's file `file` of process
 * `pid`, over `requests` counted requests. Removes the process's perf map once read.
 */
export function functionCosts(
  file: string,
  pid: string,
  requests: number,
  top: number,
): FunctionCost[] {
  const perfMap = `/tmp/perf-${pid}.map`;
  const names = readPerfMap(perfMap);
  if (!process.env.BENCH_KEEP_PERF_MAP) rmSync(perfMap, { force: true });
  const text = execFileSync("callgrind_annotate", ["--threshold=100", file], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const costs = new Map<string, number>();
  for (const line of text.split("\n")) {
    // "  1,234,567 ( 1.23%)  file:function [object]"
    const row = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (!row || row[2]!.startsWith("PROGRAM TOTALS")) continue;
    const name = functionName(row[2]!, names);
    costs.set(name, (costs.get(name) ?? 0) + Number(row[1]!.replaceAll(",", "")));
  }
  return [...costs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, cost]) => ({ name, perRequest: cost / requests }));
}

/** The perf map's code ranges, sorted by start: [start, end, name]. */
function readPerfMap(file: string): PerfMap {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const ranges: PerfMap = [];
  for (const line of text.split("\n")) {
    const [start, size, ...name] = line.split(" ");
    if (!start || !size || name.length === 0) continue;
    const from = Number.parseInt(start, 16);
    ranges.push([from, from + Number.parseInt(size, 16), cleanName(name.join(" "))]);
  }
  return ranges.sort((a, b) => a[0] - b[0]);
}

type PerfMap = [start: number, end: number, name: string][];

/** `???:0x2832cd40 [???]` → the JavaScript function there; native names shortened. */
function functionName(raw: string, map: PerfMap): string {
  const address = /^\?\?\?:0x([0-9a-f]+)/.exec(raw);
  if (address) return javascriptAt(Number.parseInt(address[1]!, 16), map);
  return withoutParameters(raw.replace(/^\?\?\?:/, "").replace(/ \[[^\]]*\]$/, "")).slice(0, 120);
}

/** A C++ name without its parameter list (the last balanced parentheses) and qualifiers. */
function withoutParameters(name: string): string {
  const trimmed = name.replace(/\s*(const)?\s*('\d+)?$/, "");
  if (!trimmed.endsWith(")")) return trimmed;
  let depth = 0;
  for (let i = trimmed.length - 1; i >= 0; i--) {
    if (trimmed[i] === ")") depth++;
    else if (trimmed[i] === "(" && --depth === 0) return trimmed.slice(0, i);
  }
  return trimmed;
}

function javascriptAt(address: number, map: PerfMap): string {
  let low = 0;
  let high = map.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [start, end, name] = map[middle]!;
    if (address < start) high = middle - 1;
    else if (address >= end) low = middle + 1;
    else return name;
  }
  return "JavaScript (unnamed)";
}

/** V8's map names carry a tier marker and the script's URL: keep the function and its file. */
function cleanName(name: string): string {
  return name
    .replace(/^RegExp\.?>?\s*src: '(.*)' flags: '(.*)'$/, "RegExp /$1/$2")
    .replace(/^(JS|Function|LazyCompile|Builtin):?\s*/, "")
    .replace(/^[*~^+'>]+/, "")
    .replace(/file:\/\/\/?/, "")
    .replace(/^\/?[^ ]*\/(node_modules\/)/, "$1")
    .replace(/ \/?[^ ]*?\/(src|bench|node_modules)\//, " $1/")
    .slice(0, 120);
}
