// Environments as a user meets them: a base file and an overlay merged (named resources by
// name, maps key by key, everything else replaced), and every problem in the merged config
// reported at FILE:LINE:COL in the file where it was written.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text holds ${env:...} references
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { validateConfigFile } from "../runtime/validate.ts";
import { ConfigError, type ConfigSource, formatProblem, parseSources } from "./load.ts";
import { checkEnvironmentName, overlayPath, selectedEnvironment } from "./overlay.ts";

const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;

const base = yaml(
  "gateway:",
  "  listen: [{ host: 127.0.0.1, port: 8080 }]",
  "  shutdownTimeout: 5s",
  "services:",
  "  - name: users",
  "    targets: [{ url: http://127.0.0.1:9001 }, { url: http://127.0.0.1:9002 }]",
  "    timeouts: { connect: 1s, response: 10s }",
  "  - name: orders",
  "    targets: [{ url: http://127.0.0.1:9101 }]",
  "routes:",
  "  - name: users",
  "    match: { paths: [/users] }",
  "    service: users",
  "    plugins:",
  "      - name: cors",
  "        config: { origins: [https://dev.example.com] }",
  "      - name: request-id",
);

/** Base and overlay, parsed as `gatehouse validate --env production` would. */
function merge(overlay: string, env: Record<string, string> = {}) {
  const sources: ConfigSource[] = [
    { file: "gatehouse.yaml", text: base },
    { file: "gatehouse.production.yaml", text: overlay },
  ];
  return parseSources(sources, { env });
}

function problems(overlay: string, baseText = base): string[] {
  try {
    parseSources(
      [
        { file: "gatehouse.yaml", text: baseText },
        { file: "gatehouse.production.yaml", text: overlay },
      ],
      { env: {} },
    );
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems.map(formatProblem);
  }
  assert.fail("expected the merged config to be rejected");
}

describe("merging an overlay over the base", () => {
  it("overrides a scalar and keeps the keys the overlay does not mention", () => {
    const config = merge(yaml("gateway:", "  shutdownTimeout: 30s"));
    assert.equal(config.gateway.shutdownTimeout, 30_000);
    assert.equal(config.gateway.listen[0]!.port, 8080);
  });

  it("takes an empty overlay (or only comments) as changing nothing", () => {
    assert.equal(merge("").gateway.shutdownTimeout, 5_000);
    assert.equal(merge("# nothing differs in production\n").services.length, 2);
  });

  it("merges named resources by name: a service field overridden, the rest kept", () => {
    const config = merge(yaml("services:", "  - name: users", "    timeouts: { response: 30s }"));
    assert.deepEqual(
      config.services.map((s) => s.name),
      ["users", "orders"],
    );
    const users = config.services[0]!;
    assert.equal(users.timeouts.response, 30_000, "overridden by the overlay");
    assert.equal(users.timeouts.connect, 1_000, "nested map merged: kept from the base");
    assert.equal(users.targets?.length, 2, "untouched lists kept");
  });

  it("replaces a list whose items have no name (targets) as a whole", () => {
    const config = merge(
      yaml("services:", "  - name: users", "    targets: [{ url: http://10.0.0.1:80 }]"),
    );
    assert.deepEqual(
      config.services[0]!.targets?.map((t) => t.url),
      ["http://10.0.0.1:80"],
    );
  });

  it("adds a route only in the overlay, after the base's", () => {
    const config = merge(
      yaml("routes:", "  - name: orders", "    match: { paths: [/orders] }", "    service: orders"),
    );
    assert.deepEqual(
      config.routes.map((r) => r.name),
      ["users", "orders"],
    );
  });

  it("merges a route's plugin list by plugin name", () => {
    const config = merge(
      yaml(
        "routes:",
        "  - name: users",
        "    plugins:",
        "      - name: cors",
        "        config: { origins: [https://app.example.com] }",
      ),
    );
    const plugins = config.routes[0]!.plugins;
    assert.deepEqual(
      plugins.map((p) => p.name),
      ["cors", "request-id"],
    );
    assert.deepEqual((plugins[0]!.config as { origins: string[] }).origins, [
      "https://app.example.com",
    ]);
  });

  it("resolves an overlay's aliases even when their anchor is merged into the base", () => {
    const config = merge(
      yaml(
        "services: &services",
        "  - name: users",
        "    targets: &targets [{ url: http://10.0.0.1:80 }]",
        "  - name: billing",
        "    targets: *targets",
      ),
    );
    assert.deepEqual(
      config.services.map((s) => [s.name, s.targets?.[0]?.url]),
      [
        ["users", "http://10.0.0.1:80"],
        ["orders", "http://127.0.0.1:9101"],
        ["billing", "http://10.0.0.1:80"],
      ],
    );
  });

  it("resolves ${env:...} references in both files", () => {
    const config = merge(yaml("gateway:", '  listen: [{ host: 127.0.0.1, port: "${env:PORT}" }]'), {
      PORT: "9090",
    });
    assert.equal(config.gateway.listen[0]!.port, 9090);
  });
});

