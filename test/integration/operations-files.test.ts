// The operations files in deploy/: promtool checks the alert rules and runs their unit
// tests, and every metric the Grafana dashboard and the alerts name is one a running
// gateway really exports (read from its GET /metrics after real traffic).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { parse } from "yaml";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const alertsFile = "deploy/prometheus/alerts.yml";
const alertTestsFile = "deploy/prometheus/alerts.test.yml";
const dashboardFile = "deploy/grafana/gatehouse.json";
/** Grafana's data-source variable, as panels reference it (a literal, not a JS template). */
const datasourceRef = `\${DS_PROMETHEUS}`;

/** Grafana's variables as Prometheus would see them once Grafana has filled them in. */
function withVariablesFilled(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__interval", "1m")
    .replace(/\$\{?\w+\}?/g, ".*");
}

/** Runs promtool from the repository root; a missing binary fails with how to install it. */
function promtool(...args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    execFile("promtool", args, { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === "ENOENT") {
        reject(
          new Error(
            "promtool not found on PATH: install it with `apt-get install -y prometheus` (the Debian package that provides promtool)",
          ),
        );
        return;
      }
      resolve({ ok: error === null, output: `${stdout}${stderr}` });
    });
  });
}

/** PromQL words that look like metric names but are not. */
const keywords = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "inf",
  "nan",
]);

/**
 * The metric names a PromQL expression selects, as written (`_bucket` and the like kept).
 * Strings, label matchers, ranges, grouping label lists and Grafana variables are blanked
 * first, so what is left that is neither a function call nor a keyword is a metric name.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ");
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(\s*\()?/g)) {
    const [, name, call] = match;
    if (call === undefined && !keywords.has(name!.toLowerCase())) names.add(name!);
  }
  return [...names];
}

/** Family name → type, from the `# TYPE` lines (there even for families with no samples yet). */
function exportedFamilies(exposition: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    families.set(match[1]!, match[2]!);
  }
  return families;
}

/** The series suffixes a histogram or summary family is queried by. */
const seriesSuffixes: [suffix: string, types: string[]][] = [
  ["_bucket", ["histogram"]],
  ["_sum", ["histogram", "summary"]],
  ["_count", ["histogram", "summary"]],
];

/** Whether `name` is an exported family, or a series of an exported histogram or summary. */
function isExported(name: string, families: Map<string, string>): boolean {
  if (families.has(name)) return true;
  return seriesSuffixes.some(([suffix, types]) => {
    if (!name.endsWith(suffix)) return false;
    const type = families.get(name.slice(0, -suffix.length));
    return type !== undefined && types.includes(type);
  });
}

/** `expr → names it uses that the gateway does not export`, only for expressions with some. */
function unknownMetrics(exprs: string[], families: Map<string, string>): Map<string, string[]> {
  const unknown = new Map<string, string[]>();
  for (const expr of exprs) {
    const missing = metricNames(expr).filter((name) => !isExported(name, families));
    if (missing.length > 0) unknown.set(expr, missing);
  }
  return unknown;
}

function describeUnknown(unknown: Map<string, string[]>): string {
  const lines = [...unknown].map(
    ([expr, names]) => `  ${names.join(", ")}  in  ${expr.replace(/\s+/g, " ").trim()}`,
  );
  return `metrics Gatehouse does not export:\n${lines.join("\n")}`;
}

interface Target {
  expr?: string;
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

/** Every panel, with those nested in rows (a collapsed row holds its panels). */
function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/** The metrics a `label_values(metric{...}, label)` variable query reads. */
function variableExprs(variables: Variable[]): string[] {
  return variables.flatMap((variable) => {
    const query = typeof variable.query === "string" ? variable.query : variable.query?.query;
    const selector = /^label_values\((.+),\s*\w+\)$/.exec(query ?? "");
    return selector ? [selector[1]!] : [];
  });
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertRules(): Rule[] {
  const file = parse(readFileSync(`${root}${alertsFile}`, "utf8")) as {
    groups: { rules: Rule[] }[];
  };
  return file.groups.flatMap((group) => group.rules);
}

function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(`${root}${dashboardFile}`, "utf8")) as Dashboard;
}

describe("prometheus alert rules", () => {
  it("pass promtool check rules", async () => {
    const { ok, output } = await promtool("check", "rules", alertsFile);
    assert.ok(ok, output);
    assert.match(output, /SUCCESS: \d+ rules found/);
  });

  it("pass their promtool unit tests (5xx ratio, targets down, breakers, reload failures)", async () => {
    const { ok, output } = await promtool("test", "rules", alertTestsFile);
    assert.ok(ok, output);
    assert.match(output, /SUCCESS/);
  });

  it("each carry a severity, a summary and a description", () => {
    const rules = alertRules();
    for (const name of [
      "GatehouseRoute5xxRatioHigh",
      "GatehouseService5xxRatioHigh",
      "GatehouseRouteLatencyP99High",
      "GatehouseUpstreamTargetDown",
      "GatehouseServiceAllTargetsDown",
      "GatehouseBreakerOpen",
      "GatehouseConfigReloadFailed",
    ]) {
      assert.ok(
        rules.some((rule) => rule.alert === name),
        `${name} is in ${alertsFile}`,
      );
    }
    for (const rule of rules) {
      assert.ok(
        ["critical", "warning"].includes(rule.labels?.severity ?? ""),
        `${rule.alert} severity`,
      );
      assert.ok(rule.annotations?.summary, `${rule.alert} has a summary`);
      assert.ok(rule.annotations?.description, `${rule.alert} has a description`);
    }
  });
});

