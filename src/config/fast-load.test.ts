// The loader's fast path (plain data, no positions) against the positioned path, config by
// config: the same config, the same config as written, the same secrets and files, whether
// the fast path took a config or left it to the positioned path.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text holds ${env:...} references
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { configHash } from "../observability/config-revision.ts";
import { gatewayChecks } from "../runtime/validate.ts";
import { configOriginOf } from "./document.ts";
import { fastLoad } from "./fast-load.ts";
import {
  ConfigError,
  type ConfigSource,
  formatProblem,
  type ParseOptions,
  parseSources,
  parseSourcesPositioned,
} from "./load.ts";
import { secretsOf } from "./secret-values.ts";
import { encryptSecret, generateSecretKey, parseSecretKey } from "./secrets.ts";

const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;

let dir: string;
const keyText = generateSecretKey();
const env: Record<string, string> = {
  PORT: "8081",
  FLAG: "true",
  TOKEN: "s3cret-token-value",
  EMPTY: "",
  GATEHOUSE_SECRET_KEY: keyText,
};
const encrypted = encryptSecret("encrypted-password", parseSecretKey(keyText, "test"));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-fast-load-"));
  await writeFile(join(dir, "api-key"), "file-secret-value\n");
});
after(() => rm(dir, { recursive: true, force: true }));

/** A file in the test directory, so `${file:…}` references resolve beside it. */
const source = (name: string, text: string): ConfigSource => ({ file: join(dir, name), text });

/** What a load gives a caller, in comparable form. */
function outcome(load: () => object) {
  try {
    const config = load();
    const secrets = secretsOf(config);
    return {
      config,
      hash: configHash(config as never),
      document: configOriginOf(config)?.document,
      overlay: configOriginOf(config)?.overlay,
      secretCount: secrets.size,
      redacted: secrets.redactText("s3cret-token-value file-secret-value encrypted-password 8081"),
      files: secrets.files,
    };
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return { problems: error.problems.map(formatProblem) };
  }
}

/**
 * Loads `sources` both ways and asserts the same outcome; returns it and whether the fast
 * path took the config itself.
 */
function bothWays(sources: ConfigSource[], options: ParseOptions = {}) {
  const opts = { env, ...options };
  const fast = fastLoad(sources, opts) !== undefined;
  const viaFast = outcome(() => parseSources(sources, opts));
  const positioned = outcome(() => parseSourcesPositioned(sources, opts));
  assert.deepStrictEqual(viaFast, positioned);
  return { fast, ...viaFast };
}

const gateway = ["gateway:", "  listen: [{ port: 8080 }]"];
const service = ["services:", "  - name: users", "    targets: [{ url: http://127.0.0.1:9001 }]"];
const route = (name: string, path: string) =>
  `  - { name: ${name}, match: { paths: ["${path}"] }, service: users }`;