describe("problems in a merged config name the file they were written in", () => {
  it("a bad value from the overlay, at its line:col in the overlay", () => {
    assert.deepEqual(
      problems(yaml("services:", "  - name: users", "    timeouts: { response: soon }")),
      [
        "gatehouse.production.yaml:3:27 services[0].timeouts.response: expected a duration like 250ms, 5s or 1m",
      ],
    );
  });

  it("an unknown key added by the overlay, at the key in the overlay", () => {
    assert.deepEqual(problems(yaml("gateway:", "  shutdownTimout: 5s")), [
      'gatehouse.production.yaml:2:3 gateway: unknown key "shutdownTimout" (did you mean "shutdownTimeout"?)',
    ]);
  });

  it("a bad value in the base the overlay leaves alone, in the base", () => {
    const broken = base.replace("shutdownTimeout: 5s", "shutdownTimeout: later");
    const found = problems(
      yaml("services:", "  - name: users", "    timeouts: { response: 2s }"),
      broken,
    );
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^gatehouse\.yaml:3:20 gateway\.shutdownTimeout: /);
  });

  it("problems from both files, base first", () => {
    const broken = base.replace("shutdownTimeout: 5s", "shutdownTimeout: later");
    const found = problems(yaml("routes:", "  - name: users", "    service: nowhere"), broken);
    assert.equal(found.length, 2, found.join("\n"));
    assert.match(found[0]!, /^gatehouse\.yaml:3:20 /);
    assert.match(found[1]!, /^gatehouse\.production\.yaml:3:14 routes\[0\]\.service: /);
  });

  it("an unset ${env:...} in the overlay, at the reference in the overlay", () => {
    const found = problems(yaml("gateway:", "  shutdownTimeout: ${env:DRAIN}"));
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0]!, /^gatehouse\.production\.yaml:2:20 environment variable DRAIN/);
  });

  it("an alias without an anchor, or an alias bomb, at the alias in the overlay", () => {
    assert.deepEqual(problems(yaml("gateway:", "  shutdownTimeout: *drain")), [
      "gatehouse.production.yaml:2:20 YAML alias *drain has no anchor &drain before it",
    ]);
    const bomb = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"];
    for (const [name, previous] of [
      ["b", "a"],
      ["c", "b"],
      ["d", "c"],
      ["e", "d"],
    ])
      bomb.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(", ")}]`);
    assert.match(
      problems(yaml(...bomb))[0]!,
      /^gatehouse\.production\.yaml:5:\d+ YAML aliases expand to more than/,
    );
  });

  it("a YAML syntax error in the overlay, in the overlay", () => {
    assert.match(problems("gateway: [\n")[0]!, /^gatehouse\.production\.yaml:\d+:\d+ YAML syntax/);
  });
});

describe("choosing the overlay", () => {
  it("names the overlay after the base file, the environment before the extension", () => {
    assert.equal(
      overlayPath("conf/gatehouse.yaml", "production"),
      "conf/gatehouse.production.yaml",
    );
    assert.equal(overlayPath("gw.json", "staging"), "gw.staging.json");
  });

  it("takes --env over GATEHOUSE_ENV, and an empty one as none", () => {
    assert.equal(selectedEnvironment("staging", { GATEHOUSE_ENV: "production" }), "staging");
    assert.equal(selectedEnvironment(undefined, { GATEHOUSE_ENV: "production" }), "production");
    assert.equal(selectedEnvironment(undefined, { GATEHOUSE_ENV: "" }), undefined);
  });

  it("refuses an environment name that would reach outside the directory", () => {
    assert.equal(checkEnvironmentName("prod-eu_1"), undefined);
    assert.match(checkEnvironmentName("../etc") ?? "", /letters, digits/);
  });

  const dir = mkdtemp(join(tmpdir(), "gatehouse-overlay-"));
  after(async () => rm(await dir, { recursive: true, force: true }));

  it("a missing overlay file is an error that names it and the environment", async () => {
    const file = join(await dir, "gatehouse.yaml");
    await writeFile(file, base);
    const overlay = { file: overlayPath(file, "production"), environment: "production" };
    await assert.rejects(validateConfigFile(file, {}, overlay), (error: ConfigError) => {
      assert.deepEqual(error.problems.map(formatProblem), [
        `${overlay.file}:1:1 overlay for environment "production" not found`,
      ]);
      return true;
    });
  });
});
