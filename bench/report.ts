/**
 * @module bench/report
 * Turns the measurements into the printed table, the PASS/FAIL of the performance targets,
 * and the JSON written to bench/results/latest.json.
 */
import type { RouterCost } from "./router-micro.ts";
import { formatColumns } from "./table.ts";
import type { WrkResult } from "./wrk.ts";

/** One target's outcome: numbers, or why it could not be measured. */
export interface Measurement {
  name: string;
  label: string;
  url: string;
  result?: WrkResult;
  /** The target process's CPU time during the measured run (less noisy than req/s on a shared box). */
  cpu?: { seconds: number; perRequestUs: number };
  /** The CPU per request of the processes the row runs beside the target (its redis-server). */
  helpersCpu?: { name: string; perRequestUs: number }[];
  failure?: string;
}

export interface Check {
  claim: string;
  verdict: "PASS" | "FAIL" | "n/a";
  detail: string;
}

const baseline = "undici";

/** A measurement with any socket error or non-2xx answer is not a clean result. */
export function flagged(m: Measurement): boolean {
  return m.result !== undefined && m.result.non2xx + m.result.socketErrors > 0;
}

/** This target's req/s over the undici baseline's, when both were measured. */
export function ratioToBaseline(m: Measurement, all: Measurement[]): number | undefined {
  const base = all.find((other) => other.name === baseline)?.result;
  return m.result && base ? m.result.requestsPerSecond / base.requestsPerSecond : undefined;
}

/** The results table, one line per target. */
export function formatTable(all: Measurement[]): string {
  const header = ["target", "req/s", "p50", "p99", "vs undici", "cpu/req", "req/s/core", "errors"];
  const rows = all.map((m) => {
    if (!m.result)
      return [m.label, "failed", "-", "-", "-", "-", "-", (m.failure ?? "").split("\n")[0]!];
    const r = m.result;
    const ratio = ratioToBaseline(m, all);
    const errors = flagged(m)
      ? `FLAGGED: ${r.non2xx} non-2xx, ${r.socketErrors} socket (${describeSocketErrors(r)})`
      : "0";
    return [
      m.label,
      Math.round(r.requestsPerSecond).toLocaleString("en-US"),
      `${r.p50.toFixed(2)} ms`,
      `${r.p99.toFixed(2)} ms`,
      ratio === undefined ? "-" : `${ratio.toFixed(2)}x`,
      m.cpu ? `${m.cpu.perRequestUs.toFixed(1)} µs` : "-",
      m.cpu ? Math.round(perCore(m.cpu)).toLocaleString("en-US") : "-",
      errors,
    ];
  });
  const table = formatColumns(header, rows, [0, 7]);
  const beside = all.flatMap((m) =>
    (m.result ? (m.helpersCpu ?? []) : []).map(
      (h) => `${m.label}: ${h.name} beside it ${h.perRequestUs.toFixed(1)} µs cpu/req`,
    ),
  );
  return beside.length === 0 ? table : `${table}\n\n${beside.join("\n")}`;
}

/**
 * What one core could serve if the target had it to itself: 1 s of CPU over the CPU one
 * request took. Steadier than req/s on a shared machine, since it does not count time the
 * target spent waiting for a core.
 */
export function perCore(cpu: { perRequestUs: number }): number {
  return 1e6 / cpu.perRequestUs;
}

function describeSocketErrors(r: WrkResult): string {
  const { connect, read, write, timeout } = r.errors;
  return `connect ${connect}, read ${read}, write ${write}, timeout ${timeout}`;
}

