// The multi-node recipes in deploy/compose and deploy/k8s, checked without Docker or
// Kubernetes (CI has neither): every YAML file parses, every Gatehouse config in them
// (files and ConfigMap data) passes the gateway's own loader, probes hit the status
// listener's /health and /ready, ports agree with the configs, referenced files exist,
// and the Kubernetes objects have the fields and selectors they need. Each check is also
// shown to fail on a broken copy, so a green run means something.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { dashboardVendorSpecifiers } from "../../src/admin/dashboard-files.ts";
import {
  buildKustomization,
  composeProblems,
  type Json,
  loadConfig,
  secretPlaceholder,
  yamlDocuments,
} from "../helpers/deploy-files.ts";
import { dashboardImageProblems, readImageInputs } from "../helpers/image-files.ts";
import { k8sProblems } from "../helpers/k8s-manifests.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const composeFile = join(root, "deploy/compose/compose.yaml");
const kustomizations = ["deploy/k8s/base", "deploy/k8s/etcd"];

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => join(root, dir, name))
    .sort();
}

/** Literal environment values the recipes set (compose `environment`, container `env`). */
const literalEnv = new Map<string, string>();

/** Every `${env:NAME}` a config reads: the value a recipe sets, else a secret's placeholder. */
function recipeEnv(text: string): Record<string, string> {
  const names = [...text.matchAll(/\$\{env:(\w+)/g)].map((match) => match[1]!);
  return Object.fromEntries(names.map((name) => [name, literalEnv.get(name) ?? secretPlaceholder]));
}

/** Collects the literal `env` entries of containers and `environment` of compose services. */
function collectEnv(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) collectEnv(item);
    return;
  }
  if (value === null || typeof value !== "object") return;
  const record = value as Record<string, unknown>;
  for (const entry of Array.isArray(record.env) ? record.env : []) {
    if (typeof entry?.value === "string") literalEnv.set(entry.name, entry.value);
  }
  const environment = record.environment;
  if (environment && typeof environment === "object" && !Array.isArray(environment)) {
    for (const [name, text] of Object.entries(environment)) {
      if (!String(text).startsWith("${")) literalEnv.set(name, String(text));
    }
  }
  for (const item of Object.values(record)) collectEnv(item);
}

