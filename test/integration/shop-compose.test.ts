// examples/shop/compose.yaml without a Docker engine: it and every file it mounts parse,
// the files and scripts it names exist, the gateway's config validates with the
// environment compose gives it, Prometheus's config passes promtool, the dashboard's
// queries use metrics the gateway has, and every address lines up with a service and port.
// A broken copy of the compose file is caught.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { shopComposeReport } from "../helpers/shop-compose.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const composeFile = join(root, "examples/shop/compose.yaml");
const composeText = readFileSync(composeFile, "utf8");

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

describe("the shop's compose.yaml", () => {
  it("has every file, service, port and address lined up", async () => {
    const { problems, mounts, services } = await shopComposeReport(composeFile, root);
    assert.deepEqual(problems, []);
    for (const name of [
      "gateway",
      "postgres",
      "nats",
      "etcd",
      "otel-collector",
      "jaeger",
      "prometheus",
      "grafana",
    ]) {
      assert.ok(name in services, `no ${name} service`);
    }
    assert.ok(mounts.size >= 5, `mounts: ${[...mounts.keys()].join(", ")}`);
  });

  it("mounts a Prometheus config that promtool accepts", async () => {
    const { mounts } = await shopComposeReport(composeFile, root);
    const config = mounts.get("/etc/prometheus/prometheus.yml");
    assert.ok(config, "no prometheus.yml mounted");
    const { ok, output } = await promtool("check", "config", config);
    assert.ok(ok, output);
  });

  it("has a dashboard whose queries use only the gateway's documented metrics", async () => {
    const { mounts } = await shopComposeReport(composeFile, root);
    const dashboard = JSON.parse(
      readFileSync(mounts.get("/var/lib/grafana/dashboards/shop.json")!, "utf8"),
    );
    const documented = readFileSync(join(root, "docs/observability.md"), "utf8");
    const exprs: string[] = dashboard.panels.flatMap((panel: { targets: { expr: string }[] }) =>
      panel.targets.map((target) => target.expr),
    );
    assert.ok(exprs.length >= 4);
    for (const expr of exprs) {
      for (const [metric] of expr.matchAll(/gatehouse_[a-z_]+/g)) {
        const base = metric.replace(/_(bucket|sum|count)$/, "");
        assert.ok(documented.includes(`\`${base}\``), `${metric} is not in docs/observability.md`);
      }
    }
  });

  it("catches a service given the wrong database, a missing mount and a registry port that differs", async () => {
    const broken = composeText
      .replace(
        "DATABASE_URL: postgres://shop:shop@postgres:5432/shop",
        "DATABASE_URL: postgres://shop:shop@pg:5432/shop",
      )
      .replace("./deploy/prometheus.yml:", "./deploy/prometheus-missing.yml:")
      .replace(
        "GATEHOUSE_REGISTRY: http://gateway:9903",
        "GATEHOUSE_REGISTRY: http://gateway:9900",
      );
    const { problems } = await shopComposeReport(composeFile, root, broken);
    const text = problems.join("\n");
    assert.match(text, /DATABASE_URL postgres:\/\/shop:shop@pg:5432\/shop is no compose service/);
    assert.match(text, /prometheus-missing\.yml does not exist/);
    assert.match(text, /GATEHOUSE_REGISTRY is not the gateway's registry listener/);
  });
});