describe("grafana dashboard", () => {
  it("has a Prometheus data-source variable, route and service variables, and a query in every panel", () => {
    const dashboard = loadDashboard();
    assert.ok(dashboard.schemaVersion >= 36, "a current schemaVersion");
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    assert.equal(variables.get("DS_PROMETHEUS")?.type, "datasource");
    for (const name of ["route", "service"]) {
      const query = variables.get(name)?.query;
      assert.match(
        typeof query === "string" ? query : (query?.query ?? ""),
        new RegExp(`^label_values\\(.*, ${name}\\)$`),
      );
    }
    const panels = allPanels(dashboard.panels);
    const ids = panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
    const graphs = panels.filter((panel) => panel.type !== "row");
    assert.ok(graphs.length >= 20, `${graphs.length} panels`);
    for (const panel of graphs) {
      assert.equal(panel.datasource?.uid, datasourceRef, `${panel.title} data source`);
      const exprs = (panel.targets ?? []).map((target) => target.expr ?? "");
      assert.ok(exprs.length > 0 && exprs.every(Boolean), `${panel.title} has PromQL queries`);
    }
  });

  it("has valid PromQL in every query (promtool parses each as a recording rule)", async () => {
    const dashboard = loadDashboard();
    const rules = allPanels(dashboard.panels).flatMap((panel) =>
      (panel.targets ?? []).map((target, i) => ({
        record: `dashboard:panel_${panel.id}_${i}`,
        expr: withVariablesFilled(target.expr ?? ""),
      })),
    );
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-dashboard-"));
    try {
      const file = join(dir, "dashboard-rules.yml");
      writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
      const { ok, output } = await promtool("check", "rules", file);
      assert.ok(ok, output);
      assert.match(output, new RegExp(`SUCCESS: ${rules.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("metric names in the dashboard and the alerts", () => {
  let up: Upstream;
  let gw: RunningGateway;
  let families: Map<string, string>;

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(
      testConfig({
        consumers: [{ name: "c", credentials: { keys: ["ops-files-key-1"] } }],
        services: [
          {
            name: "svc",
            targets: [{ url: up.url }, { url: "http://127.0.0.1:9" }],
            healthCheck: {
              active: { type: "tcp", interval: "50ms", unhealthyThreshold: 1, healthyThreshold: 1 },
            },
            circuitBreaker: { failureRatio: 0.5 },
          },
        ],
        routes: [
          { name: "api", match: { paths: ["/api/*"] }, service: "svc" },
          {
            name: "locked",
            match: { paths: ["/locked"] },
            service: "svc",
            plugins: [{ name: "key-auth" }],
          },
          {
            name: "limited",
            match: { paths: ["/limited"] },
            service: "svc",
            plugins: [{ name: "rate-limit", config: { limit: 1, window: "1m", by: "ip" } }],
          },
        ],
      }),
    );
    // Traffic of every kind the panels show: answers, an auth failure, a rate-limit
    // rejection, a route miss; and time for a health check or two.
    for (const path of ["/api/a", "/api/b", "/locked", "/limited", "/limited", "/nowhere"]) {
      await (await request(`${gw.url}${path}`)).body.dump();
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    const res = await request(`${gw.statusUrl}/metrics`);
    assert.equal(res.statusCode, 200);
    families = exportedFamilies(await res.body.text());
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  it("reads the expressions' metric names, not their functions, labels or variables", () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (route, le) (rate(gatehouse_request_duration_seconds_bucket{route=~"$route",service="a b"}[$__rate_interval])))',
      ),
      ["gatehouse_request_duration_seconds_bucket"],
    );
    assert.deepEqual(
      metricNames(
        "max by (service) (up_total) == 0 unless on (service) sum(rate(x_total[5m] offset 1h)) by (le) > bool 1e3 and vector(0)",
      ),
      ["up_total", "x_total"],
    );
    assert.ok(isExported("gatehouse_request_duration_seconds_bucket", families));
    assert.ok(isExported("gatehouse_request_duration_seconds_count", families));
    assert.ok(!isExported("gatehouse_requests_total_bucket", families), "a counter has no buckets");
    const unknown = unknownMetrics(
      ["sum(rate(gatehouse_requests_total[5m]))", "rate(gatehouse_not_a_metric_total[5m])"],
      families,
    );
    assert.deepEqual([...unknown.values()], [["gatehouse_not_a_metric_total"]]);
  });

  it("every dashboard query names metrics Gatehouse exports", () => {
    const dashboard = loadDashboard();
    const exprs = [
      ...allPanels(dashboard.panels).flatMap((panel) =>
        (panel.targets ?? []).map((target) => target.expr ?? ""),
      ),
      ...variableExprs(dashboard.templating.list),
    ];
    assert.ok(exprs.length >= 40, `${exprs.length} expressions`);
    assert.ok(
      exprs.every((expr) => metricNames(expr).length > 0),
      "each names some metric",
    );
    const unknown = unknownMetrics(exprs, families);
    assert.equal(unknown.size, 0, describeUnknown(unknown));
  });

  it("every alert names metrics Gatehouse exports", () => {
    const exprs = alertRules().map((rule) => rule.expr);
    assert.ok(
      exprs.every((expr) => metricNames(expr).length > 0),
      "each names some metric",
    );
    const unknown = unknownMetrics(exprs, families);
    assert.equal(unknown.size, 0, describeUnknown(unknown));
  });
});