describe("deploy/ recipes (parsed and validated; CI runs neither Docker nor Kubernetes)", () => {
  const scratch = mkdtempSync(join(tmpdir(), "gatehouse-deploy-"));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("parses every YAML file, and every Gatehouse config in them validates", () => {
    const files = [...yamlFilesUnder("deploy/compose"), ...yamlFilesUnder("deploy/k8s")];
    assert.ok(files.length >= 9, `found only ${files.length} YAML files`);
    const configs: string[] = [];
    for (const file of files) {
      for (const document of yamlDocuments(file)) {
        const name = relative(root, file);
        collectEnv(document);
        if (document?.gateway) configs.push(`${name}\n${readFileSync(file, "utf8")}`);
        if (file.includes("/k8s/") && document.kind !== "Kustomization") {
          assert.equal(typeof document.apiVersion, "string", `${name}: apiVersion`);
          assert.equal(typeof document.metadata?.name, "string", `${name}: metadata.name`);
        }
        for (const [key, text] of Object.entries(document?.data ?? {})) {
          if (typeof text === "string" && /^gateway:/m.test(text))
            configs.push(`${name} ${key}\n${text}`);
        }
      }
    }
    assert.ok(configs.length >= 3, `found only ${configs.length} Gatehouse configs`);
    for (const entry of configs) {
      const [name, ...lines] = entry.split("\n");
      const text = lines.join("\n");
      assert.deepEqual(loadConfig(text, name!, recipeEnv(text)).problems, [], name);
    }
  });

  it("compose: files exist, configs validate, healthchecks and ports match the configs", () => {
    assert.deepEqual(composeProblems(composeFile), []);
  });

  it("compose: a wrong healthcheck port, a missing file or a broken config fails", () => {
    const text = readFileSync(composeFile, "utf8");
    const wrongPort = composeProblems(
      composeFile,
      text.replace("127.0.0.1:9901/health", "127.0.0.1:8080/health"),
    );
    assert.ok(
      wrongPort.some((line) => line.includes("does not probe the status listener")),
      wrongPort.join("\n"),
    );
    const missing = composeProblems(
      composeFile,
      text.replace("./nginx.conf:", "./nginx-missing.conf:"),
    );
    assert.ok(
      missing.some((line) => line.includes("nginx-missing.conf does not exist")),
      missing.join("\n"),
    );
    const copy = join(scratch, "compose");
    cpSync(join(root, "deploy/compose"), copy, { recursive: true });
    const config = join(copy, "gatehouse.yaml");
    writeFileSync(config, readFileSync(config, "utf8").replace("workers: auto", "workers: many"));
    const broken = composeProblems(join(copy, "compose.yaml"));
    assert.ok(
      broken.some((line) => /gatehouse\.yaml:\d+:\d+ gateway\.workers/.test(line)),
      broken.join("\n"),
    );
  });

  for (const dir of kustomizations) {
    it(`k8s ${dir}: objects, selectors, Service ports, config, probes, ports, grace period`, () => {
      const problems: string[] = [];
      const objects = buildKustomization(join(root, dir), problems);
      assert.ok(
        objects.some((object) => object.kind === "Deployment" && object.spec.replicas === 3),
      );
      assert.deepEqual([...problems, ...k8sProblems(objects, dir)], []);
    });
  }

  it("k8s: a wrong probe port, a broken config, a stray selector or a short grace period fails", () => {
    const built = () => buildKustomization(join(root, "deploy/k8s/etcd"), []);
    const gatehouse = (objects: Json[]) => {
      const deployment = objects.find(
        (o) => o.kind === "Deployment" && o.metadata.name === "gatehouse",
      )!;
      return { deployment, container: deployment.spec.template.spec.containers[0] };
    };
    const failsWith = (pattern: RegExp, change: (objects: Json[]) => void) => {
      const objects = built();
      change(objects);
      const problems = k8sProblems(objects, "etcd");
      assert.ok(
        problems.some((line) => pattern.test(line)),
        `${pattern}: ${problems.join("\n")}`,
      );
    };
    failsWith(/readinessProbe is not GET \/ready on the status port 9901/, (objects) => {
      gatehouse(objects).container.readinessProbe.httpGet.port = "proxy";
    });
    failsWith(/livenessProbe is not GET \/health/, (objects) => {
      gatehouse(objects).container.livenessProbe.httpGet.path = "/ready";
    });
    failsWith(/gatehouse\.yaml:\d+:\d+ gateway\.configStore\.etcd\.endpoints/, (objects) => {
      const configMap = objects.find((o) => o.kind === "ConfigMap")!;
      configMap.data["gatehouse.yaml"] = configMap.data["gatehouse.yaml"].replace(
        "http://etcd:2379",
        "etcd:2379",
      );
    });
    failsWith(/container ports .* are not the config's/, (objects) => {
      gatehouse(objects).container.ports.pop();
    });
    failsWith(/selector app\.kubernetes\.io\/name=gatehouse not on its pods/, (objects) => {
      gatehouse(objects).deployment.spec.template.metadata.labels = { app: "other" };
    });
    failsWith(/terminationGracePeriodSeconds 10 < preStop 5s \+ shutdownTimeout 20s/, (objects) => {
      gatehouse(objects).deployment.spec.template.spec.terminationGracePeriodSeconds = 10;
    });
    failsWith(/Service gatehouse-admin: targetPort admin is no container port/, (objects) => {
      const { container } = gatehouse(objects);
      container.ports = container.ports.filter((port: Json) => port.name !== "admin");
    });
  });
});

describe("deploy/Dockerfile: the image has the dashboard (checked without Docker)", () => {
  const inputs = () => readImageInputs(root, dashboardVendorSpecifiers());

  it("copies src/admin/ui, ignores none of it, and installs its vendor packages", () => {
    assert.deepEqual(dashboardImageProblems(inputs()), []);
  });

  it("fails for a missing COPY, an ignored file or a vendor package that is only for development", () => {
    const real = inputs();
    const problems = dashboardImageProblems({
      ...real,
      dockerfile: real.dockerfile.replace("COPY src ./src", "COPY src/cli ./src/cli"),
      dockerignore: `${real.dockerignore}\n**/*.html\n`,
      vendorSpecifiers: ["playwright-core/index.mjs"],
    });
    assert.deepEqual(problems, [
      "deploy/Dockerfile does not COPY src ./src (the dashboard is src/admin/ui)",
      `.dockerignore's "**/*.html" leaves out src/admin/ui/index.html`,
      "playwright-core (served at /ui/vendor/) is not in package.json's dependencies",
    ]);
  });
});