describe("fast config load", () => {
  it("reads every example config as the positioned path does, with every check", async () => {
    const examples = join(import.meta.dirname, "../../examples");
    const names = (await readdir(examples)).filter((name) => /\.(ya?ml|json)$/.test(name));
    assert.ok(names.length > 0);
    for (const name of names) {
      const file = join(examples, name);
      const result = bothWays([{ file, text: await readFile(file, "utf8") }], {
        ...gatewayChecks,
      });
      assert.equal(result.fast, true, `${name} takes the fast path`);
      assert.ok("hash" in result);
    }
  });

  it("reads plain scalars by YAML 1.2 core rules: on, yes, dates and quoted numbers stay strings", () => {
    const result = bothWays([
      source(
        "scalars.yaml",
        yaml(
          ...gateway,
          ...service,
          "plugins:",
          "  - name: anything",
          "    config:",
          "      on: on",
          "      yes: yes",
          "      no: [no, off, y, n]",
          "      date: 2001-12-14",
          "      stamp: 2001-12-14t21:59:43.10-05:00",
          '      quoted: "8080"',
          "      single: '0x1F'",
          "      nulls: [~, null, Null, NULL, '~', ]",
          "      empty:",
          "      bools: [true, True, TRUE, false, False, FALSE, tRue]",
          "      ints: [0o17, 0x1F, -12, +12, 007, 1_000, 0b11, -0x1F, 12345678901234567890]",
          "      floats: [1.5, 1., .5, -.5, +.5, 1e3, 1.5E-2, .inf, -.Inf, .NaN, 1.2.3]",
          "      <<: not a merge",
          "      '1': string key",
          "      folded: >",
          "        one",
          "        two",
          "      literal: |",
          "        keep",
          "          indent",
          '      escapes: "tab\\there \\u00e9 \\x41"',
          "      colon: a:b",
          "      hash: a #comment",
          "      url: http://example.com:8080/x?y=1#z",
        ),
      ),
    ]);
    assert.equal(result.fast, true);
    const config = (result as { config: { plugins: { config: Record<string, unknown> }[] } }).config
      .plugins[0]!.config;
    assert.equal(config.on, "on");
    assert.equal(config.date, "2001-12-14");
    assert.equal(config.quoted, "8080");
    assert.deepEqual(config.ints, [
      15,
      31,
      -12,
      12,
      7,
      "1_000",
      "0b11",
      "-0x1F",
      12345678901234567000,
    ]);
    assert.equal(config["<<"], "not a merge");
  });

  it("expands anchors and aliases into separate copies, also when an overlay merges into one", () => {
    const base = source(
      "aliases.yaml",
      yaml(
        ...gateway,
        "services:",
        "  - name: users",
        "    targets: &targets [{ url: http://127.0.0.1:9001 }]",
        "    timeouts: &timeouts { connect: 2s }",
        "  - name: orders",
        "    targets: *targets",
        "    timeouts: *timeouts",
        "routes:",
        route("a", "/a"),
      ),
    );
    const overlay = source(
      "aliases.prod.yaml",
      yaml("services:", "  - name: orders", "    timeouts: { connect: 5s }"),
    );
    assert.equal(bothWays([base]).fast, true);
    const merged = bothWays([base, overlay]);
    assert.equal(merged.fast, true);
    const services = (merged as { document: { services: { timeouts: unknown }[] } }).document
      .services;
    assert.deepEqual(services[0]!.timeouts, { connect: "2s" });
    assert.deepEqual(services[1]!.timeouts, { connect: "5s" });
  });

  it("merges overlays by name, by key, and replaces everything else", () => {
    const base = source(
      "gatehouse.yaml",
      yaml(
        ...gateway,
        ...service,
        "  - name: orders",
        "    targets: [{ url: http://127.0.0.1:9002 }, { url: http://127.0.0.1:9003 }]",
        "routes:",
        route("a", "/a"),
        route("b", "/b"),
      ),
    );
    const overlays = [
      yaml("gateway:", "  listen: [{ port: 9090 }]", "  log: { level: warn }"),
      yaml(
        "services:",
        "  - name: orders",
        "    targets: [{ url: http://127.0.0.1:9004 }]",
        "  - name: billing",
        "    targets: [{ url: http://127.0.0.1:9005 }]",
      ),
      yaml(
        "routes:",
        "  - name: b",
        "    match: { paths: [/bee], methods: [GET] }",
        route("c", "/c"),
      ),
      yaml("routes: []"),
      yaml("# nothing but a comment"),
      "",
      "~\n",
      "---\n",
      yaml("routes:", "  - { match: { paths: [/x] }, service: users }"),
    ];
    for (const text of overlays) bothWays([base, source("gatehouse.prod.yaml", text)]);
  });

  it("substitutes every kind of reference the same way, secrets and files included", () => {
    const text = yaml(
      "gateway:",
      "  listen:",
      "    - port: ${env:PORT}",
      "services:",
      "  - name: users",
      "    targets: [{ url: http://127.0.0.1:9001 }]",
      "routes:",
      route("a", "/a"),
      "plugins:",
      "  - name: anything",
      "    config:",
      "      token: ${env:TOKEN}",
      "      bearer: Bearer ${env:TOKEN}",
      "      flag: ${env:FLAG}",
      "      defaulted: ${env:UNSET:-fallback}",
      "      emptyDefault: ${env:EMPTY:-used}",
      "      key: ${file:api-key}",
      `      password: \${enc:${encrypted}}`,
      "      notReference: ${other:thing} ${env:not a name}",
      "      short: ${env:FLAG}${env:FLAG}",
    );
    const result = bothWays([source("refs.yaml", text)]);
    assert.equal(result.fast, true);
    assert.ok("files" in result);
    assert.deepEqual(result.files, [join(dir, "api-key")]);
    assert.equal(result.redacted, "[redacted] [redacted] [redacted] 8081");
    const json = JSON.stringify({
      gateway: { listen: [{ port: "${env:PORT}" }] },
      services: [{ name: "users", targets: [{ url: "http://127.0.0.1:9001" }] }],
      plugins: [{ name: "anything", config: { key: "${file:api-key}", n: 1.0, e: 1e3 } }],
    });
    assert.equal(bothWays([source("refs.json", json)]).fast, true);
  });

  it("leaves to the positioned path what it cannot be sure of, with the same result", () => {
    const cases = [
      yaml(
        "%YAML 1.1",
        "---",
        ...gateway,
        ...service,
        "plugins:",
        "  - { name: x, config: { a: yes } }",
      ),
      yaml(...gateway, ...service, "plugins:", "  - { name: x, config: { a: !!str 5, b: ! 12 } }"),
      yaml(...gateway, ...service, "plugins:", "  - { name: x, config: { ~: a, 1: b, true: c } }"),
      yaml(...gateway, ...service, "plugins:", "  - { name: x, config: { ? [a, b] : c } }"),
      yaml(...gateway, ...service, "plugins:", "  - { name: x, config: { ${env:TOKEN}: a } }"),
      yaml(...gateway, ...service, "plugins:", "  - { name: x, config: { a: 1, b: *nowhere } }"),
      `\ufeff${yaml(...gateway, ...service)}`,
      yaml(...gateway, ...service).replaceAll("\n", "\r\n"),
      '{\n\t"gateway": {\t"listen": [{ "port": 8080 }] },\n\t"services": []\n}\n',
      '{ "gateway": { "listen": [{ "port": 8080 }] }, "services": [], "services": [] }',
      yaml(...gateway, ...service, "---", "second: document"),
    ];
    for (const tagged of [
      "{ a: !!set { x, y } }",
      "{ a: !!omap [{ x: 1 }] }",
      "{ a: !custom { d: 1 } }",
      "{ a: !!map { f: 1 }, b: !!seq [1] }",
      "{ a: !!binary aGVsbG8= }",
      "{ a: !!timestamp 2001-12-14 }",
    ])
      cases.push(yaml(...gateway, ...service, "plugins:", `  - { name: x, config: ${tagged} }`));
    const bomb = ["  - name: x", "    config:", "      a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const [name, alias] of [
      ["b", "a"],
      ["c", "b"],
      ["d", "c"],
      ["e", "d"],
      ["f", "e"],
    ])
      bomb.push(`      ${name}: &${name} [${`*${alias}, `.repeat(9)}*${alias}]`);
    cases.push(yaml(...gateway, ...service, "plugins:", ...bomb));
    for (const text of cases) bothWays([source("edge.yaml", text)]);
    // An overlay with a non-string key, which config/overlay would not merge with "1".
    bothWays([
      source(
        "base.yaml",
        yaml(...gateway, ...service, "plugins:", "  - { name: x, config: { '1': a } }"),
      ),
      source("base.prod.yaml", yaml("plugins:", "  - { name: x, config: { 1: b } }")),
    ]);
  });

  it("reports problems where they are written, duplicate keys included", () => {
    const duplicate = bothWays([
      source("dup.yaml", yaml(...gateway, ...service, "services:", "  - name: again")),
    ]);
    assert.deepEqual(
      duplicate.problems?.map((line) => line.replace(dir, "DIR")),
      ["DIR/dup.yaml:6:1 YAML syntax: Map keys must be unique"],
    );
    const unresolved = bothWays([
      source("env.yaml", yaml("gateway:", '  listen: [{ port: "${env:NOPE}" }]', ...service)),
    ]);
    assert.match(unresolved.problems?.[0] ?? "", /env\.yaml:2:\d+ environment variable NOPE/);
    const invalid = bothWays(
      [source("bad.yaml", yaml(...gateway, ...service, "routes:", route("a", "a")))],
      {
        ...gatewayChecks,
      },
    );
    assert.match(
      invalid.problems?.[0] ?? "",
      /bad\.yaml:7:33 routes\[0\]\.match\.paths\[0\]: path "a" must start with \//,
    );
  });

  it("takes a config with 500 routes, in YAML and in JSON", () => {
    const lines = [...gateway, ...service, "routes:"];
    for (let i = 0; i < 500; i++)
      lines.push(
        `  - { name: r${i}, match: { paths: ["/api/r${i}", "/api/r${i}/*"], methods: [GET, POST] }, service: users }`,
      );
    const text = yaml(...lines);
    const fromYaml = bothWays([source("big.yaml", text)], gatewayChecks);
    assert.equal(fromYaml.fast, true);
    const document = (fromYaml as { document: object }).document;
    const fromJson = bothWays([source("big.json", JSON.stringify(document, null, 2))], {
      ...gatewayChecks,
    });
    assert.equal(fromJson.fast, true);
    assert.equal((fromJson as { hash: string }).hash, (fromYaml as { hash: string }).hash);
  });
});