/** The performance targets Gatehouse is held to. */
export function evaluateChecks(all: Measurement[], router?: RouterCost[]): Check[] {
  const get = (name: string) => all.find((m) => m.name === name);
  const g10 = get("gatehouse-10");
  const g10k = get("gatehouse-10k");
  const undici = get(baseline);
  const fastGateway = get("fast-gateway");
  const rps = (m: Measurement) => m.result!.requestsPerSecond;
  const p99 = (m: Measurement) => m.result!.p99;
  return [
    throughput("Gatehouse (10 routes) >= 0.9x undici baseline req/s", g10, undici, 0.9),
    throughput("Gatehouse (10 routes) >= 1.4x fast-gateway req/s", g10, fastGateway, 1.4),
    throughput("Gatehouse 10,000 routes within 5% of 10 routes req/s", g10k, g10, 0.95),
    throughput(
      "Default config (metrics + access log to stdout, redirected to a file) >= 0.9x undici baseline req/s",
      get("gatehouse-observed"),
      undici,
      0.9,
    ),
    throughput(
      "Metrics + access log cost <= 5%: default config >= 0.95x Gatehouse with both off req/s",
      get("gatehouse-observed"),
      g10,
      0.95,
    ),
    throughput(
      "Tracing at ratio 1.0 >= 0.75x the same config with tracing off (metrics + access log on in both) req/s",
      get("gatehouse-traced"),
      get("gatehouse-observed"),
      0.75,
    ),
    throughput(
      "Gatehouse + jwt, rate-limit (Redis), cors >= 0.7x undici baseline req/s",
      get("gatehouse-auth-stack"),
      undici,
      0.7,
    ),
    throughput(
      "Gatehouse + rate-limit (memory) >= 0.85x undici baseline req/s",
      get("gatehouse-rate-limit"),
      undici,
      0.85,
    ),
    routeCountCost(),
    latency("Gatehouse (10 routes) p99 <= undici baseline p99", g10),
    latency("Gatehouse (10,000 routes) p99 <= undici baseline p99", g10k),
  ];

  /**
   * The same claim from the router micro-benchmark: the extra matching time of 10,000
   * routes as a share of what one request costs Gatehouse in CPU. Unlike req/s on a shared
   * machine, neither number moves much from run to run.
   */
  function routeCountCost(): Check {
    const claim = "Route matching at 10,000 routes costs < 5% of a request (router micro-bench)";
    const small = router?.find((r) => r.routes === 10);
    const large = router?.find((r) => r.routes === 10_000);
    const perRequestUs = g10?.cpu?.perRequestUs;
    if (!small || !large || perRequestUs === undefined)
      return { claim, verdict: "n/a", detail: "not measured in this run" };
    const share = (large.nsPerMatch - small.nsPerMatch) / 1000 / perRequestUs;
    return {
      claim,
      verdict: share < 0.05 ? "PASS" : "FAIL",
      detail: `${small.nsPerMatch.toFixed(0)} ns vs ${large.nsPerMatch.toFixed(0)} ns per match; the difference is ${(share * 100).toFixed(2)}% of ${perRequestUs.toFixed(1)} µs CPU per request`,
    };
  }

  function latency(claim: string, subject: Measurement | undefined): Check {
    return compare(claim, subject, undici, (a, b) => ({
      ok: p99(a) <= p99(b),
      detail: `${p99(a).toFixed(2)} ms vs ${p99(b).toFixed(2)} ms`,
    }));
  }

  function throughput(
    claim: string,
    subject: Measurement | undefined,
    reference: Measurement | undefined,
    minimum: number,
  ): Check {
    return compare(claim, subject, reference, (a, b) => ({
      ok: rps(a) >= minimum * rps(b),
      detail: `${(rps(a) / rps(b)).toFixed(3)}x (${Math.round(rps(a))} vs ${Math.round(rps(b))} req/s, needs >= ${minimum}x)`,
    }));
  }
}

function compare(
  claim: string,
  subject: Measurement | undefined,
  reference: Measurement | undefined,
  test: (a: Measurement, b: Measurement) => { ok: boolean; detail: string },
): Check {
  if (!subject?.result || !reference?.result)
    return { claim, verdict: "n/a", detail: "not measured in this run" };
  const { ok, detail } = test(subject, reference);
  const dirty = [subject, reference].filter(flagged).map((m) => m.label);
  if (dirty.length > 0)
    return { claim, verdict: "FAIL", detail: `${detail}; errors in ${dirty.join(", ")}` };
  return { claim, verdict: ok ? "PASS" : "FAIL", detail };
}

/** The checks as printed lines. */
export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.verdict.padEnd(4)}  ${c.claim}: ${c.detail}`).join("\n");
}

/** The per-target numbers for results/latest.json. */
export function targetResults(all: Measurement[]) {
  return all.map((m) => ({
    name: m.name,
    label: m.label,
    url: m.url,
    ...(m.result
      ? {
          requestsPerSecond: Math.round(m.result.requestsPerSecond),
          ratioToUndici: round(ratioToBaseline(m, all)),
          latencyMs: {
            p50: round(m.result.p50),
            p90: round(m.result.p90),
            p99: round(m.result.p99),
            max: round(m.result.max),
            mean: round(m.result.mean),
          },
          cpu: m.cpu && {
            seconds: round(m.cpu.seconds),
            perRequestUs: round(m.cpu.perRequestUs),
            requestsPerSecondPerCore: Math.round(perCore(m.cpu)),
            cores: round(m.cpu.seconds / m.result.seconds),
          },
          helpersCpu: m.helpersCpu?.map((h) => ({
            name: h.name,
            perRequestUs: round(h.perRequestUs),
          })),
          requests: m.result.requests,
          seconds: round(m.result.seconds),
          non2xx: m.result.non2xx,
          socketErrors: m.result.errors,
          flagged: flagged(m),
        }
      : { failure: m.failure }),
  }));
}

function round(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 1_000) / 1_000;
}
